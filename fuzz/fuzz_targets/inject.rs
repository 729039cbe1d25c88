//! The manifest path of `meshctl inject`/`uninject` on arbitrary input: never a panic, and whenever
//! inject succeeds, inject is idempotent and uninject gives back the input byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshctl::inject::InjectOptions;
use meshctl::inject::manifest::{Direction, RunOptions, process};

fn run(text: &str, direction: Direction) -> Option<String> {
    let options = RunOptions {
        inject: InjectOptions::default(),
        direction,
        namespace: None,
        output: None,
    };
    process("fuzz", text, &options).ok().map(|p| p.text)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = run(text, Direction::Uninject);
    if let Some(once) = run(text, Direction::Inject) {
        assert_eq!(run(&once, Direction::Inject).as_deref(), Some(once.as_str()), "not idempotent");
        assert_eq!(run(&once, Direction::Uninject).as_deref(), Some(text), "round trip broke");
    }
});
