//! The check runner's semantics, with plain closures instead of a cluster: prerequisites,
//! concurrency, timeouts, retries under --wait, the hard deadline, spawned checks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use meshctl::check::model::{CategoryReport, CheckReport, CheckResult};
use meshctl::check::runner::{self, CheckDef, RunnerOptions, Verdict};
use tokio::time::Instant;

type Def = CheckDef<()>;

fn options(deadline: Duration, attempt: Duration, retry: bool) -> RunnerOptions {
    RunnerOptions {
        attempt_timeout: attempt,
        retry,
        retry_interval: Duration::from_millis(20),
        deadline: Instant::now() + deadline,
        margin: Duration::from_millis(300),
        concurrency: 8,
    }
}

fn relaxed() -> RunnerOptions {
    options(Duration::from_secs(20), Duration::from_secs(10), false)
}

/// Runs with a guard: a runner that hangs fails the test instead of hanging it.
async fn run(defs: Vec<Def>, options: &RunnerOptions) -> Vec<CategoryReport> {
    tokio::time::timeout(
        Duration::from_secs(60),
        runner::run(Arc::new(()), defs, options, None),
    )
    .await
    .expect("the runner hung")
}

fn find<'a>(report: &'a [CategoryReport], id: &str) -> &'a CheckReport {
    report
        .iter()
        .flat_map(|c| c.checks.iter())
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#?}"))
}

fn ok(cat: &str, id: &str) -> Def {
    CheckDef::new(cat, id, format!("{id} works"), |_| async {
        Verdict::ok("fine")
    })
}

