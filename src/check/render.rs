//! The three shapes of a report: a table for people, `short` (warnings and errors only) for CI
//! logs, and one JSON document for machines.

use std::fmt::Write as _;

use super::model::{CheckReport, CheckResult, Report};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Short,
    Json,
}

/// The `-o` values `check` accepts.
pub const FORMATS: &[(&str, Format)] = &[
    ("table", Format::Table),
    ("short", Format::Short),
    ("json", Format::Json),
];

/// Renders the report; `color` adds ANSI colours to the marks (only for a terminal).
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Table => table(report, color, false),
        Format::Short => table(report, color, true),
        Format::Json => json(report),
    }
}

pub fn json(report: &Report) -> String {
    // Serialising plain structs of strings cannot fail.
    let mut text = serde_json::to_string_pretty(report).unwrap_or_default();
    text.push('\n');
    text
}

fn mark(result: CheckResult, color: bool) -> String {
    let (symbol, ansi) = match result {
        CheckResult::Ok => ("✔", "32"),
        CheckResult::Warning => ("‼", "33"),
        CheckResult::Error => ("✖", "31"),
        CheckResult::Skipped => ("-", "2"),
    };
    if color {
        format!("\x1b[{ansi}m{symbol}\x1b[0m")
    } else {
        symbol.to_string()
    }
}

fn line(out: &mut String, check: &CheckReport, color: bool, with_id: bool) {
    let _ = write!(out, "{} ", mark(check.result, color));
    if with_id {
        let _ = write!(out, "[{}] ", check.id);
    }
    out.push_str(&check.description);
    if !check.message.is_empty() {
        let _ = write!(out, ": {}", check.message);
    }
    out.push('\n');
    if let Some(hint) = &check.hint {
        let _ = writeln!(out, "    hint: {hint}");
    }
}

/// The table: a header per category, one line per check, hints under failures, a summary line.
/// `problems_only` keeps only warnings and errors (and their categories), each with its id.
fn table(report: &Report, color: bool, problems_only: bool) -> String {
    let mut out = String::new();
    for category in &report.categories {
        let checks: Vec<&CheckReport> = category
            .checks
            .iter()
            .filter(|c| {
                !problems_only || matches!(c.result, CheckResult::Warning | CheckResult::Error)
            })
            .collect();
        if checks.is_empty() {
            continue;
        }
        if !problems_only {
            if !out.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", category.name);
            let _ = writeln!(out, "{}", "-".repeat(category.name.chars().count()));
        }
        for check in checks {
            line(&mut out, check, color, problems_only);
        }
    }
    if !out.is_empty() && !problems_only {
        out.push('\n');
    }
    out.push_str(&summary(report, color));
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summary(report: &Report, color: bool) -> String {
    let tally = report.tally();
    let verdict = if report.success { "passed" } else { "FAILED" };
    let verdict = match (color, report.success) {
        (false, _) => verdict.to_string(),
        (true, true) => format!("\x1b[32m{verdict}\x1b[0m"),
        (true, false) => format!("\x1b[31m{verdict}\x1b[0m"),
    };
    format!(
        "Status check {verdict}: {} ok, {}, {}, {} skipped\n",
        tally.ok,
        plural(tally.warnings, "warning", "warnings"),
        plural(tally.errors, "error", "errors"),
        tally.skipped
    )
}
