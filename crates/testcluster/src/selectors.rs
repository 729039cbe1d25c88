//! Label and field selectors as the API server parses them from `?labelSelector=` and
//! `?fieldSelector=`, plus matching `metav1.LabelSelector` objects (webhooks, workloads).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selector(pub Vec<Requirement>);

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("unable to parse requirement: {0}")]
pub struct SelectorError(pub String);

/// Splits on commas that are not inside parentheses.
fn split_top(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

fn set_values(text: &str) -> Result<Vec<String>, SelectorError> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| SelectorError(format!("expected (values) in {text:?}")))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

impl Selector {
    /// Parses a label selector string (`a=b,c!=d,e in (f,g),h notin (i),j,!k`).
    pub fn parse_labels(text: &str) -> Result<Selector, SelectorError> {
        let mut reqs = Vec::new();
        for part in split_top(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            if let Some(key) = part.strip_prefix('!') {
                reqs.push(Requirement::NotExists(key.trim().to_string()));
            } else if let Some((k, v)) = part.split_once("!=") {
                reqs.push(Requirement::NotEquals(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = part.split_once("==") {
                reqs.push(Requirement::Equals(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = part.split_once('=') {
                reqs.push(Requirement::Equals(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = part.split_once(" notin ") {
                reqs.push(Requirement::NotIn(k.trim().into(), set_values(v)?));
            } else if let Some((k, v)) = part.split_once(" in ") {
                reqs.push(Requirement::In(k.trim().into(), set_values(v)?));
            } else if part.contains(['(', ')', ' ', '<', '>']) {
                return Err(SelectorError(part.to_string()));
            } else {
                reqs.push(Requirement::Exists(part.to_string()));
            }
        }
        for r in &reqs {
            let key = match r {
                Requirement::Equals(k, _)
                | Requirement::NotEquals(k, _)
                | Requirement::In(k, _)
                | Requirement::NotIn(k, _)
                | Requirement::Exists(k)
                | Requirement::NotExists(k) => k,
            };
            if key.is_empty() {
                return Err(SelectorError(text.to_string()));
            }
        }
        Ok(Selector(reqs))
    }

    /// Parses a field selector (only `=`, `==`, `!=`).
    pub fn parse_fields(text: &str) -> Result<Selector, SelectorError> {
        let mut reqs = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some((k, v)) = part.split_once("!=") {
                reqs.push(Requirement::NotEquals(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                reqs.push(Requirement::Equals(k.trim().into(), v.trim().into()));
            } else {
                return Err(SelectorError(part.to_string()));
            }
        }
        Ok(Selector(reqs))
    }

    /// Converts a `metav1.LabelSelector` (matchLabels + matchExpressions). An absent selector
    /// matches everything, as the API says.
    pub fn from_label_selector(sel: &Value) -> Result<Selector, SelectorError> {
        let mut reqs = Vec::new();
        if let Some(labels) = sel["matchLabels"].as_object() {
            for (k, v) in labels {
                reqs.push(Requirement::Equals(
                    k.clone(),
                    v.as_str().unwrap_or_default().into(),
                ));
            }
        }
        for expr in sel["matchExpressions"].as_array().into_iter().flatten() {
            let key = expr["key"].as_str().unwrap_or_default().to_string();
            let values: Vec<String> = expr["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            reqs.push(match expr["operator"].as_str() {
                Some("In") => Requirement::In(key, values),
                Some("NotIn") => Requirement::NotIn(key, values),
                Some("Exists") => Requirement::Exists(key),
                Some("DoesNotExist") => Requirement::NotExists(key),
                other => return Err(SelectorError(format!("unknown operator {other:?}"))),
            });
        }
        Ok(Selector(reqs))
    }

    /// Matches using a lookup from key to value (labels, or field paths).
    pub fn matches_with(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => lookup(k).as_deref() == Some(v.as_str()),
            Requirement::NotEquals(k, v) => lookup(k).as_deref() != Some(v.as_str()),
            Requirement::In(k, vs) => lookup(k).is_some_and(|x| vs.contains(&x)),
            Requirement::NotIn(k, vs) => lookup(k).is_none_or(|x| !vs.contains(&x)),
            Requirement::Exists(k) => lookup(k).is_some(),
            Requirement::NotExists(k) => lookup(k).is_none(),
        })
    }

    /// Matches an object's `metadata.labels`.
    pub fn matches_object_labels(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        self.matches_with(|k| labels.get(k).and_then(|v| v.as_str()).map(str::to_string))
    }

    /// Matches field paths of an object (`metadata.name`, `status.phase`, `spec.nodeName`,
    /// `involvedObject.uid`...). Missing fields compare as the empty string, as the server does.
    pub fn matches_object_fields(&self, obj: &Value) -> bool {
        self.matches_with(|path| Some(field_value(obj, path)))
    }
}

/// The value of a dotted field path as a string ("" when absent).
pub fn field_value(obj: &Value, path: &str) -> String {
    let mut cur = obj;
    for part in path.split('.') {
        cur = &cur[part];
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "a", "labels": labels}, "status": {"phase": "Running"}})
    }

    #[test]
    fn label_operators() {
        let o = obj(json!({"app": "web", "tier": "front"}));
        let t = |s: &str| Selector::parse_labels(s).unwrap().matches_object_labels(&o);
        assert!(t("app=web"));
        assert!(t("app==web,tier"));
        assert!(!t("app!=web"));
        assert!(t("app in (web, api)"));
        assert!(!t("app notin (web)"));
        assert!(t("missing notin (x)"));
        assert!(t("!missing"));
        assert!(!t("!app"));
        assert!(t(""));
        assert!(Selector::parse_labels("app in web").is_err());
    }

    #[test]
    fn field_selectors() {
        let o = obj(json!({}));
        let t = |s: &str| Selector::parse_fields(s).unwrap().matches_object_fields(&o);
        assert!(t("metadata.name=a"));
        assert!(t("status.phase!=Pending"));
        assert!(!t("metadata.name=b"));
        assert!(t("spec.nodeName="));
    }

    #[test]
    fn label_selector_objects() {
        let sel = Selector::from_label_selector(&json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]}))
        .unwrap();
        assert!(sel.matches_object_labels(&obj(json!({"app": "web", "tier": "front"}))));
        assert!(!sel.matches_object_labels(&obj(json!({"app": "web"}))));
    }
}
