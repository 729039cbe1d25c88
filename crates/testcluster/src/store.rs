//! The object store: every resource kept as JSON, metadata filled the way the API server does,
//! a global resourceVersion counter, and an event history for watches.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::errors::ApiError;
use crate::patch;
use crate::resources::{self, ResourceType};
use crate::selectors::Selector;
use crate::util;

/// Watch events kept for `?watch=true&resourceVersion=N`; older ones answer 410 Gone.
const HISTORY: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One change, as watches see it.
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub storage_key: String,
    pub namespace: String,
    pub kind: EventType,
    pub object: Value,
    /// The object before the change (MODIFIED), for selector transitions.
    pub old: Option<Value>,
}

/// Options shared by writes.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub field_manager: Option<String>,
    /// Which subresource is written (`status`), if any.
    pub subresource: Option<String>,
    /// On create: the fields the client set (before defaulting); None = everything.
    pub owned_fields: Option<BTreeSet<patch::FieldPath>>,
    /// On create: record ownership as operation `Apply` (server-side apply created it).
    pub apply: bool,
}

/// The parts of a list request the store evaluates.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub labels: Selector,
    pub fields: Selector,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
}

type ObjectKey = (String, String);

#[derive(Debug)]
pub struct Store {
    pub types: Vec<ResourceType>,
    objects: BTreeMap<String, BTreeMap<ObjectKey, Value>>,
    rv: u64,
    history: VecDeque<Arc<Event>>,
    /// Events with rv <= this are no longer in `history`.
    pub compacted_rv: u64,
    /// New events not yet broadcast (drained by the owner after each write).
    pub pending: Vec<Arc<Event>>,
    /// The cluster CA (PEM), published as `kube-root-ca.crt` in every namespace.
    root_ca: String,
}

/// Does `kind` have a meaningful `generation` (objects with a spec)?
fn tracks_generation(obj: &Value) -> bool {
    obj.get("spec").is_some()
}

fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
}

/// The object without fields that do not make it "different" (for no-op detection).
fn comparable(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
        if let Some(entries) = m.get_mut("managedFields").and_then(Value::as_array_mut) {
            for e in entries.iter_mut().filter_map(Value::as_object_mut) {
                e.remove("time");
            }
        }
    }
    o
}

/// What `generation` tracks: everything but metadata and status (and a pod's binding, which
/// the real server writes through `pods/binding` without a generation bump).
fn without_meta_and_status(obj: &Value) -> Value {
    let mut o = obj.clone();
    let is_pod = o["kind"] == "Pod" && o["apiVersion"] == "v1";
    if let Some(m) = o.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
        m.remove("apiVersion");
        m.remove("kind");
    }
    if is_pod && let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("nodeName");
    }
    o
}

impl Default for Store {
    fn default() -> Self {
        Self::new("")
    }
}

