//! Envoy stats: parsing `/stats?format=json&histogram_buckets=cumulative`, and the window math that
//! turns two samples per proxy into golden metrics.
//!
//! Counters are live, but histograms only move when Envoy flushes stats (every 5 s by default, or
//! on an admin query with `stats_flush_on_admin`). Rates therefore come from counter deltas over
//! the window, and percentiles from the deltas of cumulative bucket counts, merged across pods
//! before interpolating (averaging per-pod percentiles would be wrong).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StatsError {
    #[error("stats answer is not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error("stats answer has no `stats` array")]
    NoStatsArray,
    #[error("histogram {name}: {problem}")]
    BadHistogram { name: String, problem: String },
}

/// One cumulative histogram bucket: how many samples were `<= upper_bound` (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bucket {
    pub upper_bound: f64,
    pub cumulative: u64,
}

/// Everything one `/stats` answer said: counters and gauges by name, histograms' cumulative buckets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsSnapshot {
    pub values: BTreeMap<String, u64>,
    pub histograms: BTreeMap<String, Vec<Bucket>>,
}

impl StatsSnapshot {
    pub fn value(&self, name: &str) -> Option<u64> {
        self.values.get(name).copied()
    }
}

/// Parses Envoy's JSON stats. Counters and gauges are `{name, value}`; text readouts (string
/// values) are skipped; histograms are read in the `histogram_buckets=cumulative` shape (the
/// default quantile shape carries no buckets and is ignored).
pub fn parse_stats_json(bytes: &[u8]) -> Result<StatsSnapshot, StatsError> {
    let doc: Value = serde_json::from_slice(bytes)?;
    let stats = doc
        .get("stats")
        .and_then(Value::as_array)
        .ok_or(StatsError::NoStatsArray)?;
    let mut snapshot = StatsSnapshot::default();
    for entry in stats {
        if let Some(histograms) = entry.get("histograms") {
            if let Some(list) = histograms.as_array() {
                for histogram in list {
                    let (name, buckets) = parse_histogram(histogram)?;
                    snapshot.histograms.insert(name, buckets);
                }
            }
            continue;
        }
        let (Some(name), Some(value)) = (
            entry.get("name").and_then(Value::as_str),
            entry.get("value").and_then(Value::as_u64),
        ) else {
            continue;
        };
        snapshot.values.insert(name.to_string(), value);
    }
    Ok(snapshot)
}

fn parse_histogram(histogram: &Value) -> Result<(String, Vec<Bucket>), StatsError> {
    let name = histogram
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let bad = |problem: &str| StatsError::BadHistogram {
        name: name.clone(),
        problem: problem.to_string(),
    };
    let raw = histogram
        .get("buckets")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no `buckets` array"))?;
    let mut buckets = Vec::with_capacity(raw.len());
    for bucket in raw {
        let upper_bound = bucket
            .get("upper_bound")
            .and_then(Value::as_f64)
            .ok_or_else(|| bad("bucket without numeric `upper_bound`"))?;
        // `cumulative` is null before the first flush: nothing recorded yet.
        let cumulative = match bucket.get("cumulative") {
            None | Some(Value::Null) => 0,
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_f64().map(|f| f.max(0.0).round() as u64))
                .ok_or_else(|| bad("bucket with non-numeric `cumulative`"))?,
        };
        buckets.push(Bucket {
            upper_bound,
            cumulative,
        });
    }
    buckets.sort_by(|a, b| a.upper_bound.total_cmp(&b.upper_bound));
    Ok((name, buckets))
}

/// Which of Envoy's stats describe one traffic direction of a sidecar (names follow
/// `crate::bootstrap`: listener and http_connection_manager `stat_prefix` `inbound`/`outbound`,
/// tcp_proxy prefixes `inbound_tcp`/`inbound_opaque` and the outbound twins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatKeys {
    /// The http_connection_manager `stat_prefix`.
    pub http_prefix: String,
    /// The tcp_proxy `stat_prefix`es of the non-HTTP chains (their bytes count too).
    pub tcp_prefixes: Vec<String>,
    /// The listener's `stat_prefix`: its `downstream_cx_active` counts every open connection,
    /// HTTP or not.
    pub listener_prefix: Option<String>,
    /// Fallback for listeners without a `stat_prefix` (stats named by address, `…_15006`).
    pub listener_port: Option<u16>,
}

