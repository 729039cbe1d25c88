//! What a check run reports: categories of checks, each with a stable id, a result, a message and a
//! hint. This is the shape of `-o json` (schema in docs/check-schema.json).

use serde::Serialize;

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckResult {
    Ok,
    Warning,
    Error,
    /// Not run because a prerequisite did not pass; the message names it.
    Skipped,
}

impl CheckResult {
    /// Whether checks that depend on this one may run. A warning is a pass with a remark.
    pub fn lets_dependents_run(self) -> bool {
        matches!(self, CheckResult::Ok | CheckResult::Warning)
    }
}

/// One check's line in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Stable identifier, `category.name` (e.g. `kubernetes-api.reachable`). Per-pod checks share
    /// the id; their description names the pod.
    pub id: String,
    pub description: String,
    pub result: CheckResult,
    pub message: String,
    /// What to do about a warning or an error; `null` otherwise.
    pub hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryReport {
    pub name: String,
    pub checks: Vec<CheckReport>,
}

/// The whole run. `success` already accounts for `--fail-on-warning`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub success: bool,
    pub categories: Vec<CategoryReport>,
}

/// Counts of each result, for summary lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub ok: usize,
    pub warnings: usize,
    pub errors: usize,
    pub skipped: usize,
}

impl Report {
    /// Builds a report from categories, deciding success: no errors, and no warnings either
    /// when `fail_on_warning`.
    pub fn new(categories: Vec<CategoryReport>, fail_on_warning: bool) -> Report {
        let mut report = Report {
            success: false,
            categories,
        };
        let tally = report.tally();
        report.success = tally.errors == 0 && !(fail_on_warning && tally.warnings > 0);
        report
    }

    pub fn checks(&self) -> impl Iterator<Item = &CheckReport> {
        self.categories.iter().flat_map(|c| c.checks.iter())
    }

    pub fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for check in self.checks() {
            match check.result {
                CheckResult::Ok => tally.ok += 1,
                CheckResult::Warning => tally.warnings += 1,
                CheckResult::Error => tally.errors += 1,
                CheckResult::Skipped => tally.skipped += 1,
            }
        }
        tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(result: CheckResult) -> CheckReport {
        CheckReport {
            id: "a.b".into(),
            description: "d".into(),
            result,
            message: String::new(),
            hint: None,
        }
    }

    fn report(results: &[CheckResult], fail_on_warning: bool) -> Report {
        Report::new(
            vec![CategoryReport {
                name: "a".into(),
                checks: results.iter().copied().map(check).collect(),
            }],
            fail_on_warning,
        )
    }

    #[test]
    fn success_depends_on_errors_and_optionally_warnings() {
        use CheckResult::*;
        assert!(report(&[Ok, Skipped], false).success);
        assert!(report(&[Ok, Warning], false).success);
        assert!(!report(&[Ok, Warning], true).success);
        assert!(!report(&[Ok, Error], false).success);
        assert!(report(&[], true).success);
    }

    #[test]
    fn skipped_and_error_block_dependents() {
        assert!(CheckResult::Ok.lets_dependents_run());
        assert!(CheckResult::Warning.lets_dependents_run());
        assert!(!CheckResult::Error.lets_dependents_run());
        assert!(!CheckResult::Skipped.lets_dependents_run());
    }
}
