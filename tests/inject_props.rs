//! Properties of inject/uninject over manifests assembled from corpus documents with varied
//! separators and comments, and over mangled and arbitrary input: idempotence, the round trip,
//! byte-exact passthrough of untouched documents, and never a panic.

mod support;

use std::sync::OnceLock;

use meshctl::inject::InjectOptions;
use meshctl::inject::manifest::{self, Direction, RunOptions};
use proptest::prelude::*;

fn options(direction: Direction) -> RunOptions {
    RunOptions {
        inject: InjectOptions::default(),
        direction,
        namespace: None,
        output: None,
    }
}

fn inject(text: &str) -> Result<String, manifest::ManifestError> {
    manifest::process("t", text, &options(Direction::Inject)).map(|p| p.text)
}

fn uninject(text: &str) -> Result<String, manifest::ManifestError> {
    manifest::process("t", text, &options(Direction::Uninject)).map(|p| p.text)
}

/// Single documents of the YAML corpus (text between `---` lines) that inject on their own:
/// (text, whether inject changes it).
fn pool() -> &'static Vec<(String, bool)> {
    static POOL: OnceLock<Vec<(String, bool)>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut docs = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(support::corpus())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(file).unwrap();
            let mut current = String::new();
            for line in text.split_inclusive('\n') {
                if line.trim_end() == "---" {
                    docs.push(std::mem::take(&mut current));
                } else {
                    current.push_str(line);
                }
            }
            docs.push(current);
        }
        docs.into_iter()
            .filter(|d| !d.trim().is_empty())
            .filter_map(|d| {
                let out = inject(&d).ok()?;
                let changed = out != d;
                Some((d, changed))
            })
            .collect()
    })
}

const SEPARATORS: &[&str] = &[
    "---\n",
    "--- # next document\n",
    "---\n# a comment between documents\n",
    "\n---\n",
    "...\n---\n",
    "---\n---\n",
];

/// A manifest: documents from the pool joined by assorted separators, with optional leading
/// comment, and maybe no final line break.
fn manifest_strategy() -> impl Strategy<Value = (String, Vec<usize>)> {
    let n = pool().len();
    (
        prop::collection::vec((0..n, 0..SEPARATORS.len()), 1..6),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(picks, leading, strip_last_newline)| {
            let mut text = String::new();
            if leading {
                text.push_str("# generated\n");
            }
            for (i, (doc, sep)) in picks.iter().enumerate() {
                if i > 0 {
                    text.push_str(SEPARATORS[*sep]);
                }
                text.push_str(&pool()[*doc].0);
            }
            if strip_last_newline {
                while text.ends_with('\n') {
                    text.pop();
                }
            }
            (text, picks.iter().map(|(d, _)| *d).collect())
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn inject_is_idempotent_and_uninject_restores_every_byte((text, _) in manifest_strategy()) {
        let once = inject(&text).unwrap();
        let twice = inject(&once).unwrap();
        prop_assert_eq!(&twice, &once, "inject(inject(x)) != inject(x)");
        let back = uninject(&once).unwrap();
        prop_assert_eq!(&back, &text, "uninject(inject(x)) != x");
    }

    #[test]
    fn untouched_documents_pass_through_byte_for_byte((text, picks) in manifest_strategy()) {
        // Re-join with unique separators so the output can be cut back into documents.
        let docs: Vec<&str> = picks.iter().map(|d| pool()[*d].0.as_str()).collect();
        let mut joined = String::new();
        for (i, doc) in docs.iter().enumerate() {
            if i > 0 {
                joined.push_str(&format!("--- # document {i}\n"));
            }
            joined.push_str(doc);
        }
        let _ = text;
        let out = inject(&joined).unwrap();
        let mut pieces = Vec::new();
        let mut rest = out.as_str();
        for i in 1..docs.len() {
            let marker = format!("--- # document {i}\n");
            let at = rest.find(&marker).expect("separator kept");
            pieces.push(&rest[..at]);
            rest = &rest[at + marker.len()..];
        }
        pieces.push(rest);
        for (i, doc) in docs.iter().enumerate() {
            let changed = pool()[picks[i]].1;
            if !changed {
                prop_assert_eq!(pieces[i], *doc, "untouched document {} changed", i);
            } else {
                prop_assert_ne!(pieces[i], *doc);
            }
        }
    }

    #[test]
    fn mangled_manifests_never_panic_and_keep_the_laws(
        (text, _) in manifest_strategy(),
        cuts in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, "[ \n:#\\-\\[\\]{}'\"a-z0-9|>&*!]{0,3}"), 1..4),
    ) {
        let mut text = text;
        for (at, delete, insert) in cuts {
            let mut pos = at.index(text.len() + 1);
            while !text.is_char_boundary(pos) {
                pos -= 1;
            }
            let mut end = (pos + delete).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.replace_range(pos..end, &insert);
        }
        if let Ok(once) = inject(&text) {
            let twice = inject(&once);
            prop_assert_eq!(twice.as_ref().ok(), Some(&once), "not idempotent on {:?}", text);
            let back = uninject(&once);
            prop_assert_eq!(back.as_ref().ok(), Some(&text), "round trip broke on {:?}", text);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = inject(&text);
        let _ = uninject(&text);
    }
}
