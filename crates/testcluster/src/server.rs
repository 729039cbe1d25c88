//! The HTTP layer: TLS, authentication, faults, authorization, routing and the handlers.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use http_body_util::BodyExt;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast};

use crate::errors::ApiError;
use crate::patch;
use crate::resources::{self, ResourceType};
use crate::rules::{self, AccessQuery, AccessRule, Fault, FaultKind, RequestInfo, RequestRecord};
use crate::selectors::Selector;
use crate::store::{DeleteOptions, Event, EventType, ListOptions, Store, UpdateKind, WriteOptions};
use crate::util;

/// The Kubernetes version the server reports.
pub const GIT_VERSION: &str = "v1.36.0";

/// The user the kubeconfig's token authenticates as.
pub const ADMIN_USER: &str = "testcluster-admin";

/// Mutable per-test settings.
#[derive(Debug, Default)]
pub struct Settings {
    pub access_rules: Vec<AccessRule>,
    pub faults: Vec<Fault>,
    /// Pods whose readiness a test fixed with `set_pod_ready`.
    pub pod_ready: HashMap<(String, String), bool>,
    pub ready_delay: Duration,
    pub port_forwards: HashMap<(String, String), BTreeMap<u16, SocketAddr>>,
    pub services: HashMap<(String, String, u16), SocketAddr>,
    /// Print every request to stderr (the binary's `--verbose`).
    pub log_to_stderr: bool,
}

/// State shared by the server, the controllers and the test handle.
pub struct Shared {
    store: Mutex<Store>,
    pub events: broadcast::Sender<Arc<Event>>,
    /// Woken on every write so the controllers reconcile.
    pub changed: Notify,
    pub token: String,
    pub settings: Mutex<Settings>,
    pub log: Mutex<Vec<RequestRecord>>,
    pub base_url: Mutex<String>,
    /// Every mutating webhook call.
    pub admission_calls: Mutex<Vec<crate::admission::WebhookCall>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the whole test server down.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn new(token: String, root_ca: &str, settings: Settings) -> Arc<Shared> {
        let (events, _) = broadcast::channel(8192);
        Arc::new(Shared {
            store: Mutex::new(Store::new(root_ca)),
            events,
            changed: Notify::new(),
            token,
            settings: Mutex::new(settings),
            log: Mutex::new(Vec::new()),
            base_url: Mutex::new(String::new()),
            admission_calls: Mutex::new(Vec::new()),
        })
    }

    /// Reads the store.
    pub fn read<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        f(&lock(&self.store))
    }

    /// Writes the store, then publishes the resulting events.
    pub fn write<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut store = lock(&self.store);
        let result = f(&mut store);
        let pending = std::mem::take(&mut store.pending);
        if !pending.is_empty() {
            for e in pending {
                let _ = self.events.send(e);
            }
            self.changed.notify_one();
        }
        result
    }

    /// Subscribes to events and reads the store atomically (no event is missed in between).
    pub fn subscribe_and_read<R>(
        &self,
        f: impl FnOnce(&Store) -> R,
    ) -> (broadcast::Receiver<Arc<Event>>, R) {
        let store = lock(&self.store);
        let rx = self.events.subscribe();
        let r = f(&store);
        (rx, r)
    }

    pub fn settings(&self) -> MutexGuard<'_, Settings> {
        lock(&self.settings)
    }

    pub fn log(&self) -> MutexGuard<'_, Vec<RequestRecord>> {
        lock(&self.log)
    }

    pub fn base_url(&self) -> String {
        lock(&self.base_url).clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

fn json_response(code: u16, body: &Value) -> Response<Body> {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.status())
}

fn text_response(code: u16, text: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(text.to_string()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn not_found_path() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

/// Percent-decodes `application/x-www-form-urlencoded` query pairs.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = |b: u8| (b as char).to_digit(16);
                    match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                        (Some(h), Some(l)) => {
                            out.push((h * 16 + l) as u8);
                            i += 2;
                        }
                        _ => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| v == "true" || v == "1")
    }
    fn dry_run(&self) -> bool {
        self.get("dryRun").is_some_and(|v| v == "All")
    }
}

// ---------------------------------------------------------------------------------------------
// Entry point per request

