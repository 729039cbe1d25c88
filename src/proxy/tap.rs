//! Envoy's admin tap: the request body that attaches a session, a streaming decoder for the traces
//! it sends back (pretty-printed JSON objects one after another, with no framing), the event model
//! meshctl prints, and the client-side filters.

use serde::Serialize;
use serde_json::{Value, json};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TapError {
    #[error("tap stream is not valid JSON at byte {offset}: {source}")]
    Decode {
        offset: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("bad filter '{0}': expected KEY=VALUE")]
    BadHeaderFilter(String),
    #[error("bad direction '{0}': expected inbound or outbound")]
    BadDirection(String),
}

/// Which side of the sidecar to tap: the tap filter's `config_id` in the sidecar bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn parse(raw: &str) -> Result<Self, TapError> {
        match raw {
            "inbound" | "in" => Ok(Direction::Inbound),
            "outbound" | "out" => Ok(Direction::Outbound),
            other => Err(TapError::BadDirection(other.to_string())),
        }
    }

    pub fn config_id(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// The `POST /tap` body: every request on that tap filter, streamed as buffered traces (one per
/// finished request), bodies as strings truncated to 1 KiB.
pub fn tap_request_body(config_id: &str) -> Vec<u8> {
    let body = json!({
        "config_id": config_id,
        "tap_config": {
            "match": {"any_match": true},
            "output_config": {
                "sinks": [{"streaming_admin": {}, "format": "JSON_BODY_AS_STRING"}],
                "max_buffered_rx_bytes": 1024,
                "max_buffered_tx_bytes": 1024
            }
        }
    });
    body.to_string().into_bytes()
}

/// Envoy's answer when another session holds the proxy's one tap slot.
pub fn is_already_attached(message: &str) -> bool {
    message.contains("already exists")
}

/// Splits a byte stream of concatenated JSON values, whatever the chunk boundaries.
#[derive(Debug, Default)]
pub struct TraceDecoder {
    buffer: Vec<u8>,
    consumed: usize,
}

impl TraceDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a chunk; returns every value completed by it. A syntax error is fatal for the stream.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Value>, TapError> {
        self.buffer.extend_from_slice(chunk);
        let mut values = Vec::new();
        let mut start = 0;
        let mut stream =
            serde_json::Deserializer::from_slice(&self.buffer[..]).into_iter::<Value>();
        loop {
            match stream.next() {
                Some(Ok(value)) => {
                    start = stream.byte_offset();
                    values.push(value);
                }
                Some(Err(e)) if e.is_eof() => break,
                Some(Err(source)) => {
                    return Err(TapError::Decode {
                        offset: self.consumed + stream.byte_offset(),
                        source,
                    });
                }
                None => {
                    start = stream.byte_offset();
                    break;
                }
            }
        }
        self.buffer.drain(..start);
        self.consumed += start;
        Ok(values)
    }

    /// Whether bytes of an unfinished value are waiting.
    pub fn has_partial(&self) -> bool {
        self.buffer.iter().any(|b| !b.is_ascii_whitespace())
    }
}

/// One tapped request/response exchange, as meshctl shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exchange {
    pub method: Option<String>,
    pub authority: Option<String>,
    pub path: Option<String>,
    pub scheme: Option<String>,
    pub status: Option<u16>,
    /// Client address (`IP:PORT`) as Envoy saw it.
    pub source: Option<String>,
    /// The address the client dialled (for inbound: the pod's IP and the app's port).
    pub destination: Option<String>,
    /// Request headers in, response headers out, in milliseconds.
    pub latency_ms: Option<f64>,
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
    /// Set when the trace was a streamed segment rather than a whole exchange.
    pub partial: bool,
}

