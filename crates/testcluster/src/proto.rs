//! Just enough Kubernetes protobuf decoding for the typed requests kubectl sends as
//! `application/vnd.kubernetes.protobuf` (auth can-i/whoami reviews, `kubectl create namespace|
//! configmap|secret|serviceaccount|deployment|service|job`, `kubectl run`). Everything else
//! kubectl sends as JSON.

use serde_json::{Map, Value, json};

use crate::errors::ApiError;

#[derive(Clone, Copy)]
enum F {
    Str(u64, &'static str),
    Bool(u64, &'static str),
    Int(u64, &'static str),
    /// `intstr.IntOrString`: {type: 0|1, intVal, strVal} rendered as a number or a string.
    IntOrString(u64, &'static str),
    RepMsg(u64, &'static str, &'static [F]),
    RepStr(u64, &'static str),
    MapStr(u64, &'static str),
    MapBytes(u64, &'static str),
    Msg(u64, &'static str, &'static [F]),
}

const META: &[F] = &[
    F::Str(1, "name"),
    F::Str(2, "generateName"),
    F::Str(3, "namespace"),
    F::Str(6, "resourceVersion"),
    F::MapStr(11, "labels"),
    F::MapStr(12, "annotations"),
    F::RepStr(14, "finalizers"),
];
const RESOURCE_ATTRS: &[F] = &[
    F::Str(1, "namespace"),
    F::Str(2, "verb"),
    F::Str(3, "group"),
    F::Str(4, "version"),
    F::Str(5, "resource"),
    F::Str(6, "subresource"),
    F::Str(7, "name"),
];
const NON_RESOURCE_ATTRS: &[F] = &[F::Str(1, "path"), F::Str(2, "verb")];
const SSAR: &[F] = &[
    F::Msg(1, "metadata", META),
    F::Msg(
        2,
        "spec",
        &[
            F::Msg(1, "resourceAttributes", RESOURCE_ATTRS),
            F::Msg(2, "nonResourceAttributes", NON_RESOURCE_ATTRS),
        ],
    ),
];
const SAR: &[F] = &[
    F::Msg(1, "metadata", META),
    F::Msg(
        2,
        "spec",
        &[
            F::Msg(1, "resourceAttributes", RESOURCE_ATTRS),
            F::Msg(2, "nonResourceAttributes", NON_RESOURCE_ATTRS),
            F::Str(3, "user"),
            F::RepStr(4, "groups"),
            F::Str(6, "uid"),
        ],
    ),
];
const SSRR: &[F] = &[
    F::Msg(1, "metadata", META),
    F::Msg(2, "spec", &[F::Str(1, "namespace")]),
];
const NAMESPACE: &[F] = &[
    F::Msg(1, "metadata", META),
    F::Msg(2, "spec", &[F::RepStr(1, "finalizers")]),
];
const CONFIGMAP: &[F] = &[
    F::Msg(1, "metadata", META),
    F::MapStr(2, "data"),
    F::MapBytes(3, "binaryData"),
    F::Bool(4, "immutable"),
];
const SECRET: &[F] = &[
    F::Msg(1, "metadata", META),
    F::MapBytes(2, "data"),
    F::Str(3, "type"),
    F::MapStr(4, "stringData"),
    F::Bool(5, "immutable"),
];
const CONTAINER: &[F] = &[
    F::Str(1, "name"),
    F::Str(2, "image"),
    F::RepStr(3, "command"),
    F::RepStr(4, "args"),
    F::Str(5, "workingDir"),
    F::RepMsg(
        6,
        "ports",
        &[
            F::Str(1, "name"),
            F::Int(2, "hostPort"),
            F::Int(3, "containerPort"),
            F::Str(4, "protocol"),
        ],
    ),
    F::RepMsg(7, "env", &[F::Str(1, "name"), F::Str(2, "value")]),
    F::RepMsg(
        9,
        "volumeMounts",
        &[
            F::Str(1, "name"),
            F::Bool(2, "readOnly"),
            F::Str(3, "mountPath"),
        ],
    ),
    F::Str(14, "imagePullPolicy"),
];
const POD_SPEC: &[F] = &[
    F::RepMsg(2, "containers", CONTAINER),
    F::RepMsg(20, "initContainers", CONTAINER),
    F::Str(3, "restartPolicy"),
    F::Int(4, "terminationGracePeriodSeconds"),
    F::Str(6, "dnsPolicy"),
    F::MapStr(7, "nodeSelector"),
    F::Str(8, "serviceAccountName"),
    F::Str(10, "nodeName"),
];
const POD: &[F] = &[F::Msg(1, "metadata", META), F::Msg(2, "spec", POD_SPEC)];
const DEPLOYMENT: &[F] = &[
    F::Msg(1, "metadata", META),
    F::Msg(
        2,
        "spec",
        &[
            F::Int(1, "replicas"),
            F::Msg(2, "selector", &[F::MapStr(1, "matchLabels")]),
            F::Msg(3, "template", POD),
            F::Msg(4, "strategy", &[F::Str(1, "type")]),
        ],
    ),
];
const SERVICE: &[F] = &[
    F::Msg(1, "metadata", META),
    F::Msg(
        2,
        "spec",
        &[
            F::RepMsg(
                1,
                "ports",
                &[
                    F::Str(1, "name"),
                    F::Str(2, "protocol"),
                    F::Int(3, "port"),
                    F::IntOrString(4, "targetPort"),
                    F::Int(5, "nodePort"),
                ],
            ),
            F::MapStr(2, "selector"),
            F::Str(3, "clusterIP"),
            F::Str(4, "type"),
        ],
    ),
];
const JOB: &[F] = &[
    F::Msg(1, "metadata", META),
    F::Msg(
        2,
        "spec",
        &[
            F::Int(1, "parallelism"),
            F::Int(2, "completions"),
            F::Msg(6, "template", POD),
            F::Int(7, "backoffLimit"),
        ],
    ),
];
const SERVICEACCOUNT: &[F] = &[
    F::Msg(1, "metadata", META),
    F::Bool(4, "automountServiceAccountToken"),
];

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// Next (field, wire type, payload) where payload is the bytes of a length-delimited field
    /// or empty for varints (value in the second element).
    fn field(&mut self) -> Option<(u64, u64, &'a [u8], u64)> {
        let key = self.varint()?;
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                let v = self.varint()?;
                Some((field, wire, &[], v))
            }
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                let end = self.pos.checked_add(len)?;
                let bytes = self.buf.get(self.pos..end)?;
                self.pos = end;
                Some((field, wire, bytes, 0))
            }
            1 => {
                self.pos += 8;
                Some((field, wire, &[], 0))
            }
            5 => {
                self.pos += 4;
                Some((field, wire, &[], 0))
            }
            _ => None,
        }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

fn map_entry(bytes: &[u8], as_base64: bool) -> Option<(String, Value)> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let (mut k, mut v) = (String::new(), Value::String(String::new()));
    while !r.done() {
        let (field, _, payload, _) = r.field()?;
        match field {
            1 => k = String::from_utf8_lossy(payload).into_owned(),
            2 if as_base64 => v = json!(crate::util::base64(payload)),
            2 => v = json!(String::from_utf8_lossy(payload)),
            _ => {}
        }
    }
    Some((k, v))
}

fn decode(bytes: &[u8], schema: &[F]) -> Option<Value> {
    let mut out = Map::new();
    let mut r = Reader { buf: bytes, pos: 0 };
    while !r.done() {
        let (field, _, payload, varint) = r.field()?;
        let Some(f) = schema.iter().find(|f| match f {
            F::Str(n, _)
            | F::Bool(n, _)
            | F::RepStr(n, _)
            | F::MapStr(n, _)
            | F::MapBytes(n, _)
            | F::Int(n, _)
            | F::IntOrString(n, _)
            | F::RepMsg(n, _, _)
            | F::Msg(n, _, _) => *n == field,
        }) else {
            continue;
        };
        match *f {
            // Go's protobuf writes zero values; JSON omits them, so do we.
            F::Str(_, _) if payload.is_empty() => {}
            F::Int(_, _) if varint == 0 => {}
            F::Str(_, name) => {
                out.insert(name.into(), json!(String::from_utf8_lossy(payload)));
            }
            F::Bool(_, name) => {
                out.insert(name.into(), json!(varint != 0));
            }
            F::RepStr(_, name) => {
                let list = out.entry(name).or_insert_with(|| json!([]));
                if let Some(a) = list.as_array_mut() {
                    a.push(json!(String::from_utf8_lossy(payload)));
                }
            }
            F::MapStr(_, name) | F::MapBytes(_, name) => {
                let (k, v) = map_entry(payload, matches!(f, F::MapBytes(..)))?;
                let m = out.entry(name).or_insert_with(|| json!({}));
                m[k.as_str()] = v;
            }
            F::Int(_, name) => {
                // int32/int64 varints; negative values do not occur in these fields.
                out.insert(name.into(), json!(varint));
            }
            F::IntOrString(_, name) => {
                let v = decode(
                    payload,
                    &[F::Int(1, "type"), F::Int(2, "intVal"), F::Str(3, "strVal")],
                )?;
                let rendered = if v["type"] == 1 {
                    v["strVal"].clone()
                } else {
                    v.get("intVal").cloned().unwrap_or(json!(0))
                };
                out.insert(name.into(), rendered);
            }
            F::RepMsg(_, name, inner) => {
                let item = decode(payload, inner)?;
                let list = out.entry(name).or_insert_with(|| json!([]));
                if let Some(a) = list.as_array_mut() {
                    a.push(item);
                }
            }
            F::Msg(_, name, inner) => {
                let v = decode(payload, inner)?;
                if v.as_object().is_some_and(|m| !m.is_empty()) {
                    out.insert(name.into(), v);
                }
            }
        }
    }
    Some(Value::Object(out))
}

/// Decodes a `k8s\0`-prefixed protobuf body into JSON for the types listed above.
pub fn decode_body(body: &[u8]) -> Result<Value, ApiError> {
    let unsupported = |what: &str| {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "testcluster decodes protobuf only for reviews, namespaces, configmaps, secrets, serviceaccounts, pods, deployments, services and jobs ({what}); send JSON"
            ),
        )
    };
    let rest = body
        .strip_prefix(b"k8s\0")
        .ok_or_else(|| unsupported("no k8s envelope"))?;
    let mut r = Reader { buf: rest, pos: 0 };
    let (mut api_version, mut kind, mut raw): (String, String, &[u8]) =
        (String::new(), String::new(), &[]);
    while !r.done() {
        let Some((field, _, payload, _)) = r.field() else {
            return Err(unsupported("malformed envelope"));
        };
        match field {
            1 => {
                let tm = decode(payload, &[F::Str(1, "apiVersion"), F::Str(2, "kind")])
                    .unwrap_or_default();
                api_version = tm["apiVersion"].as_str().unwrap_or_default().to_string();
                kind = tm["kind"].as_str().unwrap_or_default().to_string();
            }
            2 => raw = payload,
            _ => {}
        }
    }
    let schema = match kind.as_str() {
        "SelfSubjectAccessReview" => SSAR,
        "SubjectAccessReview" | "LocalSubjectAccessReview" => SAR,
        "SelfSubjectRulesReview" => SSRR,
        "SelfSubjectReview" => &[F::Msg(1, "metadata", META)],
        "Namespace" => NAMESPACE,
        "ConfigMap" => CONFIGMAP,
        "Secret" => SECRET,
        "ServiceAccount" => SERVICEACCOUNT,
        "Pod" => POD,
        "Deployment" => DEPLOYMENT,
        "Service" => SERVICE,
        "Job" => JOB,
        other => return Err(unsupported(other)),
    };
    let mut obj = decode(raw, schema).ok_or_else(|| unsupported("malformed object"))?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}
