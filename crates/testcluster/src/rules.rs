//! Per-test behaviour: access rules (what SubjectAccessReviews and real requests are allowed),
//! injected faults, and the request log.

use std::time::Duration;

/// What a request is, in API terms (the apiserver's `RequestInfo`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestInfo {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`;
    /// for non-resource paths the lower-case HTTP method.
    pub verb: String,
    pub is_resource: bool,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
}

impl RequestInfo {
    /// Parses `/api/v1/...` and `/apis/g/v/...` paths (query decides list vs watch).
    pub fn parse(method: &str, path: &str, watch: bool) -> RequestInfo {
        let segs: Vec<&str> = path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let mut info = RequestInfo {
            verb: method.to_lowercase(),
            ..Default::default()
        };
        let rest: &[&str] = match segs.as_slice() {
            ["api", v, rest @ ..] if !rest.is_empty() => {
                info.version = v.to_string();
                rest
            }
            ["apis", g, v, rest @ ..] if !rest.is_empty() => {
                info.group = g.to_string();
                info.version = v.to_string();
                rest
            }
            _ => return info,
        };
        info.is_resource = true;
        let rest: &[&str] = match rest {
            ["namespaces", ns, tail @ ..]
                if !tail.is_empty()
                    && !(tail.len() == 1 && (tail[0] == "status" || tail[0] == "finalize")) =>
            {
                info.namespace = ns.to_string();
                tail
            }
            other => other,
        };
        if let Some(r) = rest.first() {
            info.resource = r.to_string();
        }
        if let Some(n) = rest.get(1) {
            info.name = n.to_string();
            if info.resource == "namespaces" {
                info.namespace = n.to_string();
            }
        }
        if let Some(s) = rest.get(2) {
            info.subresource = s.to_string();
        }
        // Streaming subresources are authorized as `create` whatever the method (WebSocket
        // upgrades are GETs), as kube-apiserver does since 1.35.
        if matches!(info.subresource.as_str(), "portforward" | "exec" | "attach") {
            info.verb = "create".to_string();
            return info;
        }
        let collection = info.name.is_empty();
        info.verb = match (method, collection) {
            ("GET" | "HEAD", true) if watch => "watch",
            ("GET" | "HEAD", true) => "list",
            ("GET" | "HEAD", false) if watch => "watch",
            ("GET" | "HEAD", false) => "get",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) => "patch",
            ("DELETE", true) => "deletecollection",
            ("DELETE", false) => "delete",
            (m, _) => {
                return RequestInfo {
                    verb: m.to_lowercase(),
                    ..info
                };
            }
        }
        .to_string();
        info
    }
}

/// One access rule. Rules are checked in order; the first that matches decides; when none
/// matches the request is allowed (the default cluster is permissive).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRule {
    pub allowed: bool,
    /// A verb or `*`.
    pub verb: String,
    /// `plural`, `plural/subresource`, `plural.group` or `*`.
    pub resource: String,
    /// Only in this namespace (None: any).
    pub namespace: Option<String>,
    /// Only for this user (None: any).
    pub user: Option<String>,
}

impl AccessRule {
    /// Denies `verb` on `resource` (`"pods"`, `"pods/portforward"`, `"deployments.apps"`, `"*"`).
    pub fn deny(verb: &str, resource: &str) -> AccessRule {
        AccessRule {
            allowed: false,
            verb: verb.to_string(),
            resource: resource.to_string(),
            namespace: None,
            user: None,
        }
    }

    /// Explicitly allows (useful before a broader deny).
    pub fn allow(verb: &str, resource: &str) -> AccessRule {
        AccessRule {
            allowed: true,
            ..AccessRule::deny(verb, resource)
        }
    }

    pub fn in_namespace(mut self, ns: &str) -> AccessRule {
        self.namespace = Some(ns.to_string());
        self
    }

    pub fn for_user(mut self, user: &str) -> AccessRule {
        self.user = Some(user.to_string());
        self
    }

    fn matches(&self, q: &AccessQuery) -> bool {
        if self.verb != "*" && self.verb != q.verb {
            return false;
        }
        if let Some(u) = &self.user
            && u != &q.user
        {
            return false;
        }
        if let Some(ns) = &self.namespace
            && ns != &q.namespace
        {
            return false;
        }
        if self.resource == "*" {
            return true;
        }
        let (res, sub) = self
            .resource
            .split_once('/')
            .unwrap_or((&self.resource, ""));
        let (plural, group) = match res.split_once('.') {
            Some((p, g)) => (p, Some(g)),
            None => (res, None),
        };
        (plural == "*" || plural == q.resource)
            && group.is_none_or(|g| g == q.group)
            && (sub == q.subresource || sub == "*")
    }
}

/// A question to the authorizer (from a request or a SubjectAccessReview).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessQuery {
    pub user: String,
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
}

/// Evaluates the rules: first match decides, default allow.
pub fn authorize(rules: &[AccessRule], q: &AccessQuery) -> bool {
    rules
        .iter()
        .find(|r| r.matches(q))
        .is_none_or(|r| r.allowed)
}

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Answer with this HTTP status and a `Status` body (500, 503, 404...).
    Status(u16),
    /// 429 Too Many Requests with `Retry-After: secs`.
    RetryAfter(u64),
    /// Wait, then handle the request normally.
    Delay(Duration),
    /// Close the connection without answering.
    Drop,
    /// Watches end (cleanly) after this many events.
    CutWatchAfter(usize),
}

