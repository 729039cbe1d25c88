//! Benchmark: inject a 10 000-document manifest built from the corpus, and compare with a bare
//! parse+serialise of the same input (serde-saphyr into JSON values and back to YAML).
//! Run: `cargo bench --bench inject` (prints medians and the ratio; targets: < 1 s, ≤ 1.5×).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use meshctl::inject::InjectOptions;
use meshctl::inject::manifest::{self, Direction, RunOptions};

const DOCUMENTS: usize = 10_000;
const RUNS: usize = 5;

fn corpus_dir() -> PathBuf {
    std::env::var_os("MESHCTL_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
}

/// The corpus YAML documents, repeated until there are `DOCUMENTS` of them.
fn manifest() -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("corpus directory (set MESHCTL_CORPUS_DIR)")
        .map(|e| e.expect("entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read corpus");
        for doc in text.split("\n---\n") {
            let doc = doc.trim_start_matches("---\n").trim_end();
            if !doc.trim().is_empty() {
                docs.push(doc.to_string());
            }
        }
    }
    let mut out = String::new();
    for i in 0..DOCUMENTS {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&docs[i % docs.len()]);
        out.push('\n');
    }
    out
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<F: FnMut() -> usize>(mut f: F) -> (Duration, usize) {
    let mut samples = Vec::new();
    let mut size = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        size = std::hint::black_box(f());
        samples.push(start.elapsed());
    }
    (median(samples), size)
}

fn main() {
    let input = manifest();
    let options = RunOptions {
        inject: InjectOptions::default(),
        direction: Direction::Inject,
        namespace: None,
        output: None,
    };
    let (inject, out_len) = time(|| {
        manifest::process("bench.yaml", &input, &options)
            .expect("inject")
            .text
            .len()
    });
    let (baseline, _) = time(|| {
        let mut out = String::new();
        // serde-saphyr's default budget stops at 1 024 documents.
        let options = serde_saphyr::options! { budget: None };
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple_with_options(&input, options).expect("parse");
        for doc in docs {
            out.push_str("---\n");
            out.push_str(&serde_saphyr::to_string(&doc).expect("serialise"));
        }
        out.len()
    });
    let ratio = inject.as_secs_f64() / baseline.as_secs_f64();
    println!(
        "inject {DOCUMENTS} documents ({} KiB in, {} KiB out): median {:.1} ms over {RUNS} runs",
        input.len() / 1024,
        out_len / 1024,
        inject.as_secs_f64() * 1e3
    );
    println!(
        "bare parse+serialise (serde-saphyr to JSON values and back): median {:.1} ms",
        baseline.as_secs_f64() * 1e3
    );
    println!("ratio inject / bare: {ratio:.2}x (targets: < 1 s and <= 1.5x)");
}