impl Store {
    /// A store with the namespaces and the node every cluster has; `root_ca` is the CA PEM.
    pub fn new(root_ca: &str) -> Self {
        let mut store = Store {
            types: resources::builtin(),
            objects: BTreeMap::new(),
            rv: 100,
            history: VecDeque::new(),
            compacted_rv: 100,
            pending: Vec::new(),
            root_ca: root_ca.to_string(),
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            if let Some(t) = store.find_type("", "v1", "namespaces") {
                let _ = store.create(&t, "", obj, &WriteOptions::default());
            }
        }
        let node = json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": crate::controllers::NODE_NAME,
                         "labels": {"kubernetes.io/hostname": crate::controllers::NODE_NAME,
                                    "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.10"}],
                       "nodeInfo": {"kubeletVersion": crate::server::GIT_VERSION,
                                    "operatingSystem": "linux", "architecture": "amd64"}}});
        if let Some(t) = store.find_type("", "v1", "nodes") {
            let _ = store.create(&t, "", node, &WriteOptions::default());
        }
        store
    }

    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// Finds a served type by group, version and plural.
    pub fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// Finds a type by `apiVersion` and `kind`.
    pub fn find_kind(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.kind == kind)
            .cloned()
    }

    fn bucket(&self, t: &ResourceType) -> Option<&BTreeMap<ObjectKey, Value>> {
        self.objects.get(&t.storage_key())
    }

    pub fn get(&self, t: &ResourceType, ns: &str, name: &str) -> Option<&Value> {
        let ns = if t.namespaced { ns } else { "" };
        self.bucket(t)?.get(&(ns.to_string(), name.to_string()))
    }

    pub fn get_or_404(&self, t: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.get(t, ns, name)
            .cloned()
            .map(|o| with_version(o, t))
            .ok_or_else(|| ApiError::not_found(&t.group, &t.plural, name))
    }

    /// Every object of a type (all namespaces when `ns` is None).
    pub fn all(&self, t: &ResourceType, ns: Option<&str>) -> Vec<Value> {
        self.bucket(t)
            .map(|b| {
                b.iter()
                    .filter(|((n, _), _)| ns.is_none_or(|ns| ns == n))
                    .map(|(_, v)| with_version(v.clone(), t))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A `*List` object with selectors and paging applied.
    pub fn list(
        &self,
        t: &ResourceType,
        ns: Option<&str>,
        opts: &ListOptions,
    ) -> Result<Value, ApiError> {
        let start =
            match &opts.continue_token {
                Some(tok) if !tok.is_empty() => Some(decode_continue(tok).ok_or_else(|| {
                    ApiError::bad_request(format!("invalid continue token {tok:?}"))
                })?),
                _ => None,
            };
        let mut items = Vec::new();
        let mut next = None;
        if let Some(bucket) = self.bucket(t) {
            for (key, obj) in bucket {
                if ns.is_some_and(|ns| ns != key.0) {
                    continue;
                }
                if start.as_ref().is_some_and(|s| key <= s) {
                    continue;
                }
                if !opts.labels.matches_object_labels(obj)
                    || !opts.fields.matches_object_fields(obj)
                {
                    continue;
                }
                if opts.limit.is_some_and(|l| l > 0 && items.len() >= l) {
                    next = Some(encode_continue(&items_last_key(&items)));
                    break;
                }
                items.push(with_version(obj.clone(), t));
            }
        }
        let mut metadata = json!({"resourceVersion": self.rv.to_string()});
        if let Some(tok) = next {
            metadata["continue"] = json!(tok);
        }
        Ok(json!({
            "kind": format!("{}List", t.kind),
            "apiVersion": t.api_version(),
            "metadata": metadata,
            "items": items,
        }))
    }

    /// Events after `rv`; Err when they have been compacted away.
    pub fn events_since(&self, rv: u64) -> Result<Vec<Arc<Event>>, ApiError> {
        if rv < self.compacted_rv {
            return Err(ApiError::gone(format!(
                "too old resource version: {rv} ({})",
                self.compacted_rv + 1
            )));
        }
        Ok(self.history.iter().filter(|e| e.rv > rv).cloned().collect())
    }

    fn record(
        &mut self,
        t: &ResourceType,
        ns: &str,
        kind: EventType,
        object: Value,
        old: Option<Value>,
    ) {
        let event = Arc::new(Event {
            rv: self.rv,
            storage_key: t.storage_key(),
            namespace: ns.to_string(),
            kind,
            object,
            old,
        });
        self.history.push_back(event.clone());
        while self.history.len() > HISTORY {
            if let Some(e) = self.history.pop_front() {
                self.compacted_rv = e.rv;
            }
        }
        self.pending.push(event);
    }

    fn next_rv(&mut self) -> String {
        self.rv += 1;
        self.rv.to_string()
    }

    fn check_namespace(&self, t: &ResourceType, ns: &str) -> Result<(), ApiError> {
        if !t.namespaced {
            return Ok(());
        }
        let Some(ns_type) = self.find_type("", "v1", "namespaces") else {
            return Ok(());
        };
        match self.get(&ns_type, "", ns) {
            None => Err(ApiError::not_found("", "namespaces", ns)),
            Some(n) if n["status"]["phase"] == "Terminating" => Err(ApiError::forbidden(format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                t.plural, ""
            ))),
            Some(_) => Ok(()),
        }
    }

    /// Fills and checks a new object; does not store it (admission runs between this and commit).
    pub fn prepare_create(
        &self,
        t: &ResourceType,
        ns: &str,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        let Some(map) = obj.as_object_mut() else {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        };
        let api_version = t.api_version();
        match map.get("kind").and_then(Value::as_str) {
            Some(k) if k != t.kind => {
                return Err(ApiError::bad_request(format!(
                    "the kind {k:?} in the body does not match the resource {} (kind {})",
                    t.plural, t.kind
                )));
            }
            _ => {}
        }
        map.insert("apiVersion".into(), json!(api_version));
        map.insert("kind".into(), json!(t.kind));
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(meta) = meta.as_object_mut() else {
            return Err(ApiError::bad_request("metadata must be an object"));
        };
        let name = match meta.get("name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => match meta.get("generateName").and_then(Value::as_str) {
                Some(prefix) if !prefix.is_empty() => format!("{prefix}{}", util::name_suffix(5)),
                _ => {
                    return Err(ApiError::invalid(
                        &t.group,
                        &t.kind,
                        "",
                        &[(
                            "metadata.name".into(),
                            "Required value: name or generateName is required".into(),
                        )],
                    ));
                }
            },
        };
        if !is_dns_subdomain(&name)
            && !t.plural.ends_with("roles")
            && !t.plural.ends_with("rolebindings")
        {
            return Err(ApiError::invalid(
                &t.group,
                &t.kind,
                &name,
                &[(
                    "metadata.name".into(),
                    format!(
                        "Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                    ),
                )],
            ));
        }
        meta.insert("name".into(), json!(name));
        if t.namespaced {
            match meta.get("namespace").and_then(Value::as_str) {
                Some(body_ns) if !body_ns.is_empty() && body_ns != ns => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => {
                    meta.insert("namespace".into(), json!(ns));
                }
            }
        } else {
            meta.remove("namespace");
        }
        for k in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "generation",
            "selfLink",
        ] {
            meta.remove(k);
        }
        meta.insert("uid".into(), json!(util::uid()));
        meta.insert("creationTimestamp".into(), json!(util::now()));
        if tracks_generation(&obj) {
            obj["metadata"]["generation"] = json!(1);
        }
        crate::defaults::apply(t, &mut obj, self);
        crate::defaults::validate(t, &obj)?;
        if self.get(t, ns, &name).is_some() {
            return Err(ApiError::already_exists(&t.group, &t.plural, &name));
        }
        self.check_namespace(t, ns).map_err(|e| {
            if e.code == 403 {
                ApiError::forbidden(format!(
                    "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                    t.plural
                ))
            } else {
                e
            }
        })?;
        Ok(obj)
    }

    /// Stores a prepared object.
    pub fn commit_create(
        &mut self,
        t: &ResourceType,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if self.get(t, &ns, &name).is_some() {
            return Err(ApiError::already_exists(&t.group, &t.plural, &name));
        }
        let manager = opts
            .field_manager
            .clone()
            .unwrap_or_else(|| "unknown".into());
        let mut fields = patch::leaf_fields(&obj, false);
        if let Some(owned) = &opts.owned_fields {
            fields.retain(|f| owned.contains(f));
        }
        let operation = if opts.apply { "Apply" } else { "Update" };
        let entry = managed_entry(&manager, operation, &t.api_version(), None, &fields);
        set_managed(&mut obj, vec![entry]);
        if opts.dry_run {
            return Ok(obj);
        }
        obj["metadata"]["resourceVersion"] = json!(self.next_rv());
        self.objects
            .entry(t.storage_key())
            .or_default()
            .insert((ns.clone(), name), obj.clone());
        self.record(t, &ns, EventType::Added, obj.clone(), None);
        if t.group == "apiextensions.k8s.io" && t.plural == "customresourcedefinitions" {
            self.register_crd(&obj);
        }
        if t.plural == "namespaces" && t.group.is_empty() {
            self.seed_namespace(&obj);
        }
        Ok(obj)
    }

    /// Create in one step (no admission).
    pub fn create(
        &mut self,
        t: &ResourceType,
        ns: &str,
        obj: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let obj = self.prepare_create(t, ns, obj)?;
        self.commit_create(t, obj, opts)
    }

    fn seed_namespace(&mut self, ns_obj: &Value) {
        let Some(name) = ns_obj["metadata"]["name"].as_str() else {
            return;
        };
        if let Some(sa) = self.find_type("", "v1", "serviceaccounts") {
            let obj = json!({"metadata": {"name": "default", "namespace": name}});
            let _ = self.create(&sa, name, obj, &WriteOptions::default());
        }
        // What kube-controller-manager's root-ca-cert-publisher puts into every namespace.
        if let Some(cm) = self.find_type("", "v1", "configmaps") {
            let obj = json!({"metadata": {"name": "kube-root-ca.crt", "namespace": name},
                             "data": {"ca.crt": self.root_ca}});
            let _ = self.create(&cm, name, obj, &WriteOptions::default());
        }
    }

    fn register_crd(&mut self, crd: &Value) {
        for t in resources::from_crd(crd) {
            if !self
                .types
                .iter()
                .any(|x| x.group == t.group && x.version == t.version && x.plural == t.plural)
            {
                self.types.push(t);
            }
        }
        // Established, as the real apiextensions controller reports.
        let ty = self.find_type("apiextensions.k8s.io", "v1", "customresourcedefinitions");
        if let (Some(ty), Some(name)) = (ty, crd["metadata"]["name"].as_str()) {
            let mut updated = crd.clone();
            updated["status"] = json!({
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                     "lastTransitionTime": util::now(), "message": "no conflicts found"},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                     "lastTransitionTime": util::now(), "message": "the initial names have been accepted"}],
                "acceptedNames": crd["spec"]["names"].clone(),
                "storedVersions": crd["spec"]["versions"].as_array().into_iter().flatten()
                    .filter(|v| v["storage"] == true).map(|v| v["name"].clone()).collect::<Vec<_>>(),
            });
            let opts = WriteOptions {
                subresource: Some("status".into()),
                ..Default::default()
            };
            let _ = self.update(&ty, "", name, updated, &opts, UpdateKind::Update);
        }
    }

    /// Replaces an object (PUT, or the result of a patch). Checks resourceVersion when set.
    pub fn update(
        &mut self,
        t: &ResourceType,
        ns: &str,
        name: &str,
        mut obj: Value,
        opts: &WriteOptions,
        kind: UpdateKind,
    ) -> Result<Value, ApiError> {
        let ns = if t.namespaced { ns } else { "" };
        let old = self
            .get(t, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&t.group, &t.plural, name))?;
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        if let Some(k) = obj["kind"].as_str()
            && k != t.kind
        {
            return Err(ApiError::bad_request(format!(
                "kind {k:?} does not match {}",
                t.kind
            )));
        }
        match obj["metadata"]["name"].as_str() {
            Some(n) if n == name => {}
            None | Some("") => obj["metadata"]["name"] = json!(name),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "the name of the object does not match the name on the URL",
                ));
            }
        }
        if let Some(body_ns) = obj["metadata"]["namespace"].as_str()
            && !body_ns.is_empty()
            && body_ns != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if let Some(rv) = obj["metadata"]["resourceVersion"].as_str()
            && !rv.is_empty()
            && Some(rv) != old["metadata"]["resourceVersion"].as_str()
        {
            return Err(ApiError::stale(&t.group, &t.plural, name));
        }
        obj["apiVersion"] = json!(t.api_version());
        obj["kind"] = json!(t.kind);
        // The server owns these.
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            match old["metadata"].get(k) {
                Some(v) => obj["metadata"][k] = v.clone(),
                None => {
                    if let Some(m) = obj["metadata"].as_object_mut() {
                        m.remove(k);
                    }
                }
            }
        }
        if t.namespaced {
            obj["metadata"]["namespace"] = json!(ns);
        }
        // Status and main resource are written separately where a status subresource exists.
        if t.has_status() {
            if opts.subresource.as_deref() == Some("status") {
                let status = obj.get("status").cloned();
                let mut merged = old.clone();
                match status {
                    Some(s) => merged["status"] = s,
                    None => {
                        if let Some(m) = merged.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
                obj = merged;
            } else {
                match old.get("status") {
                    Some(s) => obj["status"] = s.clone(),
                    None => {
                        if let Some(m) = obj.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
        }
        if let Some(generation) = old["metadata"]["generation"].as_i64() {
            let changed = without_meta_and_status(&old) != without_meta_and_status(&obj);
            obj["metadata"]["generation"] =
                json!(if changed { generation + 1 } else { generation });
        } else if tracks_generation(&obj) {
            obj["metadata"]["generation"] = json!(1);
        }
        if t.plural == "namespaces" && t.group.is_empty() {
            crate::defaults::apply(t, &mut obj, self);
        }
        crate::defaults::validate(t, &obj)?;
        // managedFields: unless the caller manages them itself (SSA), attribute changed leaves.
        if kind == UpdateKind::Update {
            let manager = opts
                .field_manager
                .clone()
                .unwrap_or_else(|| "unknown".into());
            let entries = attribute_update(
                &old,
                &obj,
                &manager,
                &t.api_version(),
                opts.subresource.as_deref(),
            );
            set_managed(&mut obj, entries);
        }
        obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        if comparable(&obj) == comparable(&old) {
            return Ok(with_version(old, t));
        }
        if opts.dry_run {
            return Ok(obj);
        }
        // Finalizers emptied on an object being deleted: it goes now.
        let finalizers_left = obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
            || (t.plural == "namespaces"
                && obj["spec"]["finalizers"]
                    .as_array()
                    .is_some_and(|f| !f.is_empty()));
        if obj["metadata"].get("deletionTimestamp").is_some() && !finalizers_left {
            return self.remove_now(t, ns, name);
        }
        obj["metadata"]["resourceVersion"] = json!(self.next_rv());
        self.objects
            .entry(t.storage_key())
            .or_default()
            .insert((ns.to_string(), name.to_string()), obj.clone());
        self.record(t, ns, EventType::Modified, obj.clone(), Some(old));
        Ok(obj)
    }

    /// Deletes an object: with finalizers it is only marked; otherwise it is removed.
    pub fn delete(
        &mut self,
        t: &ResourceType,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let ns = if t.namespaced { ns } else { "" };
        let obj = self
            .get(t, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&t.group, &t.plural, name))?;
        if let Some(uid) = &opts.precondition_uid
            && obj["metadata"]["uid"].as_str() != Some(uid.as_str())
        {
            return Err(ApiError::conflict(
                &t.group,
                &t.plural,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    obj["metadata"]["uid"].as_str().unwrap_or_default()
                ),
            ));
        }
        if let Some(rv) = &opts.precondition_rv
            && obj["metadata"]["resourceVersion"].as_str() != Some(rv.as_str())
        {
            return Err(ApiError::stale(&t.group, &t.plural, name));
        }
        if opts.dry_run {
            return Ok(with_version(obj, t));
        }
        if opts.orphan {
            self.orphan_dependents(obj["metadata"]["uid"].as_str().unwrap_or_default());
        }
        let is_namespace = t.plural == "namespaces" && t.group.is_empty();
        let has_finalizers = obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
            || is_namespace;
        if has_finalizers {
            if obj["metadata"].get("deletionTimestamp").is_some() {
                return Ok(with_version(obj, t));
            }
            let old = obj.clone();
            let mut obj = obj;
            obj["metadata"]["deletionTimestamp"] = json!(util::now());
            obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if is_namespace {
                obj["status"]["phase"] = json!("Terminating");
            }
            obj["metadata"]["resourceVersion"] = json!(self.next_rv());
            self.objects
                .entry(t.storage_key())
                .or_default()
                .insert((ns.to_string(), name.to_string()), obj.clone());
            self.record(t, ns, EventType::Modified, obj.clone(), Some(old));
            return Ok(obj);
        }
        self.remove_now(t, ns, name)
    }

    fn remove_now(&mut self, t: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
        let removed = self
            .objects
            .get_mut(&t.storage_key())
            .and_then(|b| b.remove(&(ns.to_string(), name.to_string())))
            .ok_or_else(|| ApiError::not_found(&t.group, &t.plural, name))?;
        let mut obj = removed;
        obj["metadata"]["resourceVersion"] = json!(self.next_rv());
        self.record(t, ns, EventType::Deleted, obj.clone(), None);
        if t.group == "apiextensions.k8s.io" && t.plural == "customresourcedefinitions" {
            let crd_types = resources::from_crd(&obj);
            self.types.retain(|x| {
                !crd_types
                    .iter()
                    .any(|c| c.group == x.group && c.plural == x.plural)
            });
        }
        Ok(with_version(obj, t))
    }

    fn orphan_dependents(&mut self, uid: &str) {
        let mut changes = Vec::new();
        for (key, bucket) in &self.objects {
            for ((ns, name), obj) in bucket {
                if let Some(refs) = obj["metadata"]["ownerReferences"].as_array()
                    && refs.iter().any(|r| r["uid"] == uid)
                {
                    changes.push((key.clone(), ns.clone(), name.clone()));
                }
            }
        }
        for (key, ns, name) in changes {
            let Some(t) = self.types.iter().find(|t| t.storage_key() == key).cloned() else {
                continue;
            };
            if let Some(mut obj) = self.get(&t, &ns, &name).cloned() {
                if let Some(refs) = obj["metadata"]["ownerReferences"].as_array_mut() {
                    refs.retain(|r| r["uid"] != uid);
                }
                let opts = WriteOptions {
                    field_manager: Some("garbage-collector".into()),
                    ..Default::default()
                };
                let _ = self.update(&t, &ns, &name, obj, &opts, UpdateKind::Update);
            }
        }
    }

    /// Every stored object with its type (for garbage collection and namespace cleanup).
    pub fn everything(&self) -> Vec<(ResourceType, Value)> {
        let mut out = Vec::new();
        for (key, bucket) in &self.objects {
            let Some(t) = self.types.iter().find(|t| t.storage_key() == *key) else {
                continue;
            };
            for obj in bucket.values() {
                out.push((t.clone(), obj.clone()));
            }
        }
        out
    }

    /// All uids currently stored.
    pub fn uids(&self) -> BTreeSet<String> {
        self.objects
            .values()
            .flat_map(|b| b.values())
            .filter_map(|o| o["metadata"]["uid"].as_str().map(str::to_string))
            .collect()
    }
}

/// Whether an update manages managedFields itself (server-side apply) or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    Update,
    Apply,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub dry_run: bool,
    pub orphan: bool,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
}

