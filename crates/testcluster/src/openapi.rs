//! A minimal OpenAPI v3 surface. kubectl consults it to learn that the server validates
//! fields itself (`fieldValidation` on PATCH operations) and for apply's patch metadata; with
//! no schemas it falls back to its compiled-in types, which is what we want.

use serde_json::{Map, Value, json};

use crate::resources::ResourceType;
use crate::util;

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: one entry per served group/version.
pub fn index(types: &[ResourceType]) -> Value {
    let mut paths = Map::new();
    for (group, versions) in crate::resources::groups(types) {
        for version in versions {
            let p = gv_path(&group, &version);
            let doc = group_version(types, &group, &version);
            let hash = util::stable_hash(&doc.to_string());
            paths.insert(
                p.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash}")}),
            );
        }
    }
    json!({"paths": paths})
}

/// `/openapi/v3/apis/<group>/<version>`: paths carrying the GVK extension and the query
/// parameters the server honours.
pub fn group_version(types: &[ResourceType], group: &str, version: &str) -> Value {
    let mut paths = Map::new();
    let params = json!([
        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}},
    ]);
    for t in types
        .iter()
        .filter(|t| t.group == group && t.version == version && !t.is_virtual())
    {
        let prefix = format!("/{}", gv_path(group, version));
        let path = if t.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("{prefix}/{}/{{name}}", t.plural)
        };
        let gvk = json!({"group": group, "version": version, "kind": t.kind});
        let op = |verb: &str| {
            json!({
                "operationId": format!("{verb}{}", t.kind),
                "parameters": params,
                "x-kubernetes-action": verb,
                "x-kubernetes-group-version-kind": gvk,
                "responses": {"200": {"description": "OK"}},
            })
        };
        paths.insert(path, json!({"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")}));
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": crate::server::GIT_VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    })
}
