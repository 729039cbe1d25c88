//! Shared by the integration tests: where the real tools are, and the rule that under `CI` a
//! missing tool fails the test instead of skipping it.
#![allow(dead_code)]

use std::path::PathBuf;

/// True when running under CI, where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Finds a tool from its environment variable (set by scripts/test.sh), else `fallback` on PATH
/// or in ./.venv. Returns None (and says so on stderr) when it is missing outside CI; panics under CI.
pub fn require_tool(env_var: &str, fallback: &[&str], what: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var).map(PathBuf::from)
        && path.exists()
    {
        return Some(path);
    }
    for candidate in fallback {
        let path = PathBuf::from(candidate);
        if path.exists() {
            return Some(path);
        }
    }
    skip_or_fail(&format!(
        "{what} not found (set {env_var}; scripts/test.sh does)"
    ));
    None
}

/// Under CI a missing prerequisite is a failure; elsewhere the test says loudly that it skipped.
pub fn skip_or_fail(reason: &str) {
    if in_ci() {
        panic!("prerequisite missing under CI: {reason}");
    }
    eprintln!("SKIPPED: {reason}");
}

/// The real Envoy binary (not the Python wrapper).
pub fn envoy() -> Option<PathBuf> {
    require_tool("MESHCTL_ENVOY", &[], "envoy binary")
}

pub fn kubernetes_validate() -> Option<PathBuf> {
    require_tool(
        "MESHCTL_KUBERNETES_VALIDATE",
        &[".venv/bin/kubernetes-validate"],
        "kubernetes-validate",
    )
}

pub fn kubectl() -> Option<PathBuf> {
    require_tool("MESHCTL_KUBECTL", &[".venv/bin/kubectl"], "kubectl")
}

/// Root, iptables and `ip netns` are needed by the data-plane tests.
pub fn can_use_netns() -> bool {
    // SAFETY-free check: the effective uid from /proc avoids a libc dependency.
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    let tools = ["iptables", "ip", "setpriv"]
        .iter()
        .all(|t| which(t).is_some());
    if root && tools {
        return true;
    }
    skip_or_fail("data-plane tests need root, iptables, iproute2 and setpriv");
    false
}

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// The directory of the shared real-world manifests (../shared/corpus beside the project).
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// Whether golden files should be rewritten instead of compared (MESHCTL_UPDATE_GOLDEN=1).
pub fn update_goldens() -> bool {
    std::env::var_os("MESHCTL_UPDATE_GOLDEN").is_some_and(|v| v == "1")
}

/// Compares `actual` with the golden file at `tests/golden/<name>`, or rewrites it when
/// MESHCTL_UPDATE_GOLDEN=1. Fails on a stale or missing golden.
pub fn assert_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if update_goldens() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create golden dir");
        }
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "golden {} is missing: run with MESHCTL_UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let first_diff = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "golden {} is stale (first difference at line {}); rerun with MESHCTL_UPDATE_GOLDEN=1 \
             and review the diff",
            path.display(),
            first_diff + 1
        );
    }
}

/// The `jsonschema` CLI (it comes with kubernetes-validate in the venv), for validating JSON
/// output against the schemas under docs/.
pub fn jsonschema() -> Option<PathBuf> {
    require_tool(
        "MESHCTL_JSONSCHEMA",
        &[".venv/bin/jsonschema"],
        "jsonschema CLI",
    )
}

/// Validates a JSON document against a schema under the project (e.g. `docs/check-schema.json`)
/// with the jsonschema CLI. Ok(false) when the tool is missing outside CI (test skipped);
/// Err(complaint) when the document does not match.
pub fn validate_json_schema(schema: &str, json: &str) -> Result<bool, String> {
    let Some(tool) = jsonschema() else {
        return Ok(false);
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let instance = dir.path().join("instance.json");
    std::fs::write(&instance, json).map_err(|e| e.to_string())?;
    let output = std::process::Command::new(tool)
        .arg("-i")
        .arg(&instance)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(schema))
        .output()
        .map_err(|e| format!("cannot run jsonschema: {e}"))?;
    if output.status.success() {
        Ok(true)
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The corpus directory, overridable with MESHCTL_CORPUS_DIR (worktrees that do not sit beside
/// `shared/`).
pub fn corpus() -> PathBuf {
    std::env::var_os("MESHCTL_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(corpus_dir)
}
