//! `testcluster --kubeconfig-out PATH`: serve a test API server until killed.

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let mut port = 0u16;
    let mut verbose = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--kubeconfig-out" => out = args.next().map(PathBuf::from),
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0),
            "-v" | "--verbose" => verbose = true,
            "-h" | "--help" => {
                println!(
                    "usage: testcluster --kubeconfig-out PATH [--port N] [--verbose]\n\nServes a loopback Kubernetes API server until killed and writes a kubeconfig for it to PATH."
                );
                return;
            }
            other => {
                eprintln!("testcluster: unknown argument {other:?} (try --help)");
                std::process::exit(2);
            }
        }
    }
    let Some(out) = out else {
        eprintln!("testcluster: --kubeconfig-out PATH is required");
        std::process::exit(2);
    };
    let cluster = match testcluster::Builder::default()
        .port(port)
        .verbose(verbose)
        .kubeconfig_out(&out)
        .start_blocking()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("testcluster: {e}");
            std::process::exit(1);
        }
    };
    eprintln!(
        "testcluster: serving {} ; kubeconfig written to {}",
        cluster.base_url(),
        out.display()
    );
    loop {
        std::thread::park();
    }
}