/// Handles one HTTP request. `Err` closes the connection without an answer (the Drop fault).
pub async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, std::io::Error> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query_string = req.uri().query().unwrap_or_default().to_string();
    let query = Query(query_pairs(&query_string));
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type");
    let user_agent = header("user-agent");
    let accept = header("accept").unwrap_or_default();
    let auth = header("authorization");
    let info = RequestInfo::parse(&method, &path, query.flag("watch"));
    let mut record = RequestRecord {
        method: method.clone(),
        path: path.clone(),
        query: query_string.clone(),
        verb: info.verb.clone(),
        resource: info.resource.clone(),
        subresource: info.subresource.clone(),
        namespace: info.namespace.clone(),
        name: info.name.clone(),
        content_type: content_type.clone(),
        user_agent,
        body: String::new(),
        status: 0,
    };

    let is_port_forward =
        info.is_resource && info.resource == "pods" && info.subresource == "portforward";
    let (req, body) = if is_port_forward {
        (Some(req), Bytes::new())
    } else {
        let body = req
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        (None, body)
    };
    record.body = String::from_utf8_lossy(&body).into_owned();

    let verbose = shared.settings().log_to_stderr;
    let warnings = Arc::new(Mutex::new(Vec::<String>::new()));
    let response = crate::admit::WARNINGS
        .scope(
            warnings.clone(),
            respond(
                &shared,
                &info,
                &method,
                &path,
                &query,
                content_type.as_deref(),
                &accept,
                auth.as_deref(),
                body,
                req,
            ),
        )
        .await;
    // Webhook warnings reach the client as `Warning` headers, as kube-apiserver sends them.
    let response = response.map(|mut r| {
        for w in lock(&warnings).iter() {
            let text = format!("299 - \"{}\"", w.replace('"', "'"));
            if let Ok(v) = hyper::header::HeaderValue::from_str(&text) {
                r.headers_mut().append("warning", v);
            }
        }
        r
    });
    if verbose {
        let status = response.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
        let query = if record.query.is_empty() {
            String::new()
        } else {
            format!("?{}", record.query)
        };
        eprintln!(
            "testcluster: {} {}{} -> {status}",
            record.method, record.path, query
        );
    }
    match response {
        Ok(r) => {
            record.status = r.status().as_u16();
            shared.log().push(record);
            Ok(r)
        }
        Err(e) => {
            shared.log().push(record);
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn respond(
    shared: &Arc<Shared>,
    info: &RequestInfo,
    method: &str,
    path: &str,
    query: &Query,
    content_type: Option<&str>,
    accept: &str,
    auth: Option<&str>,
    body: Bytes,
    raw: Option<Request<Incoming>>,
) -> Result<Response<Body>, std::io::Error> {
    let public = matches!(path, "/version" | "/healthz" | "/readyz" | "/livez");
    let token_ok = auth
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == shared.token);
    if !public && !token_ok {
        return Ok(error_response(&ApiError::new(
            401,
            "Unauthorized",
            "Unauthorized",
        )));
    }

    // Faults (first matching one; `times` counts down).
    let mut cut_watch_after = None;
    let fault = {
        let mut settings = shared.settings();
        let mut found = None;
        for f in settings.faults.iter_mut() {
            let applies = f.matches(path, info)
                && (!matches!(f.kind, FaultKind::CutWatchAfter(_)) || info.verb == "watch");
            if !applies {
                continue;
            }
            if f.after > 0 {
                f.after -= 1;
                continue;
            }
            found = Some(f);
            break;
        }
        found.map(|f| {
            if let Some(t) = f.times.as_mut() {
                *t -= 1;
            }
            f.kind.clone()
        })
    };
    match fault {
        Some(FaultKind::Status(code)) => {
            let reason = match code {
                500 => "InternalError",
                503 => "ServiceUnavailable",
                504 => "Timeout",
                429 => "TooManyRequests",
                404 => "NotFound",
                409 => "Conflict",
                403 => "Forbidden",
                _ => "Unknown",
            };
            return Ok(error_response(&ApiError::new(
                code,
                reason,
                format!("injected fault: {code}"),
            )));
        }
        Some(FaultKind::RetryAfter(secs)) => {
            let mut r = error_response(&ApiError::new(
                429,
                "TooManyRequests",
                "injected fault: too many requests, please try again later",
            ));
            if let Ok(v) = hyper::header::HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert("retry-after", v);
            }
            return Ok(r);
        }
        Some(FaultKind::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultKind::Drop) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "injected fault: drop",
            ));
        }
        Some(FaultKind::CutWatchAfter(n)) => cut_watch_after = Some(n),
        None => {}
    }

    if info.is_resource {
        let q = AccessQuery {
            user: ADMIN_USER.to_string(),
            verb: info.verb.clone(),
            group: info.group.clone(),
            resource: info.resource.clone(),
            subresource: info.subresource.clone(),
            namespace: info.namespace.clone(),
        };
        let rules_snapshot = shared.settings().access_rules.clone();
        if !rules::authorize(&rules_snapshot, &q) {
            return Ok(error_response(&forbidden(info, ADMIN_USER)));
        }
    }

    if let Some(raw) = raw {
        return Ok(port_forward(shared, info, raw).await);
    }

    let result = if info.is_resource {
        resource_request(
            shared,
            info,
            method,
            query,
            content_type,
            accept,
            body,
            cut_watch_after,
        )
        .await
    } else {
        non_resource(shared, method, path)
    };
    Ok(result.unwrap_or_else(|e| error_response(&e)))
}

