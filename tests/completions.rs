//! The completion scripts committed under `completions/` must match what the binary generates;
//! MESHCTL_UPDATE_GOLDEN=1 rewrites them.

mod support;

use std::path::PathBuf;

use clap_complete::Shell;

const SHELLS: &[(Shell, &str)] = &[
    (Shell::Bash, "meshctl.bash"),
    (Shell::Zsh, "_meshctl"),
    (Shell::Fish, "meshctl.fish"),
    (Shell::PowerShell, "_meshctl.ps1"),
    (Shell::Elvish, "meshctl.elv"),
];

#[test]
fn committed_completion_scripts_are_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("completions");
    let mut stale = Vec::new();
    for (shell, file) in SHELLS {
        let fresh = meshctl::commands::completion::script(*shell);
        let path = dir.join(file);
        if support::update_goldens() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &fresh).unwrap();
            continue;
        }
        match std::fs::read(&path) {
            Ok(committed) if committed == fresh => {}
            _ => stale.push(path.display().to_string()),
        }
    }
    assert!(
        stale.is_empty(),
        "stale completion scripts (regenerate with MESHCTL_UPDATE_GOLDEN=1 cargo test --test \
         completions): {stale:?}"
    );
}

#[test]
fn completion_command_prints_the_same_script() {
    use assert_cmd::cargo::CommandCargoExt;
    let output = std::process::Command::cargo_bin("meshctl")
        .unwrap()
        .args(["completion", "bash"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        output.stdout,
        meshctl::commands::completion::script(Shell::Bash)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    for command in ["install", "uninstall", "inject", "webhook"] {
        assert!(text.contains(command), "bash completion lacks {command}");
    }
}