impl Exchange {
    pub fn request_header(&self, key: &str) -> Option<&str> {
        self.request_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

fn headers(message: Option<&Value>) -> Vec<(String, String)> {
    message
        .and_then(|m| m.get("headers"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|h| {
                    let key = h.get("key")?.as_str()?.to_string();
                    // Non-UTF-8 values come in `raw_value` (base64); show the key with an empty value.
                    let value = h
                        .get("value")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    Some((key, value))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn socket_address(connection: Option<&Value>, side: &str) -> Option<String> {
    let address = connection?.get(side)?.get("socket_address")?;
    let ip = address.get("address")?.as_str()?;
    let port = address
        .get("port_value")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if ip.contains(':') {
        Some(format!("[{ip}]:{port}"))
    } else {
        Some(format!("{ip}:{port}"))
    }
}

/// Reads one trace. Returns `None` for trace kinds that carry no HTTP exchange.
pub fn exchange_from_trace(trace: &Value) -> Option<Exchange> {
    let (buffered, partial) = match trace.get("http_buffered_trace") {
        Some(t) => (t, false),
        None => (trace.get("http_streamed_trace_segment")?, true),
    };
    let request = buffered.get("request");
    let response = buffered.get("response");
    let request_headers = headers(request);
    let response_headers = headers(response);
    let find = |list: &[(String, String)], key: &str| {
        list.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    let time = |message: Option<&Value>| {
        message
            .and_then(|m| m.get("headers_received_time"))
            .and_then(Value::as_str)
            .and_then(parse_rfc3339_micros)
    };
    let latency_ms = match (time(request), time(response)) {
        (Some(start), Some(end)) if end >= start => Some((end - start) as f64 / 1000.0),
        _ => None,
    };
    let downstream = buffered.get("downstream_connection");
    Some(Exchange {
        method: find(&request_headers, ":method"),
        authority: find(&request_headers, ":authority"),
        path: find(&request_headers, ":path"),
        scheme: find(&request_headers, ":scheme"),
        status: find(&response_headers, ":status").and_then(|s| s.parse().ok()),
        source: socket_address(downstream, "remote_address"),
        destination: socket_address(downstream, "local_address"),
        latency_ms,
        request_headers,
        response_headers,
        partial,
    })
}

/// Microseconds since the Unix epoch of an RFC 3339 UTC timestamp as Envoy writes them
/// (`2026-11-26T11:05:36.197142Z`); offsets other than `Z` are honoured too.
pub fn parse_rfc3339_micros(raw: &str) -> Option<i64> {
    let (date, rest) = raw.split_once('T')?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: i64 = date_parts.next()?.parse().ok()?;
    let day: i64 = date_parts.next()?.parse().ok()?;
    let (time, offset_seconds) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0)
    } else {
        let split = rest.rfind(['+', '-'])?;
        let (t, offset) = rest.split_at(split);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (h, m) = offset[1..].split_once(':')?;
        let minutes = h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?;
        (t, sign * minutes * 60)
    };
    let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut hms_parts = hms.splitn(3, ':');
    let hour: i64 = hms_parts.next()?.parse().ok()?;
    let minute: i64 = hms_parts.next()?.parse().ok()?;
    let second: i64 = hms_parts.next()?.parse().ok()?;
    let mut micros: i64 = 0;
    for (i, digit) in fraction.chars().take(6).enumerate() {
        micros += i64::from(digit.to_digit(10)?) * 10_i64.pow(5 - i as u32);
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * 1_000_000 + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// What the user asked to see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TapFilter {
    pub method: Option<String>,
    pub path_prefix: Option<String>,
    pub authority: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl TapFilter {
    /// Parses `--header k=v` values.
    pub fn parse_headers(raw: &[String]) -> Result<Vec<(String, String)>, TapError> {
        raw.iter()
            .map(|h| {
                h.split_once('=')
                    .filter(|(k, _)| !k.is_empty())
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                    .ok_or_else(|| TapError::BadHeaderFilter(h.clone()))
            })
            .collect()
    }

    pub fn matches(&self, exchange: &Exchange) -> bool {
        if let Some(method) = &self.method
            && !exchange
                .method
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(method))
        {
            return false;
        }
        if let Some(prefix) = &self.path_prefix
            && !exchange
                .path
                .as_deref()
                .is_some_and(|p| p.starts_with(prefix.as_str()))
        {
            return false;
        }
        if let Some(authority) = &self.authority
            && !exchange
                .authority
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(authority))
        {
            return false;
        }
        self.headers
            .iter()
            .all(|(k, v)| exchange.request_header(k) == Some(v.as_str()))
    }
}

/// One line of `tap` output: a request or its response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum TapEvent {
    #[serde(rename_all = "camelCase")]
    Request {
        id: u64,
        pod: String,
        direction: Direction,
        source: Option<String>,
        destination: Option<String>,
        method: Option<String>,
        authority: Option<String>,
        path: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Response {
        id: u64,
        pod: String,
        direction: Direction,
        status: Option<u16>,
        latency_ms: Option<f64>,
    },
}

/// The two events of an exchange.
pub fn events(id: u64, pod: &str, direction: Direction, exchange: &Exchange) -> [TapEvent; 2] {
    [
        TapEvent::Request {
            id,
            pod: pod.to_string(),
            direction,
            source: exchange.source.clone(),
            destination: exchange.destination.clone(),
            method: exchange.method.clone(),
            authority: exchange.authority.clone(),
            path: exchange.path.clone(),
        },
        TapEvent::Response {
            id,
            pod: pod.to_string(),
            direction,
            status: exchange.status,
            latency_ms: exchange.latency_ms,
        },
    ]
}

fn or_dash(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("-")
}

/// The text form: `req id=… src=… dst=… :method=… :authority=… :path=…` and
/// `rsp id=… :status=… latency=…ms`.
pub fn event_line(event: &TapEvent) -> String {
    match event {
        TapEvent::Request {
            id,
            pod,
            direction,
            source,
            destination,
            method,
            authority,
            path,
        } => format!(
            "req id={id} pod={pod} dir={} src={} dst={} :method={} :authority={} :path={}",
            direction.config_id(),
            or_dash(source),
            or_dash(destination),
            or_dash(method),
            or_dash(authority),
            or_dash(path),
        ),
        TapEvent::Response {
            id,
            pod,
            direction,
            status,
            latency_ms,
        } => format!(
            "rsp id={id} pod={pod} dir={} :status={} latency={}",
            direction.config_id(),
            status.map_or_else(|| "-".to_string(), |s| s.to_string()),
            latency_ms.map_or_else(|| "-".to_string(), |l| format!("{l:.3}ms")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = include_str!("../../tests/fixtures/proxy/tap-stream.txt");

    #[test]
    fn decodes_concatenated_traces_split_anywhere() {
        let whole = TraceDecoder::new().push(STREAM.as_bytes()).unwrap();
        assert_eq!(whole.len(), 2);
        // Every split point, and byte-by-byte, give the same traces.
        for split in (0..STREAM.len()).step_by(7) {
            let mut decoder = TraceDecoder::new();
            let mut got = decoder.push(&STREAM.as_bytes()[..split]).unwrap();
            got.extend(decoder.push(&STREAM.as_bytes()[split..]).unwrap());
            assert_eq!(got, whole, "split at {split}");
            assert!(!decoder.has_partial());
        }
        let mut decoder = TraceDecoder::new();
        let mut got = Vec::new();
        for byte in STREAM.as_bytes() {
            got.extend(decoder.push(std::slice::from_ref(byte)).unwrap());
        }
        assert_eq!(got, whole);
    }

    #[test]
    fn decoder_reports_garbage() {
        let mut decoder = TraceDecoder::new();
        assert!(decoder.push(b"{\"a\":1}\n}").is_err());
    }

    #[test]
    fn reads_a_real_trace() {
        let traces = TraceDecoder::new().push(STREAM.as_bytes()).unwrap();
        let first = exchange_from_trace(&traces[0]).unwrap();
        assert_eq!(first.method.as_deref(), Some("GET"));
        assert_eq!(first.path.as_deref(), Some("/foo?x=1"));
        assert_eq!(first.authority.as_deref(), Some("localhost:19006"));
        assert_eq!(first.status, Some(200));
        assert_eq!(first.source.as_deref(), Some("127.0.0.1:33160"));
        assert_eq!(first.destination.as_deref(), Some("127.0.0.1:19006"));
        // 11:05:36.197142 -> 11:05:36.197168
        assert_eq!(first.latency_ms, Some(0.026));
        assert_eq!(first.request_header("X-A"), Some("b"));
        let second = exchange_from_trace(&traces[1]).unwrap();
        assert_eq!(second.method.as_deref(), Some("POST"));
    }

    #[test]
    fn parses_timestamps() {
        assert_eq!(parse_rfc3339_micros("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_micros("2000-03-01T00:00:01.5Z"),
            Some((951_868_800 + 1) * 1_000_000 + 500_000)
        );
        assert_eq!(parse_rfc3339_micros("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_rfc3339_micros("yesterday"), None);
    }

    #[test]
    fn filters_filter() {
        let traces = TraceDecoder::new().push(STREAM.as_bytes()).unwrap();
        let get = exchange_from_trace(&traces[0]).unwrap();
        let post = exchange_from_trace(&traces[1]).unwrap();
        let by_method = TapFilter {
            method: Some("post".into()),
            ..Default::default()
        };
        assert!(!by_method.matches(&get) && by_method.matches(&post));
        let by_path = TapFilter {
            path_prefix: Some("/fo".into()),
            ..Default::default()
        };
        assert!(by_path.matches(&get) && !by_path.matches(&post));
        let by_header = TapFilter {
            headers: TapFilter::parse_headers(&["X-A=b".into()]).unwrap(),
            ..Default::default()
        };
        assert!(by_header.matches(&get) && !by_header.matches(&post));
        let by_authority = TapFilter {
            authority: Some("other".into()),
            ..Default::default()
        };
        assert!(!by_authority.matches(&get));
        assert!(TapFilter::parse_headers(&["novalue".into()]).is_err());
    }

    #[test]
    fn text_lines() {
        let traces = TraceDecoder::new().push(STREAM.as_bytes()).unwrap();
        let ex = exchange_from_trace(&traces[0]).unwrap();
        let [req, rsp] = events(1, "web-1", Direction::Inbound, &ex);
        assert_eq!(
            event_line(&req),
            "req id=1 pod=web-1 dir=inbound src=127.0.0.1:33160 dst=127.0.0.1:19006 :method=GET :authority=localhost:19006 :path=/foo?x=1"
        );
        assert_eq!(
            event_line(&rsp),
            "rsp id=1 pod=web-1 dir=inbound :status=200 latency=0.026ms"
        );
        let json = serde_json::to_value(&rsp).unwrap();
        assert_eq!(json["type"], "response");
        assert_eq!(json["latencyMs"], 0.026);
    }

    #[test]
    fn request_body_names_the_config() {
        let body: Value = serde_json::from_slice(&tap_request_body("outbound")).unwrap();
        assert_eq!(body["config_id"], "outbound");
        assert_eq!(body["tap_config"]["match"]["any_match"], true);
    }
}
