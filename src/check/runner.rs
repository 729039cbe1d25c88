//! Runs a graph of checks: independent checks concurrently, each attempt under a timeout; a check
//! whose prerequisite did not pass is reported `skipped` with the reason; under `--wait` a
//! retryable check that errs is retried until the deadline; and the whole run never goes past the
//! deadline plus a small margin, whatever a check does.
//!
//! The runner knows nothing about Kubernetes: checks are async closures over a shared context `C`,
//! so its semantics are tested with plain closures.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::model::{CategoryReport, CheckReport, CheckResult};

pub type CheckFuture<C> = Pin<Box<dyn Future<Output = Verdict<C>> + Send>>;
pub type CheckFn<C> = Arc<dyn Fn(Arc<C>) -> CheckFuture<C> + Send + Sync>;

/// What one attempt of a check concluded.
pub struct Verdict<C> {
    /// Ok, Warning or Error (Skipped is the runner's to decide).
    pub result: CheckResult,
    pub message: String,
    /// Overrides the check's default hint.
    pub hint: Option<String>,
    /// Checks discovered by this one (e.g. one per meshed pod), run after it; only taken from the
    /// attempt that ends the check.
    pub spawn: Vec<CheckDef<C>>,
}

impl<C> Verdict<C> {
    pub fn ok(message: impl Into<String>) -> Self {
        Self::new(CheckResult::Ok, message)
    }
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(CheckResult::Warning, message)
    }
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(CheckResult::Error, message)
    }
    fn new(result: CheckResult, message: impl Into<String>) -> Self {
        Verdict {
            result,
            message: message.into(),
            hint: None,
            spawn: Vec::new(),
        }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn with_spawn(mut self, spawn: Vec<CheckDef<C>>) -> Self {
        self.spawn = spawn;
        self
    }
}

/// One check to run.
pub struct CheckDef<C> {
    /// Unique within a run; prerequisites refer to it. Usually the id, plus the subject for
    /// per-object checks (`data-plane.proxy-live/shop/web-1`).
    pub key: String,
    pub category: String,
    /// Stable id shown to users (`kubernetes-api.reachable`).
    pub id: String,
    pub description: String,
    /// Shown on a warning or error unless the verdict brings its own.
    pub hint: Option<String>,
    /// Keys of checks that must pass (ok or warning) first.
    pub requires: Vec<String>,
    /// Whether `--wait` retries it while it errs.
    pub retryable: bool,
    pub run: CheckFn<C>,
}

impl<C> CheckDef<C> {
    /// A check whose key is its id.
    pub fn new<F, Fut>(category: &str, id: &str, description: impl Into<String>, run: F) -> Self
    where
        F: Fn(Arc<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Verdict<C>> + Send + 'static,
    {
        CheckDef {
            key: id.to_string(),
            category: category.to_string(),
            id: id.to_string(),
            description: description.into(),
            hint: None,
            requires: Vec::new(),
            retryable: false,
            run: Arc::new(move |ctx| Box::pin(run(ctx))),
        }
    }
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn requires(mut self, key: impl Into<String>) -> Self {
        self.requires.push(key.into());
        self
    }
    pub fn retryable(mut self) -> Self {
        self.retryable = true;
        self
    }
}

#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// Longest single attempt of one check.
    pub attempt_timeout: Duration,
    /// Retry retryable checks that err until the deadline (`--wait`).
    pub retry: bool,
    /// Pause between attempts.
    pub retry_interval: Duration,
    /// When checks stop being started or retried (`--wait`, else `--timeout`, from now).
    pub deadline: Instant,
    /// Grace after the deadline before the run is cut short, unfinished checks reported as errors.
    pub margin: Duration,
    /// At most this many checks run at once (per-pod checks of a big cluster would otherwise open
    /// hundreds of port-forwards together).
    pub concurrency: usize,
}

/// Progress for a spinner: checks finished so far out of those known.
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

enum State {
    Pending,
    Running,
    Done(CheckReport),
}

struct Node<C> {
    def: CheckDef<C>,
    /// Position in the report: a spawned check sorts right after its parent and earlier siblings.
    order: Vec<usize>,
    state: State,
}