impl StatKeys {
    fn sidecar(prefix: &str, port: u16) -> Self {
        StatKeys {
            http_prefix: prefix.into(),
            tcp_prefixes: vec![format!("{prefix}_tcp"), format!("{prefix}_opaque")],
            listener_prefix: Some(prefix.into()),
            listener_port: Some(port),
        }
    }

    pub fn inbound() -> Self {
        Self::sidecar("inbound", 15006)
    }

    pub fn outbound() -> Self {
        Self::sidecar("outbound", 15001)
    }

    fn http(&self, stat: &str) -> String {
        format!("http.{}.{stat}", self.http_prefix)
    }

    pub fn requests(&self) -> String {
        self.http("downstream_rq_total")
    }
    pub fn errors(&self) -> String {
        self.http("downstream_rq_5xx")
    }
    pub fn latency(&self) -> String {
        self.http("downstream_rq_time")
    }

    /// The RE2 `filter` for `/stats`, anchored so `downstream_rq_time` does not also match
    /// `downstream_rq_timeout`.
    pub fn filter_regex(&self) -> String {
        let http = regex_escape(&self.http_prefix);
        let mut alternatives = vec![format!(
            "http\\.{http}\\.downstream_(rq_total|rq_5xx|rq_time|cx_active|cx_rx_bytes_total|cx_tx_bytes_total)"
        )];
        if !self.tcp_prefixes.is_empty() {
            let tcp: Vec<String> = self.tcp_prefixes.iter().map(|p| regex_escape(p)).collect();
            alternatives.push(format!(
                "tcp\\.({})\\.downstream_cx_(rx|tx)_bytes_total",
                tcp.join("|")
            ));
        }
        if let Some(prefix) = &self.listener_prefix {
            alternatives.push(format!(
                "listener\\.{}\\.downstream_cx_active",
                regex_escape(prefix)
            ));
        }
        if let Some(port) = self.listener_port {
            // The address part has dots (`0.0.0.0_15006`); per-worker gauges
            // (`…_15006.worker_0.downstream_cx_active`) don't end this way.
            alternatives.push(format!("listener\\..*_{port}\\.downstream_cx_active"));
        }
        format!("^({})$", alternatives.join("|"))
    }

    /// The admin path that reads exactly these stats.
    pub fn stats_path(&self) -> String {
        format!(
            "/stats?format=json&histogram_buckets=cumulative&filter={}",
            super::admin::encode_query_value(&self.filter_regex())
        )
    }

    /// Open connections: the listener's gauge when present (it counts TCP and HTTP), else the
    /// HTTP connection manager's.
    fn connections(&self, snapshot: &StatsSnapshot) -> u64 {
        if let Some(prefix) = &self.listener_prefix
            && let Some(active) = snapshot.value(&format!("listener.{prefix}.downstream_cx_active"))
        {
            return active;
        }
        if let Some(port) = self.listener_port {
            let suffix = format!("_{port}.downstream_cx_active");
            let from_listener: Vec<u64> = snapshot
                .values
                .iter()
                .filter(|(name, _)| {
                    name.starts_with("listener.")
                        && name.ends_with(&suffix)
                        && !name.contains(".worker_")
                })
                .map(|(_, v)| *v)
                .collect();
            if !from_listener.is_empty() {
                return from_listener.iter().sum();
            }
        }
        snapshot
            .value(&self.http("downstream_cx_active"))
            .unwrap_or(0)
    }

    fn bytes(&self, snapshot_before: &StatsSnapshot, after: &StatsSnapshot, dir: &str) -> u64 {
        let stat = format!("downstream_cx_{dir}_bytes_total");
        let mut names = vec![self.http(&stat)];
        names.extend(self.tcp_prefixes.iter().map(|p| format!("tcp.{p}.{stat}")));
        names
            .into_iter()
            .map(|name| grew(snapshot_before.value(&name), after.value(&name)))
            .sum()
    }
}

