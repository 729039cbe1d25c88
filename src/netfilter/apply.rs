//! Applying the rules: `iptables-save` to see the current nat table, then one
//! `iptables-restore --noflush` per family. Either every family is applied or none is: when a later
//! family fails, the families already applied are rolled back to what they were.

use std::io::Write;
use std::process::{Command, Stdio};

use super::rules::{self, RuleSettings};
use super::{Family, NetfilterError};

/// Which iptables backend to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// Legacy when the legacy tables already hold more rules than nf_tables (an old node), else nft.
    Auto,
    Nft,
    Legacy,
}

impl BackendChoice {
    pub fn parse(raw: &str) -> Result<BackendChoice, NetfilterError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(BackendChoice::Auto),
            "nft" | "nf_tables" => Ok(BackendChoice::Nft),
            "legacy" => Ok(BackendChoice::Legacy),
            other => Err(NetfilterError::UnknownBackend(other.to_string())),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Nft,
    Legacy,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Nft => "nft",
            Backend::Legacy => "legacy",
        }
    }

    /// The text `iptables-restore --version` shows for this backend.
    fn version_marker(self) -> &'static str {
        match self {
            Backend::Nft => "nf_tables",
            Backend::Legacy => "legacy",
        }
    }
}

/// Chooses the backend from the rule counts each one's `iptables-save` showed (None: that backend
/// is not installed). Pure, for tests.
pub fn choose_backend(nft_rules: Option<usize>, legacy_rules: Option<usize>) -> Backend {
    match (nft_rules, legacy_rules) {
        (Some(nft), Some(legacy)) if legacy > nft => Backend::Legacy,
        (None, Some(_)) => Backend::Legacy,
        _ => Backend::Nft,
    }
}

/// What was applied, for the report on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub backend: Backend,
    pub families: Vec<(Family, usize)>,
}

/// The save/restore commands of one backend and family.
#[derive(Debug, Clone)]
struct Tools {
    save: String,
    restore: String,
    backend: Backend,
}

fn tool_name(family: Family, backend: Backend, action: &str) -> String {
    let base = match family {
        Family::V4 => "iptables",
        Family::V6 => "ip6tables",
    };
    format!("{base}-{}-{action}", backend.name())
}

fn plain_name(family: Family, action: &str) -> String {
    match family {
        Family::V4 => format!("iptables-{action}"),
        Family::V6 => format!("ip6tables-{action}"),
    }
}

/// Output of a command, or None when it is not installed.
fn run(
    program: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<Option<std::process::Output>, NetfilterError> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(NetfilterError::ToolFailed {
                tool: program.to_string(),
                message: e.to_string(),
            });
        }
    };
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A tool that exits before reading everything reports why on stderr; keep going.
        let _ = pipe.write_all(input.as_bytes());
    }
    child
        .wait_with_output()
        .map(Some)
        .map_err(|e| NetfilterError::ToolFailed {
            tool: program.to_string(),
            message: e.to_string(),
        })
}

/// Finds the tools for a backend: the backend-suffixed names first (`iptables-nft-restore`), then
/// the plain ones when `--version` says they are that backend.
fn find_tools(family: Family, backend: Backend) -> Result<Tools, NetfilterError> {
    let specific = Tools {
        save: tool_name(family, backend, "save"),
        restore: tool_name(family, backend, "restore"),
        backend,
    };
    if run(&specific.restore, &["--version"], None)?.is_some() {
        return Ok(specific);
    }
    let plain = Tools {
        save: plain_name(family, "save"),
        restore: plain_name(family, "restore"),
        backend,
    };
    if let Some(out) = run(&plain.restore, &["--version"], None)? {
        let version = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        let is_nft = version.contains(Backend::Nft.version_marker());
        if (backend == Backend::Nft) == is_nft {
            return Ok(plain);
        }
    }
    Err(NetfilterError::ToolMissing {
        tool: specific.restore,
        backend: backend.name().to_string(),
    })
}

/// Rule count of a backend's IPv4 tables, or None when that backend's tools are missing or fail.
fn backend_rule_count(backend: Backend) -> Option<usize> {
    let tools = find_tools(Family::V4, backend).ok()?;
    let out = run(&tools.save, &[], None).ok()??;
    out.status
        .success()
        .then(|| rules::count_rules(&String::from_utf8_lossy(&out.stdout)))
}