/// Runs every check and returns the report grouped by category, categories in order of first
/// appearance and checks in definition order (spawned checks after their parent).
pub async fn run<C: Send + Sync + 'static>(
    ctx: Arc<C>,
    defs: Vec<CheckDef<C>>,
    options: &RunnerOptions,
    progress: Option<Progress>,
) -> Vec<CategoryReport> {
    let mut nodes: Vec<Node<C>> = defs
        .into_iter()
        .enumerate()
        .map(|(i, def)| Node {
            def,
            order: vec![i],
            state: State::Pending,
        })
        .collect();
    let mut running: JoinSet<(usize, Verdict<C>)> = JoinSet::new();
    let hard_deadline = options.deadline + options.margin;
    let permits = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));

    loop {
        let started = start_ready(&mut nodes, &mut running, &ctx, &permits, options);
        if let Some(progress) = &progress {
            let done = nodes
                .iter()
                .filter(|n| matches!(n.state, State::Done(_)))
                .count();
            progress(done, nodes.len());
        }
        if running.is_empty() {
            if started == 0 {
                break;
            }
            continue;
        }
        tokio::select! {
            joined = running.join_next() => {
                // A check that panicked yields Err: its node stays Running and is reported below.
                if let Some(Ok((index, verdict))) = joined {
                    finish(&mut nodes, index, verdict);
                }
            }
            () = tokio::time::sleep_until(hard_deadline) => {
                running.abort_all();
                break;
            }
        }
        // A panicked check never reports back; once nothing runs, give it its error.
        if running.is_empty() {
            for node in nodes.iter_mut() {
                if matches!(node.state, State::Running) {
                    node.state = State::Done(report_for(
                        &node.def,
                        CheckResult::Error,
                        "the check failed unexpectedly (internal error)".into(),
                        None,
                    ));
                }
            }
        }
    }

    // Whatever is left was cut short by the deadline, or waits on a prerequisite that never
    // finished (a cycle or an unknown key: a bug in the check list, reported rather than dropped).
    let cut_short = Instant::now() >= hard_deadline;
    for node in nodes.iter_mut() {
        match node.state {
            State::Running => {
                node.state = State::Done(report_for(
                    &node.def,
                    CheckResult::Error,
                    "did not finish before the deadline".into(),
                    Some("the API server or the component checked may be hanging; see --timeout and --wait".into()),
                ));
            }
            State::Pending => {
                let message = if cut_short {
                    "not run: the deadline passed first".to_string()
                } else {
                    format!(
                        "prerequisites never completed: {}",
                        node.def.requires.join(", ")
                    )
                };
                node.state =
                    State::Done(report_for(&node.def, CheckResult::Skipped, message, None));
            }
            State::Done(_) => {}
        }
    }

    group(nodes)
}

/// Starts every pending check whose prerequisites are all done; skips those with a failed one.
/// Returns how many changed state.
fn start_ready<C: Send + Sync + 'static>(
    nodes: &mut [Node<C>],
    running: &mut JoinSet<(usize, Verdict<C>)>,
    ctx: &Arc<C>,
    permits: &Arc<tokio::sync::Semaphore>,
    options: &RunnerOptions,
) -> usize {
    let mut changed = 0;
    // Results of finished checks by key; updated as skips cascade within this pass.
    loop {
        let results: HashMap<&str, CheckResult> = nodes
            .iter()
            .filter_map(|n| match &n.state {
                State::Done(r) => Some((n.def.key.as_str(), r.result)),
                _ => None,
            })
            .collect();
        let known: std::collections::HashSet<&str> =
            nodes.iter().map(|n| n.def.key.as_str()).collect();
        let mut decisions = Vec::new();
        for (index, node) in nodes.iter().enumerate() {
            if !matches!(node.state, State::Pending) {
                continue;
            }
            let mut blocked_by = None;
            let mut waiting = false;
            for key in &node.def.requires {
                match results.get(key.as_str()) {
                    Some(result) if !result.lets_dependents_run() => {
                        blocked_by = Some((key.clone(), *result));
                        break;
                    }
                    Some(_) => {}
                    None if known.contains(key.as_str()) => waiting = true,
                    None => {
                        blocked_by = Some((key.clone(), CheckResult::Skipped));
                        break;
                    }
                }
            }
            if let Some(blocker) = blocked_by {
                decisions.push((index, Some(blocker)));
            } else if !waiting {
                decisions.push((index, None));
            }
        }
        if decisions.is_empty() {
            return changed;
        }
        for (index, blocker) in decisions {
            changed += 1;
            let node = &mut nodes[index];
            match blocker {
                Some((key, result)) => {
                    let why = match result {
                        CheckResult::Error => "failed",
                        _ => "was skipped",
                    };
                    node.state = State::Done(report_for(
                        &node.def,
                        CheckResult::Skipped,
                        format!("prerequisite {key} {why}"),
                        None,
                    ));
                }
                None => {
                    node.state = State::Running;
                    let run = Arc::clone(&node.def.run);
                    let retry = options.retry && node.def.retryable;
                    let ctx = Arc::clone(ctx);
                    let options = options.clone();
                    let permits = Arc::clone(permits);
                    running.spawn(async move {
                        // The semaphore is never closed; without a permit, run anyway.
                        let _permit = permits.acquire_owned().await.ok();
                        (index, attempt_until_done(run, ctx, retry, &options).await)
                    });
                }
            }
        }
    }
}