fn failing(cat: &str, id: &str) -> Def {
    CheckDef::new(cat, id, format!("{id} works"), |_| async {
        Verdict::error("broken")
    })
    .hint("fix it")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_prerequisite_skips_its_dependents_with_the_reason() {
    let defs = vec![
        failing("a", "a.root"),
        ok("a", "a.child").requires("a.root"),
        ok("a", "a.grandchild").requires("a.child"),
        ok("b", "b.independent"),
    ];
    let report = run(defs, &relaxed()).await;

    let root = find(&report, "a.root");
    assert_eq!(root.result, CheckResult::Error);
    assert_eq!(root.hint.as_deref(), Some("fix it"));
    let child = find(&report, "a.child");
    assert_eq!(child.result, CheckResult::Skipped);
    assert_eq!(child.message, "prerequisite a.root failed");
    assert_eq!(child.hint, None);
    let grandchild = find(&report, "a.grandchild");
    assert_eq!(grandchild.result, CheckResult::Skipped);
    assert_eq!(grandchild.message, "prerequisite a.child was skipped");
    assert_eq!(find(&report, "b.independent").result, CheckResult::Ok);
    // Categories and checks keep definition order; nothing is dropped.
    let names: Vec<&str> = report.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let ids: Vec<&str> = report[0].checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["a.root", "a.child", "a.grandchild"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warning_lets_dependents_run_and_ok_has_no_hint() {
    let defs = vec![
        CheckDef::new("a", "a.warn", "warns", |_| async {
            Verdict::warning("hmm")
        })
        .hint("look"),
        ok("a", "a.after").requires("a.warn").hint("unused"),
    ];
    let report = run(defs, &relaxed()).await;
    assert_eq!(find(&report, "a.warn").result, CheckResult::Warning);
    assert_eq!(find(&report, "a.warn").hint.as_deref(), Some("look"));
    assert_eq!(find(&report, "a.after").result, CheckResult::Ok);
    assert_eq!(find(&report, "a.after").hint, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_checks_run_concurrently() {
    // Each check waits for the other at a barrier: run one after the other, both would time out.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let make = |id: &'static str| {
        let barrier = Arc::clone(&barrier);
        CheckDef::new("a", id, id, move |_| {
            let barrier = Arc::clone(&barrier);
            async move {
                barrier.wait().await;
                Verdict::ok("met")
            }
        })
    };
    let defs = vec![make("a.one"), make("a.two")];
    let report = run(
        defs,
        &options(Duration::from_secs(20), Duration::from_secs(10), false),
    )
    .await;
    assert_eq!(find(&report, "a.one").result, CheckResult::Ok);
    assert_eq!(find(&report, "a.two").result, CheckResult::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_check_times_out_as_an_error() {
    let defs = vec![
        CheckDef::new("a", "a.hang", "hangs", |_| async {
            std::future::pending::<()>().await;
            Verdict::ok("never")
        })
        .hint("look at the API server"),
        ok("a", "a.after").requires("a.hang"),
    ];
    let report = run(
        defs,
        &options(Duration::from_secs(20), Duration::from_millis(200), false),
    )
    .await;
    let hang = find(&report, "a.hang");
    assert_eq!(hang.result, CheckResult::Error);
    assert!(
        hang.message.starts_with("timed out after 200ms"),
        "{}",
        hang.message
    );
    assert_eq!(hang.hint.as_deref(), Some("look at the API server"));
    assert_eq!(find(&report, "a.after").result, CheckResult::Skipped);
}

fn flaky(id: &'static str, attempts: Arc<AtomicUsize>, fails: usize, retryable: bool) -> Def {
    let def = CheckDef::new("a", id, id, move |_| {
        let attempts = Arc::clone(&attempts);
        async move {
            let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            if n <= fails {
                Verdict::error(format!("attempt {n} failed"))
            } else {
                Verdict::ok(format!("attempt {n} passed"))
            }
        }
    });
    if retryable { def.retryable() } else { def }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_retries_retryable_checks_until_they_pass() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let defs = vec![
        flaky("a.flaky", Arc::clone(&attempts), 2, true),
        ok("a", "a.after").requires("a.flaky"),
    ];
    let report = run(
        defs,
        &options(Duration::from_secs(20), Duration::from_secs(5), true),
    )
    .await;
    let flaky = find(&report, "a.flaky");
    assert_eq!(flaky.result, CheckResult::Ok);
    assert_eq!(flaky.message, "attempt 3 passed");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(find(&report, "a.after").result, CheckResult::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_wait_or_when_not_retryable_one_attempt_only() {
    let without_wait = Arc::new(AtomicUsize::new(0));
    let not_retryable = Arc::new(AtomicUsize::new(0));
    let report = run(
        vec![flaky("a.flaky", Arc::clone(&without_wait), 2, true)],
        &options(Duration::from_secs(20), Duration::from_secs(5), false),
    )
    .await;
    assert_eq!(find(&report, "a.flaky").result, CheckResult::Error);
    assert_eq!(without_wait.load(Ordering::SeqCst), 1);

    let report = run(
        vec![flaky("a.fixed", Arc::clone(&not_retryable), 2, false)],
        &options(Duration::from_secs(20), Duration::from_secs(5), true),
    )
    .await;
    assert_eq!(find(&report, "a.fixed").result, CheckResult::Error);
    assert_eq!(not_retryable.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_stop_at_the_deadline_with_the_last_error() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let report = run(
        vec![flaky("a.never", Arc::clone(&attempts), usize::MAX, true)],
        &options(Duration::from_millis(400), Duration::from_secs(5), true),
    )
    .await;
    let never = find(&report, "a.never");
    assert_eq!(never.result, CheckResult::Error);
    assert!(never.message.starts_with("attempt "), "{}", never.message);
    assert!(attempts.load(Ordering::SeqCst) > 1, "it was retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_that_ignores_its_timeout_is_cut_off_at_the_hard_deadline() {
    // Blocking the thread defeats tokio's timeout; the runner must still return.
    let defs = vec![
        CheckDef::new("a", "a.blocks", "blocks", |_| async {
            std::thread::sleep(Duration::from_secs(3));
            Verdict::ok("too late")
        }),
        ok("a", "a.after").requires("a.blocks"),
    ];
    let report = run(
        defs,
        &options(Duration::from_millis(200), Duration::from_secs(10), false),
    )
    .await;
    let blocks = find(&report, "a.blocks");
    assert_eq!(blocks.result, CheckResult::Error);
    assert_eq!(blocks.message, "did not finish before the deadline");
    let after = find(&report, "a.after");
    assert_eq!(after.result, CheckResult::Skipped);
    assert_eq!(after.message, "not run: the deadline passed first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_checks_run_after_their_parent_and_sort_beside_it() {
    let parent = CheckDef::new("a", "a.discover", "finds things", |_| async {
        let children = vec![
            CheckDef::new("a", "a.thing", "thing 1 works", |_| async {
                Verdict::error("thing 1 broken")
            })
            .key("a.thing/1")
            .requires("a.discover"),
            CheckDef::new("a", "a.thing-detail", "thing 1 detail", |_| async {
                Verdict::ok("fine")
            })
            .key("a.thing-detail/1")
            .requires("a.thing/1"),
            CheckDef::new("a", "a.thing", "thing 2 works", |_| async {
                Verdict::ok("fine")
            })
            .key("a.thing/2")
            .requires("a.discover"),
        ];
        Verdict::ok("2 things").with_spawn(children)
    });
    let defs = vec![parent, ok("a", "a.last")];
    let report = run(defs, &relaxed()).await;
    let lines: Vec<(&str, CheckResult)> = report[0]
        .checks
        .iter()
        .map(|c| (c.description.as_str(), c.result))
        .collect();
    assert_eq!(
        lines,
        [
            ("finds things", CheckResult::Ok),
            ("thing 1 works", CheckResult::Error),
            ("thing 1 detail", CheckResult::Skipped),
            ("thing 2 works", CheckResult::Ok),
            ("a.last works", CheckResult::Ok),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_prerequisite_is_reported_not_dropped() {
    let report = run(vec![ok("a", "a.orphan").requires("a.missing")], &relaxed()).await;
    let orphan = find(&report, "a.orphan");
    assert_eq!(orphan.result, CheckResult::Skipped);
    assert!(orphan.message.contains("a.missing"), "{}", orphan.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_bounded() {
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let defs: Vec<Def> = (0..12)
        .map(|i| {
            let running = Arc::clone(&running);
            let peak = Arc::clone(&peak);
            CheckDef::new("a", "a.many", format!("check {i}"), move |_| {
                let running = Arc::clone(&running);
                let peak = Arc::clone(&peak);
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Verdict::ok("done")
                }
            })
            .key(format!("a.many/{i}"))
        })
        .collect();
    let mut opts = relaxed();
    opts.concurrency = 3;
    let report = run(defs, &opts).await;
    assert_eq!(report[0].checks.len(), 12);
    assert!(report[0].checks.iter().all(|c| c.result == CheckResult::Ok));
    assert!(
        peak.load(Ordering::SeqCst) <= 3,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
}