pub fn resolve_backend(choice: BackendChoice) -> Backend {
    match choice {
        BackendChoice::Nft => Backend::Nft,
        BackendChoice::Legacy => Backend::Legacy,
        BackendChoice::Auto => choose_backend(
            backend_rule_count(Backend::Nft),
            backend_rule_count(Backend::Legacy),
        ),
    }
}

fn save_nat(tools: &Tools, family: Family) -> Result<String, NetfilterError> {
    let out =
        run(&tools.save, &["-t", "nat"], None)?.ok_or_else(|| NetfilterError::ToolMissing {
            tool: tools.save.clone(),
            backend: tools.backend.name().to_string(),
        })?;
    if !out.status.success() {
        return Err(NetfilterError::ToolFailed {
            tool: tools.save.clone(),
            message: format!(
                "reading the {family} nat table failed (nothing was changed): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `restore` with `input`; Err(stderr) when it refuses.
fn restore(
    tools: &Tools,
    args: &[&str],
    input: &str,
) -> Result<Result<(), String>, NetfilterError> {
    let out =
        run(&tools.restore, args, Some(input))?.ok_or_else(|| NetfilterError::ToolMissing {
            tool: tools.restore.clone(),
            backend: tools.backend.name().to_string(),
        })?;
    if out.status.success() {
        Ok(Ok(()))
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Ok(Err(if stderr.is_empty() {
            format!("exit status {}", out.status)
        } else {
            stderr
        }))
    }
}

/// Applies the rules for every family in `families` (IPv4 first). All or nothing.
pub fn apply_rules(
    settings: &RuleSettings,
    families: &[Family],
    choice: BackendChoice,
) -> Result<Applied, NetfilterError> {
    let backend = resolve_backend(choice);
    // Find every tool before changing anything, so a missing ip6tables fails cleanly.
    let mut plan = Vec::new();
    for &family in families {
        let tools = find_tools(family, backend)?;
        let before = save_nat(&tools, family)?;
        plan.push((family, tools, before));
    }

    let mut applied: Vec<(Family, &Tools, &str)> = Vec::new();
    let mut report = Applied {
        backend,
        families: Vec::new(),
    };
    for (family, tools, before) in &plan {
        let input = rules::restore_input(settings, *family, Some(before));
        match restore(tools, &["--noflush"], &input)? {
            Ok(()) => {
                applied.push((*family, tools, before));
                report
                    .families
                    .push((*family, rules::chain_rules(settings, *family).len()));
            }
            Err(stderr) => {
                if let Some((done_family, _, _)) = applied.first().copied()
                    && let Err(rollback) = roll_back(&applied)
                {
                    return Err(NetfilterError::RollbackFailed {
                        tool: tools.restore.clone(),
                        family: *family,
                        applied: done_family,
                        stderr,
                        rollback,
                    });
                }
                return Err(NetfilterError::Refused {
                    tool: tools.restore.clone(),
                    family: *family,
                    stderr,
                });
            }
        }
    }
    Ok(report)
}

/// Puts every applied family's nat table back as it was: removes our jumps and chains, then
/// re-adds whatever of ours was there before (a re-run that failed keeps the old rules).
fn roll_back(applied: &[(Family, &Tools, &str)]) -> Result<(), String> {
    for (family, tools, before) in applied {
        let now = save_nat(tools, *family).map_err(|e| e.to_string())?;
        restore(tools, &["--noflush"], &rules::removal_input(&now))
            .map_err(|e| e.to_string())??;
        let previous = rules::ours_from_save(before);
        if !previous.is_empty() {
            restore(tools, &["--noflush"], &previous).map_err(|e| e.to_string())??;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_choice() {
        assert_eq!(choose_backend(Some(0), Some(0)), Backend::Nft);
        assert_eq!(choose_backend(Some(2), Some(10)), Backend::Legacy);
        assert_eq!(choose_backend(None, Some(0)), Backend::Legacy);
        assert_eq!(choose_backend(Some(0), None), Backend::Nft);
        assert_eq!(choose_backend(None, None), Backend::Nft);
        assert!(BackendChoice::parse("iptables").is_err());
    }
}