/// Objects of all versions share storage; present them in the requested version.
fn with_version(mut obj: Value, t: &ResourceType) -> Value {
    obj["apiVersion"] = json!(t.api_version());
    obj
}

fn items_last_key(items: &[Value]) -> ObjectKey {
    items
        .last()
        .map(|o| {
            (
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .unwrap_or_default()
}

fn encode_continue(key: &ObjectKey) -> String {
    util::base64(format!("{}\u{0}{}", key.0, key.1).as_bytes())
}

fn decode_continue(token: &str) -> Option<ObjectKey> {
    let raw = String::from_utf8(util::base64_decode(token)?).ok()?;
    let (ns, name) = raw.split_once('\u{0}')?;
    Some((ns.to_string(), name.to_string()))
}

pub fn managed_entry(
    manager: &str,
    operation: &str,
    api_version: &str,
    subresource: Option<&str>,
    fields: &BTreeSet<patch::FieldPath>,
) -> Value {
    let mut e = json!({
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": util::now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": patch::to_fields_v1(fields),
    });
    if let Some(s) = subresource {
        e["subresource"] = json!(s);
    }
    e
}

pub fn set_managed(obj: &mut Value, entries: Vec<Value>) {
    let entries: Vec<Value> = entries
        .into_iter()
        .filter(|e| e["fieldsV1"].as_object().is_some_and(|m| !m.is_empty()))
        .collect();
    if entries.is_empty() {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
    } else {
        obj["metadata"]["managedFields"] = Value::Array(entries);
    }
}

/// managedFields after an update by `manager`: changed leaves move to it from other managers.
fn attribute_update(
    old: &Value,
    new: &Value,
    manager: &str,
    api_version: &str,
    subresource: Option<&str>,
) -> Vec<Value> {
    let include_status = subresource == Some("status");
    let new_leaves = patch::leaf_fields(new, include_status);
    let changed: BTreeSet<patch::FieldPath> = new_leaves
        .iter()
        .filter(|p| patch::lookup(old, p) != patch::lookup(new, p))
        .cloned()
        .collect();
    let all_new = patch::leaf_fields(new, true);
    let mut entries: Vec<Value> = Vec::new();
    let mut mine: BTreeSet<patch::FieldPath> = BTreeSet::new();
    for e in old["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let mut fields = patch::from_fields_v1(&e["fieldsV1"]);
        fields.retain(|p| all_new.contains(p));
        let same = e["manager"] == manager
            && e["operation"] == "Update"
            && e["subresource"].as_str() == subresource;
        if same {
            mine.extend(fields);
            continue;
        }
        fields.retain(|p| !changed.contains(p));
        let mut e = e.clone();
        e["fieldsV1"] = patch::to_fields_v1(&fields);
        entries.push(e);
    }
    mine.extend(changed);
    if !mine.is_empty() {
        entries.push(managed_entry(
            manager,
            "Update",
            api_version,
            subresource,
            &mine,
        ));
    }
    entries
}
