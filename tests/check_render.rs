//! The report renderers: table and short goldens, and the JSON document validated against the
//! published schema (docs/check-schema.json).

mod support;

use meshctl::check::model::{CategoryReport, CheckReport, CheckResult, Report};
use meshctl::check::render::{Format, render};

fn check(
    id: &str,
    description: &str,
    result: CheckResult,
    message: &str,
    hint: Option<&str>,
) -> CheckReport {
    CheckReport {
        id: id.to_string(),
        description: description.to_string(),
        result,
        message: message.to_string(),
        hint: hint.map(str::to_string),
    }
}

/// A run with every kind of result, as a broken control plane gives it.
fn mixed(fail_on_warning: bool) -> Report {
    use CheckResult::*;
    Report::new(
        vec![
            CategoryReport {
                name: "kubernetes-api".into(),
                checks: vec![
                    check(
                        "kubernetes-api.kubeconfig",
                        "kubeconfig loads",
                        Ok,
                        "context dev (https://127.0.0.1:6443/)",
                        None,
                    ),
                    check(
                        "kubernetes-api.reachable",
                        "API server reachable",
                        Ok,
                        "server v1.33.0",
                        None,
                    ),
                    check(
                        "kubernetes-api.version",
                        "API server version is at least 1.33",
                        Ok,
                        "v1.33.0",
                        None,
                    ),
                ],
            },
            CategoryReport {
                name: "control-plane".into(),
                checks: vec![
                    check(
                        "control-plane.namespace",
                        "mesh namespace exists",
                        Ok,
                        "meshctl-system",
                        None,
                    ),
                    check(
                        "control-plane.version",
                        "control plane version matches the CLI",
                        Warning,
                        "control plane 0.0.9, CLI 0.1.0",
                        Some("upgrade the control plane"),
                    ),
                    check(
                        "control-plane.injector-pods",
                        "injector pods ready",
                        Error,
                        "0 of 1 ready; not ready: meshctl-injector-7c9 (ContainersNotReady)",
                        Some("kubectl describe pods"),
                    ),
                    check(
                        "control-plane.webhook-admission",
                        "webhook answers a dry-run AdmissionReview",
                        Skipped,
                        "prerequisite control-plane.webhook-certificate was skipped",
                        None,
                    ),
                ],
            },
        ],
        fail_on_warning,
    )
}

fn passing() -> Report {
    Report::new(
        vec![CategoryReport {
            name: "pre-install".into(),
            checks: vec![
                check(
                    "pre-install.namespace",
                    "mesh namespace absent or empty",
                    CheckResult::Ok,
                    "meshctl-system does not exist",
                    None,
                ),
                check(
                    "pre-install.other-mesh",
                    "no other mesh's injector",
                    CheckResult::Warning,
                    "found istio-sidecar-injector (Istio)",
                    Some("keep namespaces meshed by one mesh only"),
                ),
            ],
        }],
        false,
    )
}

#[test]
fn table_golden() {
    support::assert_golden(
        "check/table.txt",
        &render(&mixed(false), Format::Table, false),
    );
    support::assert_golden(
        "check/table-passing.txt",
        &render(&passing(), Format::Table, false),
    );
}

#[test]
fn table_colours_only_the_marks_and_verdict() {
    let text = render(&mixed(false), Format::Table, true);
    support::assert_golden("check/table-color.txt", &text);
    assert!(text.contains("\x1b[31m✖\x1b[0m"));
    let plain = render(&mixed(false), Format::Table, false);
    assert!(!plain.contains('\x1b'));
}

#[test]
fn short_golden_keeps_only_warnings_and_errors() {
    let text = render(&mixed(false), Format::Short, false);
    support::assert_golden("check/short.txt", &text);
    assert!(text.contains("[control-plane.injector-pods]"));
    assert!(text.contains("[control-plane.version]"));
    assert!(!text.contains("kubeconfig loads"));
    assert!(!text.contains("prerequisite control-plane"));
}

#[test]
fn json_golden_and_verdict() {
    let text = render(&mixed(false), Format::Json, false);
    support::assert_golden("check/report.json", &text);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["success"], false);
    assert_eq!(value["categories"][1]["checks"][1]["result"], "warning");
    assert_eq!(
        value["categories"][0]["checks"][0]["hint"],
        serde_json::Value::Null
    );
    // One document: nothing after it but the newline.
    assert_eq!(text.trim_end().matches("\n}").count(), 1);
}

#[test]
fn fail_on_warning_flips_success() {
    assert!(passing().success);
    let strict = Report::new(passing().categories, true);
    assert!(!strict.success);
    assert!(render(&strict, Format::Table, false).contains("Status check FAILED"));
}

/// Validates `json` against docs/check-schema.json; None when the tool is missing (skipped).
fn validate(json: &str) -> Option<Result<(), String>> {
    match support::validate_json_schema("docs/check-schema.json", json) {
        Ok(true) => Some(Ok(())),
        Ok(false) => None,
        Err(e) => Some(Err(e)),
    }
}

#[test]
fn json_output_matches_the_published_schema() {
    for report in [mixed(false), mixed(true), passing()] {
        let json = render(&report, Format::Json, false);
        let Some(result) = validate(&json) else {
            return;
        };
        result.unwrap_or_else(|e| panic!("schema rejects real output: {e}\n{json}"));
    }
}

#[test]
fn the_schema_rejects_documents_that_break_the_contract() {
    let good: serde_json::Value =
        serde_json::from_str(&render(&mixed(false), Format::Json, false)).unwrap();
    let mut bad_result = good.clone();
    bad_result["categories"][0]["checks"][0]["result"] = "fine".into();
    let mut missing_hint = good.clone();
    missing_hint["categories"][0]["checks"][0]
        .as_object_mut()
        .unwrap()
        .remove("hint");
    let mut hint_on_ok = good.clone();
    hint_on_ok["categories"][0]["checks"][0]["hint"] = "not for ok".into();
    for bad in [bad_result, missing_hint, hint_on_ok] {
        let Some(result) = validate(&bad.to_string()) else {
            return;
        };
        assert!(result.is_err(), "schema accepted {bad}");
    }
}