/// Runs attempts of one check: one, or under `retry` as many as fit before the deadline while it
/// errs. Each attempt is bounded by the attempt timeout and by the deadline.
async fn attempt_until_done<C>(
    run: CheckFn<C>,
    ctx: Arc<C>,
    retry: bool,
    options: &RunnerOptions,
) -> Verdict<C> {
    loop {
        let now = Instant::now();
        if now >= options.deadline {
            return Verdict::error("not run: the deadline passed first");
        }
        let budget = options.attempt_timeout.min(options.deadline - now);
        let verdict = match tokio::time::timeout(budget, run(Arc::clone(&ctx))).await {
            Ok(verdict) => verdict,
            Err(_) => Verdict::error(format!(
                "timed out after {}",
                humantime::format_duration(round_to_millis(budget))
            )),
        };
        let again = retry
            && verdict.result == CheckResult::Error
            && Instant::now() + options.retry_interval < options.deadline;
        if !again {
            return verdict;
        }
        tokio::time::sleep(options.retry_interval).await;
    }
}

fn round_to_millis(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis().min(u128::from(u64::MAX)) as u64)
}

fn finish<C>(nodes: &mut Vec<Node<C>>, index: usize, verdict: Verdict<C>) {
    let Verdict {
        result,
        message,
        hint,
        spawn,
    } = verdict;
    let node = &mut nodes[index];
    node.state = State::Done(report_for(&node.def, result, message, hint));
    let parent_order = node.order.clone();
    // Children only count when the parent's verdict lets dependents run.
    if result.lets_dependents_run() {
        for (i, def) in spawn.into_iter().enumerate() {
            let mut order = parent_order.clone();
            order.push(i);
            nodes.push(Node {
                def,
                order,
                state: State::Pending,
            });
        }
    }
}

fn report_for<C>(
    def: &CheckDef<C>,
    result: CheckResult,
    message: String,
    hint: Option<String>,
) -> CheckReport {
    let hint = match result {
        CheckResult::Warning | CheckResult::Error => hint.or_else(|| def.hint.clone()),
        CheckResult::Ok | CheckResult::Skipped => None,
    };
    CheckReport {
        id: def.id.clone(),
        description: def.description.clone(),
        result,
        message,
        hint,
    }
}

fn group<C>(mut nodes: Vec<Node<C>>) -> Vec<CategoryReport> {
    nodes.sort_by(|a, b| a.order.cmp(&b.order));
    let mut categories: Vec<CategoryReport> = Vec::new();
    for node in nodes {
        let State::Done(report) = node.state else {
            continue;
        };
        match categories.iter_mut().find(|c| c.name == node.def.category) {
            Some(category) => category.checks.push(report),
            None => categories.push(CategoryReport {
                name: node.def.category,
                checks: vec![report],
            }),
        }
    }
    categories
}