/// A fault injected for matching requests. Empty matchers match everything.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// API verb (`get`, `list`, `watch`, `create`, `patch`...) or None for any.
    pub verb: Option<String>,
    /// Resource plural (`pods`), optionally with `/subresource`.
    pub resource: Option<String>,
    /// The request path must contain this.
    pub path_contains: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub kind: FaultKind,
    /// How many requests it affects (None: all).
    pub times: Option<usize>,
    /// How many matching requests pass untouched before it starts.
    pub after: usize,
}

impl Fault {
    pub fn new(kind: FaultKind) -> Fault {
        Fault {
            verb: None,
            resource: None,
            path_contains: None,
            namespace: None,
            name: None,
            kind,
            times: None,
            after: 0,
        }
    }
    pub fn verb(mut self, verb: &str) -> Fault {
        self.verb = Some(verb.to_string());
        self
    }
    pub fn resource(mut self, resource: &str) -> Fault {
        self.resource = Some(resource.to_string());
        self
    }
    pub fn path_contains(mut self, fragment: &str) -> Fault {
        self.path_contains = Some(fragment.to_string());
        self
    }
    pub fn namespace(mut self, ns: &str) -> Fault {
        self.namespace = Some(ns.to_string());
        self
    }
    pub fn name(mut self, name: &str) -> Fault {
        self.name = Some(name.to_string());
        self
    }
    pub fn times(mut self, n: usize) -> Fault {
        self.times = Some(n);
        self
    }
    /// Lets the first `n` matching requests through (e.g. fail only the second list).
    pub fn after(mut self, n: usize) -> Fault {
        self.after = n;
        self
    }

    pub fn matches(&self, path: &str, info: &RequestInfo) -> bool {
        let resource = if info.subresource.is_empty() {
            info.resource.clone()
        } else {
            format!("{}/{}", info.resource, info.subresource)
        };
        self.verb.as_ref().is_none_or(|v| *v == info.verb)
            && self
                .resource
                .as_ref()
                .is_none_or(|r| *r == resource || *r == info.resource)
            && self
                .path_contains
                .as_ref()
                .is_none_or(|p| path.contains(p.as_str()))
            && self.namespace.as_ref().is_none_or(|n| *n == info.namespace)
            && self.name.as_ref().is_none_or(|n| *n == info.name)
            && self.times != Some(0)
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// Raw query string (may be empty).
    pub query: String,
    pub verb: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    pub content_type: Option<String>,
    pub user_agent: Option<String>,
    /// The request body as text (bodies are JSON or YAML).
    pub body: String,
    /// The HTTP status answered (0 when the connection was dropped).
    pub status: u16,
}

impl RequestRecord {
    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// A query parameter's (percent-decoded) value.
    pub fn query_param(&self, key: &str) -> Option<String> {
        crate::server::query_pairs(&self.query)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_request_info() {
        let i = RequestInfo::parse("GET", "/api/v1/namespaces/default/pods/web/log", false);
        assert_eq!(
            (
                i.verb.as_str(),
                i.resource.as_str(),
                i.name.as_str(),
                i.subresource.as_str()
            ),
            ("get", "pods", "web", "log")
        );
        assert_eq!(i.namespace, "default");
        let i = RequestInfo::parse("GET", "/apis/apps/v1/deployments", true);
        assert_eq!((i.verb.as_str(), i.group.as_str()), ("watch", "apps"));
        let i = RequestInfo::parse("PUT", "/api/v1/namespaces/x/finalize", false);
        assert_eq!(
            (i.resource.as_str(), i.name.as_str(), i.subresource.as_str()),
            ("namespaces", "x", "finalize")
        );
        let i = RequestInfo::parse("DELETE", "/api/v1/namespaces/x/pods", false);
        assert_eq!(i.verb, "deletecollection");
        assert!(!RequestInfo::parse("GET", "/version", false).is_resource);
        let i = RequestInfo::parse("GET", "/api/v1/namespaces/x/pods/p/portforward", false);
        assert_eq!(i.verb, "create");
    }

    #[test]
    fn rules_first_match_default_allow() {
        let rules = vec![
            AccessRule::allow("get", "pods").in_namespace("a"),
            AccessRule::deny("*", "pods"),
            AccessRule::deny("create", "pods/portforward"),
        ];
        let q = |verb: &str, res: &str, sub: &str, ns: &str| AccessQuery {
            user: "admin".into(),
            verb: verb.into(),
            group: String::new(),
            resource: res.into(),
            subresource: sub.into(),
            namespace: ns.into(),
        };
        assert!(authorize(&rules, &q("get", "pods", "", "a")));
        assert!(!authorize(&rules, &q("get", "pods", "", "b")));
        assert!(authorize(&rules, &q("get", "services", "", "b")));
        assert!(!authorize(
            &[AccessRule::deny("create", "pods/portforward")],
            &q("create", "pods", "portforward", "b")
        ));
        assert!(authorize(
            &[AccessRule::deny("get", "deployments.apps")],
            &q("get", "deployments", "", "b")
        ));
    }
}