fn regex_escape(raw: &str) -> String {
    raw.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// What one proxy saw during the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Traffic {
    pub requests: u64,
    pub errors: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    /// Open connections at the end of the window (a gauge, not a delta).
    pub connections: u64,
    /// Seconds between the two samples.
    pub seconds: f64,
    /// Latency bucket deltas (cumulative form), milliseconds.
    pub latency: Vec<Bucket>,
}

/// A counter's growth; a counter that went down means Envoy restarted, and then everything it has
/// counted since is the growth.
fn grew(before: Option<u64>, after: Option<u64>) -> u64 {
    match (before, after) {
        (Some(b), Some(a)) if a >= b => a - b,
        (_, Some(a)) => a,
        _ => 0,
    }
}

/// The traffic between two samples of one proxy, `seconds` apart.
pub fn traffic(
    keys: &StatKeys,
    before: &StatsSnapshot,
    after: &StatsSnapshot,
    seconds: f64,
) -> Traffic {
    let counter = |name: String| grew(before.value(&name), after.value(&name));
    let latency_name = keys.latency();
    let latency = bucket_delta(
        before.histograms.get(&latency_name).map(Vec::as_slice),
        after
            .histograms
            .get(&latency_name)
            .map(Vec::as_slice)
            .unwrap_or(&[]),
    );
    Traffic {
        requests: counter(keys.requests()),
        errors: counter(keys.errors()),
        rx_bytes: keys.bytes(before, after, "rx"),
        tx_bytes: keys.bytes(before, after, "tx"),
        connections: keys.connections(after),
        seconds,
        latency,
    }
}

/// Bucket-wise growth of a cumulative histogram. If the bounds changed or counts went down (a
/// restart), the later histogram is taken whole.
pub fn bucket_delta(before: Option<&[Bucket]>, after: &[Bucket]) -> Vec<Bucket> {
    let comparable = before.filter(|b| {
        b.len() == after.len()
            && b.iter()
                .zip(after)
                .all(|(x, y)| x.upper_bound == y.upper_bound && x.cumulative <= y.cumulative)
    });
    match comparable {
        Some(before) => before
            .iter()
            .zip(after)
            .map(|(b, a)| Bucket {
                upper_bound: a.upper_bound,
                cumulative: a.cumulative - b.cumulative,
            })
            .collect(),
        None => after.to_vec(),
    }
}

/// Adds cumulative histograms together. Proxies normally share bucket bounds; if they do not, the
/// union of bounds is used and each histogram counts, at a bound, what it had at its largest bound
/// not above it (a lower estimate, like Prometheus' own `le` arithmetic).
pub fn merge_buckets<'a>(histograms: impl IntoIterator<Item = &'a [Bucket]>) -> Vec<Bucket> {
    let histograms: Vec<&[Bucket]> = histograms.into_iter().filter(|h| !h.is_empty()).collect();
    let mut bounds: Vec<f64> = histograms
        .iter()
        .flat_map(|h| h.iter().map(|b| b.upper_bound))
        .collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    bounds
        .into_iter()
        .map(|bound| Bucket {
            upper_bound: bound,
            cumulative: histograms
                .iter()
                .map(|h| {
                    h.iter()
                        .take_while(|b| b.upper_bound <= bound)
                        .last()
                        .map_or(0, |b| b.cumulative)
                })
                .sum(),
        })
        .collect()
}

/// The q-quantile (0..=1) of a cumulative histogram, interpolated linearly inside the bucket the
/// rank falls in, as Prometheus' `histogram_quantile` does (the first bucket starts at 0). Envoy's
/// JSON has no `+Inf` bucket, so the largest bound's count is the total. `None` without samples.
pub fn quantile(q: f64, buckets: &[Bucket]) -> Option<f64> {
    let total = buckets.last()?.cumulative;
    if total == 0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rank = q * total as f64;
    let index = buckets.iter().position(|b| b.cumulative as f64 >= rank)?;
    let bucket = buckets[index];
    let (lower, below) = if index == 0 {
        (0.0_f64.min(bucket.upper_bound), 0)
    } else {
        (
            buckets[index - 1].upper_bound,
            buckets[index - 1].cumulative,
        )
    };
    let in_bucket = bucket.cumulative - below;
    if in_bucket == 0 {
        return Some(bucket.upper_bound);
    }
    Some(lower + (bucket.upper_bound - lower) * (rank - below as f64) / in_bucket as f64)
}