fn forbidden(info: &RequestInfo, user: &str) -> ApiError {
    let res = if info.subresource.is_empty() {
        info.resource.clone()
    } else {
        format!("{}/{}", info.resource, info.subresource)
    };
    let scope = if info.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", info.namespace)
    };
    let subject = if info.name.is_empty() {
        res.clone()
    } else {
        format!("{} \"{}\"", info.resource, info.name)
    };
    ApiError::forbidden(format!(
        "{subject} is forbidden: User \"{user}\" cannot {} resource \"{res}\" in API group \"{}\" {scope}",
        info.verb, info.group
    ))
}

async fn port_forward(
    shared: &Arc<Shared>,
    info: &RequestInfo,
    raw: Request<Incoming>,
) -> Response<Body> {
    let pod_exists = shared.read(|s| {
        s.find_type("", "v1", "pods")
            .is_some_and(|t| s.get(&t, &info.namespace, &info.name).is_some())
    });
    if !pod_exists {
        return error_response(&ApiError::not_found("", "pods", &info.name));
    }
    let targets = shared
        .settings()
        .port_forwards
        .get(&(info.namespace.clone(), info.name.clone()))
        .cloned()
        .unwrap_or_default();
    crate::forward::handle(raw, targets).await
}

fn non_resource(
    shared: &Arc<Shared>,
    method: &str,
    path: &str,
) -> Result<Response<Body>, ApiError> {
    if method != "GET" && method != "HEAD" {
        return Err(ApiError::method_not_allowed(format!(
            "{method} is not supported on {path}"
        )));
    }
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let types = shared.read(|s| s.types.clone());
    let body = match segs.as_slice() {
        ["version"] => version(),
        ["healthz"] | ["readyz"] | ["livez"] => return Ok(text_response(200, "ok")),
        ["api"] => {
            let addr = shared.base_url().trim_start_matches("https://").to_string();
            json!({"kind": "APIVersions", "versions": ["v1"],
                   "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}]})
        }
        ["api", v] => resources::api_resource_list(&types, "", v).ok_or_else(not_found_path)?,
        ["apis"] => resources::api_group_list(&types),
        ["apis", g] => {
            let versions = resources::groups(&types)
                .into_iter()
                .find(|(name, _)| name == g)
                .map(|(_, v)| v)
                .ok_or_else(not_found_path)?;
            resources::api_group(g, &versions)
        }
        ["apis", g, v] => resources::api_resource_list(&types, g, v).ok_or_else(not_found_path)?,
        ["openapi", "v3"] => crate::openapi::index(&types),
        ["openapi", "v3", "api", v] => crate::openapi::group_version(&types, "", v),
        ["openapi", "v3", "apis", g, v] => crate::openapi::group_version(&types, g, v),
        _ => return Err(not_found_path()),
    };
    Ok(json_response(200, &body))
}

pub fn version() -> Value {
    let v = GIT_VERSION.trim_start_matches('v');
    let mut parts = v.split('.');
    let major = parts.next().unwrap_or("1");
    let minor = parts.next().unwrap_or("34");
    json!({
        "major": major,
        "minor": minor,
        "emulationMajor": major,
        "emulationMinor": minor,
        "minCompatibilityMajor": major,
        "minCompatibilityMinor": minor,
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

// ---------------------------------------------------------------------------------------------
// Resource requests

/// Parses a request body as JSON, else YAML.
pub fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.starts_with(b"k8s\0") {
        return crate::proto::decode_body(body);
    }
    if body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Ok(v);
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the request body is not UTF-8"))?;
    serde_saphyr::from_str::<Value>(text).map_err(|e| {
        ApiError::bad_request(format!("the request body is neither JSON nor YAML: {e}"))
    })
}

fn field_manager(query: &Query, default: &str) -> String {
    query
        .get("fieldManager")
        .filter(|m| !m.is_empty())
        .map_or_else(|| default.to_string(), str::to_string)
}

#[allow(clippy::too_many_arguments)]
async fn resource_request(
    shared: &Arc<Shared>,
    info: &RequestInfo,
    method: &str,
    query: &Query,
    content_type: Option<&str>,
    accept: &str,
    body: Bytes,
    cut_watch_after: Option<usize>,
) -> Result<Response<Body>, ApiError> {
    let t = shared
        .read(|s| s.find_type(&info.group, &info.version, &info.resource))
        .ok_or_else(not_found_path)?;
    if !t.namespaced && !info.namespace.is_empty() && t.plural != "namespaces" {
        return Err(not_found_path());
    }
    let ns = if t.namespaced {
        info.namespace.as_str()
    } else {
        ""
    };
    if t.is_virtual() {
        if method != "POST" {
            return Err(ApiError::method_not_allowed(format!(
                "{method} is not supported on {}",
                t.plural
            )));
        }
        return review(shared, &t, ns, &body).map(|v| json_response(201, &v));
    }
    let opts = WriteOptions {
        dry_run: query.dry_run(),
        field_manager: None,
        subresource: (!info.subresource.is_empty()).then(|| info.subresource.clone()),
        ..Default::default()
    };
    let sub = info.subresource.as_str();
    match info.verb.as_str() {
        "get" => match sub {
            "" | "status" => {
                let obj = shared.read(|s| s.get_or_404(&t, ns, &info.name))?;
                Ok(json_response(
                    200,
                    &Shape::of(accept, query).object(&t, obj),
                ))
            }
            "scale" => shared
                .read(|s| s.get_or_404(&t, ns, &info.name))
                .map(|o| json_response(200, &to_scale(&o))),
            "log" => {
                shared.read(|s| s.get_or_404(&t, ns, &info.name))?;
                Ok(text_response(200, ""))
            }
            _ => Err(ApiError::method_not_allowed(format!(
                "GET is not supported on {}/{sub}",
                t.plural
            ))),
        },
        "list" => {
            let list_opts = list_options(query)?;
            let all_ns = t.namespaced && info.namespace.is_empty();
            let list =
                shared.read(|s| s.list(&t, if all_ns { None } else { Some(ns) }, &list_opts))?;
            Ok(json_response(200, &Shape::of(accept, query).list(&t, list)))
        }
        "watch" => {
            let mut list_opts = list_options(query)?;
            if !info.name.is_empty() {
                list_opts
                    .fields
                    .0
                    .push(crate::selectors::Requirement::Equals(
                        "metadata.name".into(),
                        info.name.clone(),
                    ));
            }
            let all_ns = t.namespaced && info.namespace.is_empty();
            Ok(watch(
                shared.clone(),
                t,
                (!all_ns).then(|| ns.to_string()),
                list_opts,
                query,
                cut_watch_after,
                Shape::of(accept, query),
            ))
        }
        "create" => {
            let mut obj = parse_body(&body)?;
            match sub {
                "" => {
                    let opts = WriteOptions {
                        field_manager: Some(field_manager(query, "unknown")),
                        ..opts
                    };
                    if t.plural == "namespaces" && t.group.is_empty() {
                        obj["metadata"]["namespace"] = Value::Null;
                        if let Some(m) = obj["metadata"].as_object_mut() {
                            m.remove("namespace");
                        }
                    }
                    create(shared, &t, ns, obj, &opts)
                        .await
                        .map(|o| json_response(201, &o))
                }
                "eviction" => {
                    let del = DeleteOptions {
                        dry_run: opts.dry_run,
                        ..Default::default()
                    };
                    shared.write(|s| s.delete(&t, ns, &info.name, &del))?;
                    Ok(json_response(
                        201,
                        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
                    ))
                }
                "token" => {
                    shared.read(|s| s.get_or_404(&t, ns, &info.name))?;
                    obj["status"] = json!({"token": shared.token, "expirationTimestamp": util::rfc3339(std::time::SystemTime::now() + Duration::from_secs(3600))});
                    obj["apiVersion"] = json!("authentication.k8s.io/v1");
                    obj["kind"] = json!("TokenRequest");
                    Ok(json_response(201, &obj))
                }
                _ => Err(ApiError::method_not_allowed(format!(
                    "POST is not supported on {}/{sub}",
                    t.plural
                ))),
            }
        }
        "update" => {
            let obj = parse_body(&body)?;
            let opts = WriteOptions {
                field_manager: Some(field_manager(query, "unknown")),
                ..opts
            };
            match sub {
                "" | "status" => update(shared, &t, ns, &info.name, obj, &opts)
                    .await
                    .map(|o| json_response(200, &o)),
                "finalize" if t.plural == "namespaces" => {
                    let mut current = shared.read(|s| s.get_or_404(&t, ns, &info.name))?;
                    current["spec"]["finalizers"] = obj["spec"]["finalizers"].clone();
                    let opts = WriteOptions {
                        subresource: None,
                        ..opts
                    };
                    shared
                        .write(|s| s.update(&t, ns, &info.name, current, &opts, UpdateKind::Update))
                        .map(|o| json_response(200, &o))
                }
                "scale" => {
                    let replicas = obj["spec"]["replicas"].clone();
                    let mut current = shared.read(|s| s.get_or_404(&t, ns, &info.name))?;
                    current["spec"]["replicas"] = replicas;
                    let opts = WriteOptions {
                        subresource: None,
                        ..opts
                    };
                    let o = update(shared, &t, ns, &info.name, current, &opts).await?;
                    Ok(json_response(200, &to_scale(&o)))
                }
                _ => Err(ApiError::method_not_allowed(format!(
                    "PUT is not supported on {}/{sub}",
                    t.plural
                ))),
            }
        }
        "patch" => {
            let ct = content_type
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            let manager_default = if ct == "application/apply-patch+yaml" {
                ""
            } else {
                "unknown"
            };
            let manager = field_manager(query, manager_default);
            if ct == "application/apply-patch+yaml" && manager.is_empty() {
                return Err(ApiError::bad_request(
                    "PATCH, application/apply-patch+yaml requires the fieldManager parameter",
                ));
            }
            let opts = WriteOptions {
                field_manager: Some(manager),
                ..opts
            };
            let force = query.flag("force");
            match sub {
                "" | "status" => patch_object(shared, &t, ns, &info.name, &ct, &body, &opts, force)
                    .await
                    .map(|(code, o)| json_response(code, &o)),
                "scale" => {
                    let current = shared.read(|s| s.get_or_404(&t, ns, &info.name))?;
                    let mut scale = to_scale(&current);
                    apply_simple_patch(&mut scale, &ct, &body, &t)?;
                    let mut updated = current;
                    updated["spec"]["replicas"] = scale["spec"]["replicas"].clone();
                    let opts = WriteOptions {
                        subresource: None,
                        ..opts
                    };
                    let o = update(shared, &t, ns, &info.name, updated, &opts).await?;
                    Ok(json_response(200, &to_scale(&o)))
                }
                _ => Err(ApiError::method_not_allowed(format!(
                    "PATCH is not supported on {}/{sub}",
                    t.plural
                ))),
            }
        }
        "delete" => {
            let del = delete_options(query, &body);
            let obj = shared.write(|s| s.delete(&t, ns, &info.name, &del))?;
            Ok(json_response(200, &obj))
        }
        "deletecollection" => {
            let list_opts = list_options(query)?;
            let del = delete_options(query, &body);
            let list = shared.write(|s| -> Result<Value, ApiError> {
                let list = s.list(&t, Some(ns), &list_opts)?;
                for item in list["items"].as_array().into_iter().flatten() {
                    let name = item["metadata"]["name"].as_str().unwrap_or_default();
                    let _ = s.delete(&t, ns, name, &del);
                }
                Ok(list)
            })?;
            Ok(json_response(200, &list))
        }
        other => Err(ApiError::method_not_allowed(format!(
            "{other} is not supported"
        ))),
    }
}

fn list_options(query: &Query) -> Result<ListOptions, ApiError> {
    let labels = Selector::parse_labels(query.get("labelSelector").unwrap_or_default())
        .map_err(|e| ApiError::bad_request(format!("unable to parse labelSelector: {e}")))?;
    let fields = Selector::parse_fields(query.get("fieldSelector").unwrap_or_default())
        .map_err(|e| ApiError::bad_request(format!("unable to parse fieldSelector: {e}")))?;
    let limit = match query.get("limit") {
        Some(l) if !l.is_empty() => Some(
            l.parse::<usize>()
                .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?,
        ),
        _ => None,
    };
    Ok(ListOptions {
        labels,
        fields,
        limit,
        continue_token: query.get("continue").map(str::to_string),
    })
}

fn delete_options(query: &Query, body: &[u8]) -> DeleteOptions {
    let b: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let dry_run = query.dry_run()
        || b["dryRun"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "All"));
    let policy = query
        .get("propagationPolicy")
        .map(str::to_string)
        .or_else(|| b["propagationPolicy"].as_str().map(str::to_string));
    let orphan = policy.as_deref() == Some("Orphan")
        || b["orphanDependents"] == true
        || query.flag("orphanDependents");
    DeleteOptions {
        dry_run,
        orphan,
        precondition_uid: b["preconditions"]["uid"].as_str().map(str::to_string),
        precondition_rv: b["preconditions"]["resourceVersion"]
            .as_str()
            .map(str::to_string),
    }
}

fn to_scale(obj: &Value) -> Value {
    let selector = crate::controllers::selector_string(&obj["spec"]["selector"]);
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"],
            "uid": obj["metadata"]["uid"], "resourceVersion": obj["metadata"]["resourceVersion"],
            "creationTimestamp": obj["metadata"]["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
    })
}

/// Applies a json/merge/strategic patch to a document.
fn apply_simple_patch(
    doc: &mut Value,
    ct: &str,
    body: &[u8],
    t: &ResourceType,
) -> Result<(), ApiError> {
    match ct {
        "application/json-patch+json" => {
            let p: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(doc, &p).map_err(|e| {
                ApiError::new(
                    422,
                    "Invalid",
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
            })
        }
        "application/merge-patch+json" => {
            let p = parse_body(body)?;
            json_patch::merge(doc, &p);
            Ok(())
        }
        "application/strategic-merge-patch+json" => {
            if !t.group.is_empty() && !BUILTIN_GROUPS.contains(&t.group.as_str()) {
                return Err(ApiError::unsupported_media_type(ct));
            }
            let p = parse_body(body)?;
            if !p.is_object() {
                return Err(ApiError::bad_request(
                    "a strategic merge patch must be a JSON object",
                ));
            }
            patch::strategic_merge(doc, &p);
            Ok(())
        }
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

const BUILTIN_GROUPS: &[&str] = &[
    "apps",
    "batch",
    "rbac.authorization.k8s.io",
    "admissionregistration.k8s.io",
    "policy",
    "apiextensions.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
];

/// Creates an object, running admission for pods.
pub async fn create(
    shared: &Arc<Shared>,
    t: &ResourceType,
    ns: &str,
    obj: Value,
    opts: &WriteOptions,
) -> Result<Value, ApiError> {
    let opts = &WriteOptions {
        owned_fields: Some(patch::leaf_fields(&obj, false)),
        ..opts.clone()
    };
    let named = obj["metadata"]["name"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let prepared = shared.read(|s| s.prepare_create(t, ns, obj))?;
    let name = prepared["metadata"]["name"].clone();
    // Mutating admission runs before generateName is resolved, as in kube-apiserver.
    let mut for_admission = prepared;
    if !named && let Some(meta) = for_admission["metadata"].as_object_mut() {
        meta.remove("name");
    }
    let mut admitted =
        crate::admit::admit(shared, t, ns, "CREATE", for_admission, None, opts.dry_run).await?;
    if !admitted.is_object() {
        return Err(ApiError::new(
            500,
            "InternalError",
            "admission returned a non-object",
        ));
    }
    admitted["metadata"]["name"] = name;
    shared.write(|s| s.commit_create(t, admitted, opts))
}

/// Replaces an object, running admission for pods.
pub async fn update(
    shared: &Arc<Shared>,
    t: &ResourceType,
    ns: &str,
    name: &str,
    obj: Value,
    opts: &WriteOptions,
) -> Result<Value, ApiError> {
    let old = shared.read(|s| s.get_or_404(t, ns, name))?;
    let admitted =
        crate::admit::admit(shared, t, ns, "UPDATE", obj, Some(old), opts.dry_run).await?;
    shared.write(|s| s.update(t, ns, name, admitted, opts, UpdateKind::Update))
}

/// PATCH of any kind; returns the HTTP code (201 when apply created the object) and the object.
#[allow(clippy::too_many_arguments)]
async fn patch_object(
    shared: &Arc<Shared>,
    t: &ResourceType,
    ns: &str,
    name: &str,
    ct: &str,
    body: &[u8],
    opts: &WriteOptions,
    force: bool,
) -> Result<(u16, Value), ApiError> {
    // Optimistic retries as the apiserver's GuaranteedUpdate does when a controller races us.
    for _ in 0..8 {
        let current = shared.read(|s| s.get(t, ns, name).cloned());
        if ct == "application/apply-patch+yaml" {
            let applied = parse_body(body)?;
            let Some(current) = current else {
                if applied["metadata"]["name"]
                    .as_str()
                    .is_none_or(|n| n != name)
                {
                    return Err(ApiError::bad_request(
                        "the name of the object does not match the name on the URL",
                    ));
                }
                let create_opts = WriteOptions {
                    owned_fields: Some(patch::leaf_fields(&applied, false)),
                    apply: true,
                    ..opts.clone()
                };
                let prepared = shared.read(|s| s.prepare_create(t, ns, applied))?;
                let admitted =
                    crate::admit::admit(shared, t, ns, "CREATE", prepared, None, opts.dry_run)
                        .await?;
                let created = shared.write(|s| s.commit_create(t, admitted, &create_opts))?;
                return Ok((201, created));
            };
            let manager = opts.field_manager.clone().unwrap_or_default();
            let merged = crate::apply::apply(
                t,
                &current,
                &applied,
                &manager,
                force,
                opts.subresource.as_deref(),
            )?;
            let admitted = crate::admit::admit(
                shared,
                t,
                ns,
                "UPDATE",
                merged,
                Some(current.clone()),
                opts.dry_run,
            )
            .await?;
            match shared.write(|s| s.update(t, ns, name, admitted, opts, UpdateKind::Apply)) {
                Err(e) if e.reason == "Conflict" && e.code == 409 => continue,
                other => return other.map(|o| (200, o)),
            }
        }
        let current = current.ok_or_else(|| ApiError::not_found(&t.group, &t.plural, name))?;
        let current_rv = current["metadata"]["resourceVersion"].clone();
        let mut doc = current.clone();
        apply_simple_patch(&mut doc, ct, body, t)?;
        if doc["metadata"]["resourceVersion"] != current_rv
            && !doc["metadata"]["resourceVersion"].is_null()
        {
            // The patch itself carried a (stale) resourceVersion precondition.
            return Err(ApiError::stale(&t.group, &t.plural, name));
        }
        doc["metadata"]["resourceVersion"] = current_rv;
        let admitted =
            crate::admit::admit(shared, t, ns, "UPDATE", doc, Some(current), opts.dry_run).await?;
        match shared.write(|s| s.update(t, ns, name, admitted, opts, UpdateKind::Update)) {
            Err(e) if e.reason == "Conflict" && e.code == 409 => continue,
            other => return other.map(|o| (200, o)),
        }
    }
    Err(ApiError::stale(&t.group, &t.plural, name))
}

/// SubjectAccessReview and friends, answered from the access rules.
fn review(
    shared: &Arc<Shared>,
    t: &ResourceType,
    ns: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let mut obj = parse_body(body)?;
    obj["apiVersion"] = json!(t.api_version());
    obj["kind"] = json!(t.kind);
    if obj.get("metadata").is_none() {
        obj["metadata"] = json!({});
    }
    obj["metadata"]["creationTimestamp"] = Value::Null;
    if t.kind == "SelfSubjectReview" {
        obj["status"] = json!({"userInfo": {"username": ADMIN_USER,
            "groups": ["system:masters", "system:authenticated"]}});
        return Ok(obj);
    }
    let rules_snapshot = shared.settings().access_rules.clone();
    if t.kind == "SelfSubjectRulesReview" {
        // Rules are first-match with default allow, which RBAC-style rule lists cannot express
        // exactly: report "everything" and flag the list incomplete when any deny exists
        // (clients must then ask SelfSubjectAccessReview, as kubectl does for can-i).
        let has_denies = rules_snapshot.iter().any(|r| !r.allowed);
        obj["status"] = json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": has_denies,
        });
        return Ok(obj);
    }
    let user = if t.kind == "SelfSubjectAccessReview" {
        ADMIN_USER.to_string()
    } else {
        obj["spec"]["user"].as_str().unwrap_or_default().to_string()
    };
    let attrs = &obj["spec"]["resourceAttributes"];
    let allowed = if attrs.is_object() {
        let q = AccessQuery {
            user,
            verb: attrs["verb"].as_str().unwrap_or_default().to_string(),
            group: attrs["group"].as_str().unwrap_or_default().to_string(),
            resource: attrs["resource"].as_str().unwrap_or_default().to_string(),
            subresource: attrs["subresource"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            namespace: if t.kind == "LocalSubjectAccessReview" {
                ns.to_string()
            } else {
                attrs["namespace"].as_str().unwrap_or_default().to_string()
            },
        };
        rules::authorize(&rules_snapshot, &q)
    } else {
        true
    };
    obj["status"] = if allowed {
        json!({"allowed": true, "reason": "allowed by testcluster access rules"})
    } else {
        json!({"allowed": false, "denied": true})
    };
    Ok(obj)
}

// ---------------------------------------------------------------------------------------------
// Tables (kubectl get)

/// The representation a client asked for in `Accept`.
#[derive(Debug, Clone)]
enum Shape {
    Plain,
    /// `as=Table` (kubectl get), with `includeObject`.
    Table(String),
    /// `as=PartialObjectMetadata[List]` (metadata-only clients).
    Metadata,
}

impl Shape {
    fn of(accept: &str, query: &Query) -> Shape {
        if accept.contains("as=Table") {
            Shape::Table(query.get("includeObject").unwrap_or("Metadata").to_string())
        } else if accept.contains("as=PartialObjectMetadata") {
            Shape::Metadata
        } else {
            Shape::Plain
        }
    }

    fn partial(obj: &Value) -> Value {
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]})
    }

    fn object(&self, t: &ResourceType, obj: Value) -> Value {
        match self {
            Shape::Plain => obj,
            Shape::Metadata => Self::partial(&obj),
            Shape::Table(include) => crate::table::to_table(
                t,
                &json!({"metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]}, "items": [obj]}),
                include,
            ),
        }
    }

    fn list(&self, t: &ResourceType, list: Value) -> Value {
        match self {
            Shape::Plain => list,
            Shape::Metadata => {
                let items: Vec<Value> = list["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(Self::partial)
                    .collect();
                json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                       "metadata": list["metadata"], "items": items})
            }
            Shape::Table(include) => crate::table::to_table(t, &list, include),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Watch

fn event_line(kind: &str, obj: &Value) -> Bytes {
    let mut line = json!({"type": kind, "object": obj}).to_string();
    line.push('\n');
    Bytes::from(line)
}

fn matches(opts: &ListOptions, obj: &Value) -> bool {
    opts.labels.matches_object_labels(obj) && opts.fields.matches_object_fields(obj)
}

/// Which event type (if any) a watcher with these selectors sees for a change.
fn visible(opts: &ListOptions, e: &Event) -> Option<&'static str> {
    let now = matches(opts, &e.object);
    match e.kind {
        EventType::Added => now.then_some("ADDED"),
        EventType::Deleted => now.then_some("DELETED"),
        EventType::Modified => {
            let before = e.old.as_ref().is_some_and(|o| matches(opts, o));
            match (before, now) {
                (true, true) => Some("MODIFIED"),
                (false, true) => Some("ADDED"),
                (true, false) => Some("DELETED"),
                (false, false) => None,
            }
        }
    }
}

fn watch(
    shared: Arc<Shared>,
    t: ResourceType,
    ns: Option<String>,
    opts: ListOptions,
    query: &Query,
    cut_after: Option<usize>,
    representation: Shape,
) -> Response<Body> {
    // `kubectl get -w` asks for each event's object as a one-row Table.
    let shape = {
        let t = t.clone();
        move |o: Value| -> Value { representation.object(&t, o) }
    };
    let rv = query.get("resourceVersion").unwrap_or_default().to_string();
    let send_initial = query.flag("sendInitialEvents");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs);
    let key = t.storage_key();
    let (mut rx, initial) = shared.subscribe_and_read(|s| {
        let all = |s: &Store| -> Vec<Bytes> {
            s.all(&t, ns.as_deref())
                .into_iter()
                .filter(|o| matches(&opts, o))
                .map(|o| event_line("ADDED", &shape(o)))
                .collect()
        };
        if send_initial {
            let mut lines = all(s);
            let bookmark = json!({"kind": t.kind, "apiVersion": t.api_version(),
                "metadata": {"resourceVersion": s.resource_version().to_string(),
                             "annotations": {"k8s.io/initial-events-end": "true"}}});
            lines.push(event_line("BOOKMARK", &bookmark));
            return lines;
        }
        if rv.is_empty() || rv == "0" {
            return all(s);
        }
        let Ok(n) = rv.parse::<u64>() else {
            let e = ApiError::bad_request(format!("invalid resourceVersion {rv:?}"));
            return vec![event_line("ERROR", &e.status())];
        };
        match s.events_since(n) {
            Err(e) => vec![event_line("ERROR", &e.status())],
            Ok(events) => events
                .iter()
                .filter(|e| e.storage_key == key && ns.as_ref().is_none_or(|n| *n == e.namespace))
                .filter_map(|e| {
                    visible(&opts, e).map(|k| {
                        let mut o = e.object.clone();
                        o["apiVersion"] = json!(t.api_version());
                        event_line(k, &shape(o))
                    })
                })
                .collect(),
        }
    });
    let (mut tx, body) = http_body_util::channel::Channel::<Bytes, Infallible>::new(64);
    let api_version = t.api_version();
    tokio::spawn(async move {
        let mut sent = 0usize;
        let deadline = timeout.map(|d| tokio::time::Instant::now() + d);
        for line in initial {
            if cut_after.is_some_and(|n| sent >= n) {
                return;
            }
            if tx.send_data(line).await.is_err() {
                return;
            }
            sent += 1;
        }
        loop {
            if cut_after.is_some_and(|n| sent >= n) {
                return;
            }
            let next = async {
                match deadline {
                    Some(d) => tokio::time::timeout_at(d, rx.recv()).await.ok(),
                    None => Some(rx.recv().await),
                }
            };
            let event = match next.await {
                None => return, // timeout
                Some(Ok(e)) => e,
                Some(Err(broadcast::error::RecvError::Lagged(_)))
                | Some(Err(broadcast::error::RecvError::Closed)) => return,
            };
            if event.storage_key != key || ns.as_ref().is_some_and(|n| *n != event.namespace) {
                continue;
            }
            let Some(kind) = visible(&opts, &event) else {
                continue;
            };
            let mut o = event.object.clone();
            o["apiVersion"] = json!(api_version);
            if tx.send_data(event_line(kind, &shape(o))).await.is_err() {
                return;
            }
            sent += 1;
        }
    });
    let mut r = Response::new(Body::new(body));
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding_is_total() {
        let pairs = query_pairs("labelSelector=app%3Dweb%2Ctier+in+(a)&x=%E9%&y=%zz&%C3%A9=1");
        assert_eq!(
            pairs[0],
            ("labelSelector".into(), "app=web,tier in (a)".into())
        );
        assert_eq!(pairs[2].1, "%zz");
        assert_eq!(pairs[3].0, "é");
        // Multi-byte text after a % must not panic.
        let _ = query_pairs("a=%é%");
    }
}