/// Golden metrics for a set of proxies (one workload).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GoldenMetrics {
    pub requests: u64,
    pub errors: u64,
    /// Requests per second: the sum of each proxy's own rate.
    pub rps: Option<f64>,
    /// Share of requests that were not 5xx, 0..=1; `None` without requests.
    pub success: Option<f64>,
    pub latency_ms_p50: Option<f64>,
    pub latency_ms_p95: Option<f64>,
    pub latency_ms_p99: Option<f64>,
    pub tcp_connections: u64,
    pub read_bytes_per_second: Option<f64>,
    pub write_bytes_per_second: Option<f64>,
}

/// Combines per-proxy traffic: counts add up, rates add up, percentiles come from the merged
/// bucket deltas.
pub fn aggregate(traffic: &[Traffic]) -> GoldenMetrics {
    if traffic.is_empty() {
        return GoldenMetrics::default();
    }
    let rate = |pick: fn(&Traffic) -> u64| -> f64 {
        traffic
            .iter()
            .filter(|t| t.seconds > 0.0)
            .map(|t| pick(t) as f64 / t.seconds)
            .sum()
    };
    let requests: u64 = traffic.iter().map(|t| t.requests).sum();
    let errors: u64 = traffic.iter().map(|t| t.errors).sum::<u64>().min(requests);
    let merged = merge_buckets(traffic.iter().map(|t| t.latency.as_slice()));
    GoldenMetrics {
        requests,
        errors,
        rps: Some(rate(|t| t.requests)),
        success: (requests > 0).then(|| 1.0 - errors as f64 / requests as f64),
        latency_ms_p50: quantile(0.50, &merged),
        latency_ms_p95: quantile(0.95, &merged),
        latency_ms_p99: quantile(0.99, &merged),
        tcp_connections: traffic.iter().map(|t| t.connections).sum(),
        read_bytes_per_second: Some(rate(|t| t.rx_bytes)),
        write_bytes_per_second: Some(rate(|t| t.tx_bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(pairs: &[(f64, u64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|&(upper_bound, cumulative)| Bucket {
                upper_bound,
                cumulative,
            })
            .collect()
    }

    #[test]
    fn parses_counters_and_cumulative_histograms() {
        let json = br#"{"stats":[
            {"name":"http.inbound.downstream_rq_5xx","value":2},
            {"name":"http.inbound.downstream_rq_total","value":10},
            {"name":"server.version_text","value":"1.40.0"},
            {"histograms":[{"name":"http.inbound.downstream_rq_time","buckets":[
              {"upper_bound":1,"interval":0,"cumulative":4},
              {"upper_bound":0.5,"interval":null,"cumulative":null},
              {"upper_bound":5,"interval":1,"cumulative":10}]}]}]}"#;
        let s = parse_stats_json(json).unwrap();
        assert_eq!(s.value("http.inbound.downstream_rq_total"), Some(10));
        assert_eq!(s.value("server.version_text"), None);
        assert_eq!(
            s.histograms["http.inbound.downstream_rq_time"],
            buckets(&[(0.5, 0), (1.0, 4), (5.0, 10)])
        );
    }

    /// A real Envoy 1.40 answer to `StatKeys::inbound().stats_path()`.
    #[test]
    fn parses_a_real_filtered_answer() {
        let s = parse_stats_json(include_bytes!(
            "../../tests/fixtures/proxy/stats-inbound.json"
        ))
        .unwrap();
        let keys = StatKeys::inbound();
        assert_eq!(s.value(&keys.requests()), Some(123));
        assert_eq!(s.value(&keys.errors()), Some(0));
        let latency = &s.histograms[&keys.latency()];
        assert_eq!(latency.len(), 20);
        assert_eq!(latency[0].upper_bound, 0.5);
        assert_eq!(latency.last().unwrap().cumulative, 123);
    }

    #[test]
    fn rejects_non_stats_documents() {
        assert!(matches!(
            parse_stats_json(b"{}"),
            Err(StatsError::NoStatsArray)
        ));
        assert!(parse_stats_json(b"not json").is_err());
    }

    #[test]
    fn quantile_interpolates_like_prometheus() {
        // 100 samples: 10 <= 1 ms, 50 in (1, 2], 30 in (2, 5], 10 in (5, 10].
        let h = buckets(&[(1.0, 10), (2.0, 60), (5.0, 90), (10.0, 100)]);
        // rank 50 falls in (1,2] with 10 below and 50 inside: 1 + 1 * 40/50 = 1.8
        assert!((quantile(0.5, &h).unwrap() - 1.8).abs() < 1e-9);
        // rank 95 in (5,10]: 5 + 5 * 5/10 = 7.5
        assert!((quantile(0.95, &h).unwrap() - 7.5).abs() < 1e-9);
        // rank 99: 5 + 5 * 9/10 = 9.5
        assert!((quantile(0.99, &h).unwrap() - 9.5).abs() < 1e-9);
        // rank 5 in the first bucket, which starts at 0: 1 * 5/10 = 0.5
        assert!((quantile(0.05, &h).unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(quantile(0.5, &buckets(&[(1.0, 0), (2.0, 0)])), None);
        assert_eq!(quantile(0.5, &[]), None);
    }

    #[test]
    fn percentiles_come_from_merged_buckets_not_averages() {
        // Pod A: 90 fast requests (<= 1 ms). Pod B: 10 slow ones in (50, 100].
        let a = buckets(&[(1.0, 90), (50.0, 90), (100.0, 90)]);
        let b = buckets(&[(1.0, 0), (50.0, 0), (100.0, 10)]);
        let merged = merge_buckets([a.as_slice(), b.as_slice()]);
        assert_eq!(merged, buckets(&[(1.0, 90), (50.0, 90), (100.0, 100)]));
        // p50 is fast (rank 50 of 90 in the first bucket): 50/90 ms. Averaging per-pod p50s
        // would have said ~48 ms.
        assert!((quantile(0.5, &merged).unwrap() - 50.0 / 90.0).abs() < 1e-9);
        // p99: rank 99, 9 of the 10 slow ones: 50 + 50 * 9/10 = 95
        assert!((quantile(0.99, &merged).unwrap() - 95.0).abs() < 1e-9);
    }

    #[test]
    fn merges_histograms_with_different_bounds() {
        let a = buckets(&[(1.0, 5), (10.0, 10)]);
        let b = buckets(&[(5.0, 3), (10.0, 4)]);
        assert_eq!(
            merge_buckets([a.as_slice(), b.as_slice()]),
            buckets(&[(1.0, 5), (5.0, 8), (10.0, 14)])
        );
    }

    #[test]
    fn window_math_over_two_samples() {
        let keys = StatKeys::inbound();
        let mut before = StatsSnapshot::default();
        before.values.insert(keys.requests(), 100);
        before.values.insert(keys.errors(), 5);
        before
            .histograms
            .insert(keys.latency(), buckets(&[(1.0, 50), (10.0, 100)]));
        let mut after = before.clone();
        after.values.insert(keys.requests(), 300);
        after.values.insert(keys.errors(), 15);
        after
            .values
            .insert("listener.inbound.downstream_cx_active".into(), 7);
        after
            .values
            .insert("tcp.inbound_opaque.downstream_cx_rx_bytes_total".into(), 50);
        after
            .values
            .insert("http.inbound.downstream_cx_active".into(), 3);
        after
            .histograms
            .insert(keys.latency(), buckets(&[(1.0, 150), (10.0, 300)]));
        let t = traffic(&keys, &before, &after, 10.0);
        assert_eq!((t.requests, t.errors, t.connections), (200, 10, 7));
        assert_eq!(t.rx_bytes, 50);
        assert_eq!(t.latency, buckets(&[(1.0, 100), (10.0, 200)]));

        let g = aggregate(&[t.clone(), t]);
        assert_eq!(g.requests, 400);
        assert_eq!(g.rps, Some(40.0));
        assert_eq!(g.success, Some(1.0 - 20.0 / 400.0));
        assert_eq!(g.tcp_connections, 14);
        assert!((g.latency_ms_p50.unwrap() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn restarted_proxy_counts_from_zero() {
        assert_eq!(grew(Some(100), Some(30)), 30);
        assert_eq!(grew(None, Some(30)), 30);
        assert_eq!(grew(Some(3), None), 0);
        let before = buckets(&[(1.0, 50), (10.0, 100)]);
        let after = buckets(&[(1.0, 2), (10.0, 3)]);
        assert_eq!(bucket_delta(Some(&before), &after), after);
    }

    #[test]
    fn no_traffic_gives_empty_cells() {
        let keys = StatKeys::inbound();
        let s = StatsSnapshot::default();
        let g = aggregate(&[traffic(&keys, &s, &s, 10.0)]);
        assert_eq!(g.success, None);
        assert_eq!(g.latency_ms_p50, None);
        assert_eq!(g.rps, Some(0.0));
    }

    #[test]
    fn filter_regex_is_anchored() {
        let re = StatKeys::inbound().filter_regex();
        assert!(re.starts_with("^(") && re.ends_with(")$"));
        assert!(re.contains("listener\\.inbound\\.downstream_cx_active"));
    }

    #[test]
    fn listener_gauge_by_address_when_unprefixed() {
        let keys = StatKeys::inbound();
        let mut s = StatsSnapshot::default();
        for (name, v) in [
            ("listener.0.0.0.0_15006.downstream_cx_active", 4),
            ("listener.0.0.0.0_15006.worker_0.downstream_cx_active", 4),
            ("http.inbound.downstream_cx_active", 1),
        ] {
            s.values.insert(name.into(), v);
        }
        assert_eq!(keys.connections(&s), 4);
        s.values.clear();
        s.values
            .insert("http.inbound.downstream_cx_active".into(), 1);
        assert_eq!(keys.connections(&s), 1);
    }

    /// The stat names read here are the ones the real sidecar bootstrap produces.
    #[test]
    fn keys_match_the_sidecar_bootstrap() {
        let bootstrap: serde_json::Value = serde_json::from_str(&crate::bootstrap::render_json(
            &crate::bootstrap::BootstrapSettings::default(),
        ))
        .unwrap();
        for (keys, name) in [
            (StatKeys::inbound(), "virtualInbound"),
            (StatKeys::outbound(), "virtualOutbound"),
        ] {
            let listener = bootstrap["static_resources"]["listeners"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["name"] == name)
                .unwrap();
            // Listener stats go by `stat_prefix` when set, else by address and port.
            match listener["stat_prefix"].as_str() {
                Some(prefix) => assert_eq!(Some(prefix), keys.listener_prefix.as_deref()),
                None => assert_eq!(
                    listener["address"]["socket_address"]["port_value"].as_u64(),
                    keys.listener_port.map(u64::from)
                ),
            }
            let tcp =
                &listener["default_filter_chain"]["filters"][0]["typed_config"]["stat_prefix"];
            assert!(keys.tcp_prefixes.iter().any(|p| tcp == p.as_str()), "{tcp}");
            let text = listener.to_string();
            assert!(
                text.contains(&format!("\"stat_prefix\":\"{}\"", keys.http_prefix)),
                "{text}"
            );
            assert!(text.contains(&format!("\"config_id\":\"{}\"", keys.http_prefix)));
        }
        // The latency histogram gets the fine buckets.
        let suffix = bootstrap["stats_config"]["histogram_bucket_settings"][0]["match"]["suffix"]
            .as_str()
            .unwrap();
        assert!(StatKeys::inbound().latency().ends_with(suffix), "{suffix}");
    }
}
