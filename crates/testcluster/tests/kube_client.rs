//! kube-rs against the test server: a real kubeconfig, real TLS, the real client.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::authorization::v1::SelfSubjectAccessReview;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{
    DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde_json::json;
use testcluster::{AccessRule, Fault, FaultKind, TestCluster};

async fn client(cluster: &TestCluster) -> Client {
    let kubeconfig = Kubeconfig::read_from(cluster.kubeconfig_path()).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

fn api_error(e: kube::Error) -> (u16, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn configmap(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": {"k": "v"}
    }))
    .unwrap()
}

#[tokio::test]
async fn crud_metadata_and_status_errors() {
    let cluster = TestCluster::start().await;
    let client = client(&cluster).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    let created = cms
        .create(&PostParams::default(), &configmap("a", json!({"app": "x"})))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert!(meta.uid.as_ref().is_some_and(|u| u.len() == 36));
    assert!(meta.creation_timestamp.is_some());
    let rv: u64 = meta.resource_version.as_ref().unwrap().parse().unwrap();

    let dup = cms
        .create(&PostParams::default(), &configmap("a", json!({})))
        .await
        .unwrap_err();
    assert_eq!(api_error(dup), (409, "AlreadyExists".to_string()));

    // Update with the current resourceVersion works and bumps it; the stale one conflicts.
    let mut changed = created.clone();
    changed.data = Some([("k".to_string(), "w".to_string())].into());
    let updated = cms
        .replace("a", &PostParams::default(), &changed)
        .await
        .unwrap();
    let rv2: u64 = updated
        .metadata
        .resource_version
        .as_ref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv);
    let stale = cms
        .replace("a", &PostParams::default(), &changed)
        .await
        .unwrap_err();
    assert_eq!(api_error(stale), (409, "Conflict".to_string()));

    let missing = cms.get("nope").await.unwrap_err();
    assert_eq!(api_error(missing), (404, "NotFound".to_string()));
    assert!(cms.get_opt("nope").await.unwrap().is_none());

    // dryRun=All validates but stores nothing.
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    cms.create(&dry, &configmap("dry", json!({})))
        .await
        .unwrap();
    assert!(cluster.get("v1", "ConfigMap", "default", "dry").is_none());

    // Missing namespace: NotFound; invalid name: Invalid.
    let other: Api<ConfigMap> = Api::namespaced(client.clone(), "absent");
    let e = other
        .create(&PostParams::default(), &configmap("a", json!({})))
        .await
        .unwrap_err();
    assert_eq!(api_error(e).0, 404);
    let e = cms
        .create(&PostParams::default(), &configmap("Bad_Name", json!({})))
        .await
        .unwrap_err();
    assert_eq!(api_error(e), (422, "Invalid".to_string()));

    cms.delete("a", &DeleteParams::default()).await.unwrap();
    assert!(cluster.get("v1", "ConfigMap", "default", "a").is_none());
}

#[tokio::test]
async fn list_selectors_and_paging() {
    let cluster = TestCluster::start().await;
    let client = client(&cluster).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for (name, tier) in [("a", "web"), ("b", "web"), ("c", "db"), ("d", "cache")] {
        cms.create(
            &PostParams::default(),
            &configmap(name, json!({"tier": tier, "app": "shop"})),
        )
        .await
        .unwrap();
    }
    let names = |l: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
        l.items
            .into_iter()
            .map(|c| c.metadata.name.unwrap())
            .collect()
    };
    let l = cms
        .list(&ListParams::default().labels("tier=web"))
        .await
        .unwrap();
    assert_eq!(names(l), ["a", "b"]);
    let l = cms
        .list(&ListParams::default().labels("tier in (db,cache),app"))
        .await
        .unwrap();
    assert_eq!(names(l), ["c", "d"]);
    let l = cms
        .list(&ListParams::default().labels("tier notin (web),!missing"))
        .await
        .unwrap();
    // `notin` also matches objects without the label: the published root CA has none.
    assert_eq!(names(l), ["c", "d", "kube-root-ca.crt"]);
    let l = cms
        .list(&ListParams::default().fields("metadata.name=c"))
        .await
        .unwrap();
    assert_eq!(names(l), ["c"]);

    let first = cms.list(&ListParams::default().limit(3)).await.unwrap();
    let token = first.metadata.continue_.clone().unwrap();
    assert_eq!(first.items.len(), 3);
    let rest = cms
        .list(&ListParams::default().limit(3).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(names(rest), ["d", "kube-root-ca.crt"]);

    // Metadata-only clients get PartialObjectMetadata.
    let meta = cms
        .list_metadata(&ListParams::default().labels("tier=db"))
        .await
        .unwrap();
    assert_eq!(meta.items.len(), 1);
    assert_eq!(meta.items[0].metadata.name.as_deref(), Some("c"));
    let one = cms.get_metadata("d").await.unwrap();
    assert_eq!(
        one.types.as_ref().map(|t| t.kind.as_str()),
        Some("PartialObjectMetadata")
    );

    // Across namespaces.
    let all: Api<ConfigMap> = Api::all(client);
    assert_eq!(
        all.list(&ListParams::default().labels("app=shop"))
            .await
            .unwrap()
            .items
            .len(),
        4
    );
    // Every namespace has the root CA, as on a real cluster.
    let roots = all
        .list(&ListParams::default().fields("metadata.name=kube-root-ca.crt"))
        .await
        .unwrap();
    assert_eq!(roots.items.len(), 4);
    assert!(roots.items[0].data.as_ref().unwrap()["ca.crt"].contains("BEGIN CERTIFICATE"));
}

#[tokio::test]
async fn watch_events_resource_versions_and_gone() {
    let cluster = TestCluster::start().await;
    let client = client(&cluster).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let start = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();

    cms.create(&PostParams::default(), &configmap("w", json!({"a": "1"})))
        .await
        .unwrap();
    cms.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "2"}})),
    )
    .await
    .unwrap();
    cms.delete("w", &DeleteParams::default()).await.unwrap();

    let stream = cms.watch(&WatchParams::default(), &start).await.unwrap();
    let events: Vec<_> = stream.take(3).try_collect().await.unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark(_) => "BOOKMARK",
            WatchEvent::Error(_) => "ERROR",
        })
        .collect();
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);

    // A resourceVersion older than the history answers 410 Gone.
    let mut old = cms
        .watch(&WatchParams::default(), "1")
        .await
        .unwrap()
        .boxed();
    match old.next().await {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!(e.code, 410),
        other => panic!("expected 410, got {other:?}"),
    }

    // The runtime watcher (list + watch) sees live changes.
    let watcher = kube::runtime::watcher(cms.clone(), kube::runtime::watcher::Config::default());
    let mut objects = kube::runtime::WatchStreamExt::applied_objects(watcher).boxed();
    let creator = {
        let cms = cms.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            cms.create(&PostParams::default(), &configmap("live", json!({})))
                .await
                .unwrap();
        })
    };
    let seen = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(cm) = objects.try_next().await.unwrap() {
            if cm.metadata.name.as_deref() == Some("live") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap();
    creator.await.unwrap();
    assert!(seen);
}

#[tokio::test]
async fn patches_and_server_side_apply() {
    let cluster = TestCluster::start().await;
    let client = client(&cluster).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "app", "image": "app:1",
                                 "env": [{"name": "A", "value": "1"}]}]}});
    let ssa = PatchParams::apply("tester");
    pods.patch("p", &ssa, &Patch::Apply(&pod)).await.unwrap();
    let stored = cluster.get("v1", "Pod", "default", "p").unwrap();
    let managers: Vec<&str> = stored["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert!(managers.contains(&"tester"), "{managers:?}");

    // Strategic merge: containers and env merge by name.
    let smp = json!({"spec": {"containers": [{"name": "app", "env": [{"name": "B", "value": "2"}]},
                                              {"name": "proxy", "image": "envoy:1"}]}});
    let p = pods
        .patch("p", &PatchParams::default(), &Patch::Strategic(smp))
        .await
        .unwrap();
    let spec = p.spec.unwrap();
    assert_eq!(spec.containers.len(), 2);
    assert_eq!(spec.containers[0].env.as_ref().unwrap().len(), 2);

    // JSON patch and merge patch.
    let jp: json_patch::Patch = serde_json::from_value(json!([
        {"op": "add", "path": "/metadata/labels", "value": {"x": "1"}}]))
    .unwrap();
    pods.patch("p", &PatchParams::default(), &Patch::<()>::Json(jp))
        .await
        .unwrap();
    let p = pods
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"y": "2"}}})),
        )
        .await
        .unwrap();
    let labels = p.metadata.labels.unwrap();
    assert_eq!(labels.get("x").map(String::as_str), Some("1"));
    assert_eq!(labels.get("y").map(String::as_str), Some("2"));

    // Another manager changing an owned field conflicts unless forced.
    let other = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "app", "image": "app:2"}]}});
    let e = pods
        .patch("p", &PatchParams::apply("intruder"), &Patch::Apply(&other))
        .await
        .unwrap_err();
    assert_eq!(api_error(e), (409, "Conflict".to_string()));
    let forced = pods
        .patch(
            "p",
            &PatchParams::apply("intruder").force(),
            &Patch::Apply(&other),
        )
        .await
        .unwrap();
    assert_eq!(
        forced.spec.unwrap().containers[0].image.as_deref(),
        Some("app:2")
    );

    // The request log saw the apply with its content type and field manager.
    let log = cluster.request_log();
    let apply = log
        .iter()
        .find(|r| r.verb == "patch" && r.query_param("fieldManager").as_deref() == Some("intruder"))
        .unwrap();
    assert_eq!(
        apply.content_type.as_deref(),
        Some("application/apply-patch+yaml")
    );
    assert_eq!(apply.resource, "pods");
    assert_eq!(apply.status, 409);
}

#[tokio::test]
async fn access_reviews_and_forbidden() {
    let cluster = TestCluster::start().await;
    let client = client(&cluster).await;
    let reviews: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let review = |verb: &str, resource: &str, sub: &str| -> SelfSubjectAccessReview {
        serde_json::from_value(json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "subresource": sub, "namespace": "default"}}}))
        .unwrap()
    };
    let allowed = |r: SelfSubjectAccessReview| r.status.unwrap().allowed;
    assert!(allowed(
        reviews
            .create(
                &PostParams::default(),
                &review("create", "pods", "portforward")
            )
            .await
            .unwrap()
    ));
    cluster.set_access_rules(vec![
        AccessRule::deny("create", "pods/portforward"),
        AccessRule::deny("list", "secrets"),
    ]);
    assert!(!allowed(
        reviews
            .create(
                &PostParams::default(),
                &review("create", "pods", "portforward")
            )
            .await
            .unwrap()
    ));
    assert!(allowed(
        reviews
            .create(&PostParams::default(), &review("create", "pods", ""))
            .await
            .unwrap()
    ));

    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client, "default");
    let e = secrets.list(&ListParams::default()).await.unwrap_err();
    assert_eq!(api_error(e), (403, "Forbidden".to_string()));
}

#[tokio::test]
async fn faults_and_request_log() {
    let cluster = TestCluster::start().await;
    let client = client(&cluster).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    // A 500 surfaces as an API error.
    cluster.inject_fault(
        Fault::new(FaultKind::Status(500))
            .verb("list")
            .resource("configmaps")
            .times(1),
    );
    let e = cms.list(&ListParams::default()).await.unwrap_err();
    assert_eq!(api_error(e).0, 500);
    cms.list(&ListParams::default()).await.unwrap();

    // `after(1)`: the first matching request passes, the second fails.
    cluster.inject_fault(
        Fault::new(FaultKind::Status(500))
            .verb("list")
            .after(1)
            .times(1),
    );
    cms.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        api_error(cms.list(&ListParams::default()).await.unwrap_err()).0,
        500
    );
    cms.list(&ListParams::default()).await.unwrap();

    // 503 and 429 + Retry-After are retried by kube's default policy: one failure, then success.
    cluster.inject_fault(
        Fault::new(FaultKind::Status(503))
            .verb("get")
            .name("x")
            .times(1),
    );
    assert!(cms.get_opt("x").await.unwrap().is_none());
    cluster.inject_fault(
        Fault::new(FaultKind::RetryAfter(1))
            .verb("get")
            .name("y")
            .times(1),
    );
    assert!(cms.get_opt("y").await.unwrap().is_none());
    let gets: Vec<(String, u16)> = cluster
        .request_log()
        .iter()
        .filter(|r| r.verb == "get")
        .map(|r| (r.name.clone(), r.status))
        .collect();
    assert_eq!(
        gets,
        [
            ("x".into(), 503),
            ("x".into(), 404),
            ("y".into(), 429),
            ("y".into(), 404)
        ]
    );

    cluster.inject_fault(Fault::new(FaultKind::Drop).verb("create").times(1));
    let e = cms
        .create(&PostParams::default(), &configmap("d", json!({})))
        .await
        .unwrap_err();
    assert!(
        !matches!(e, kube::Error::Api(_)),
        "a dropped connection is not an API answer: {e:?}"
    );
    cms.create(&PostParams::default(), &configmap("d", json!({})))
        .await
        .unwrap();

    cluster.inject_fault(Fault::new(FaultKind::CutWatchAfter(1)).resource("configmaps"));
    let stream = cms.watch(&WatchParams::default(), "0").await.unwrap();
    let events: Vec<_> = stream.collect().await;
    assert_eq!(events.len(), 1, "the watch ends after one event");

    let log = cluster.request_log();
    let statuses: Vec<(String, u16)> = log.iter().map(|r| (r.verb.clone(), r.status)).collect();
    assert!(statuses.contains(&("list".to_string(), 500)));
    assert!(
        statuses.contains(&("create".to_string(), 0)),
        "dropped requests are logged with status 0"
    );
}

#[tokio::test]
async fn deployment_controller_owner_chain_and_cascade() {
    let cluster = TestCluster::start().await;
    let client = client(&cluster).await;
    cluster
        .apply_yaml(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n\
             apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n\
             spec:\n  replicas: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n\
             \x20   metadata:\n      labels: {app: web}\n    spec:\n      containers:\n\
             \x20     - name: web\n        image: nginx:1.27\n",
        )
        .await
        .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "shop");
    let ready = kube::runtime::wait::await_condition(
        deployments.clone(),
        "web",
        |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref())
                .is_some_and(|s| s.available_replicas == Some(2) && s.updated_replicas == Some(2))
        },
    );
    tokio::time::timeout(Duration::from_secs(20), ready)
        .await
        .unwrap()
        .unwrap();

    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let list = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 2);
    let pod = &list.items[0];
    let owner = &pod.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(owner.kind, "ReplicaSet");
    let rs: Api<ReplicaSet> = Api::namespaced(client.clone(), "shop");
    let rs = rs.get(&owner.name).await.unwrap();
    assert_eq!(rs.metadata.owner_references.unwrap()[0].kind, "Deployment");
    assert!(
        pod.metadata
            .labels
            .as_ref()
            .unwrap()
            .contains_key("pod-template-hash")
    );
    let status = pod.status.as_ref().unwrap();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert!(status.pod_ip.as_ref().unwrap().starts_with("10.244."));
    let running = pod.spec.as_ref().unwrap().node_name.clone();
    assert_eq!(running.as_deref(), Some("testcluster-node"));

    // A pod made unready drops availability.
    cluster.set_pod_ready("shop", pod.metadata.name.as_deref().unwrap(), false);
    let degraded = kube::runtime::wait::await_condition(
        deployments.clone(),
        "web",
        |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref())
                .is_some_and(|s| s.available_replicas == Some(1))
        },
    );
    tokio::time::timeout(Duration::from_secs(20), degraded)
        .await
        .unwrap()
        .unwrap();

    // Deleting the namespace finalizes it and removes everything in it.
    let namespaces: Api<Namespace> = Api::all(client);
    let uid = namespaces.get("shop").await.unwrap().metadata.uid.unwrap();
    namespaces
        .delete("shop", &DeleteParams::default())
        .await
        .unwrap();
    let gone = kube::runtime::wait::await_condition(
        namespaces,
        "shop",
        kube::runtime::wait::conditions::is_deleted(&uid),
    );
    tokio::time::timeout(Duration::from_secs(20), gone)
        .await
        .unwrap()
        .unwrap();
    assert!(cluster.list("v1", "Pod", Some("shop")).is_empty());
    assert!(
        cluster
            .list("apps/v1", "ReplicaSet", Some("shop"))
            .is_empty()
    );
}

/// An echo server standing in for a container port.
async fn echo_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn port_forward_reaches_the_registered_address() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let cluster = TestCluster::start().await;
    let client = client(&cluster).await;
    cluster
        .apply_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: envoy, namespace: default}\nspec: {containers: [{name: e, image: envoy:1}]}\n")
        .await
        .unwrap();
    cluster.register_port_forward("default", "envoy", 15000, echo_server().await);
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let mut pf = pods.portforward("envoy", &[15000]).await.unwrap();
    let mut stream = pf.take_stream(15000).unwrap();
    stream
        .write_all(b"ping through the API server")
        .await
        .unwrap();
    let mut buf = vec![0u8; 27];
    tokio::time::timeout(Duration::from_secs(20), stream.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"ping through the API server");
    drop(stream);
    pf.abort();

    // A pod that does not exist is a 404; a denied subresource is a 403.
    let e = pods.portforward("nope", &[15000]).await.err().unwrap();
    assert!(
        format!("{e:?}").contains("404") || format!("{e:?}").contains("NotFound"),
        "{e:?}"
    );
    cluster.set_access_rules(vec![AccessRule::deny("create", "pods/portforward")]);
    let e = pods.portforward("envoy", &[15000]).await.err().unwrap();
    assert!(
        format!("{e:?}").contains("403") || format!("{e:?}").contains("Forbidden"),
        "{e:?}"
    );
}

#[tokio::test]
async fn streaming_list_watcher_and_crds_through_discovery() {
    let cluster = TestCluster::start().await;
    let client = client(&cluster).await;
    cluster
        .apply_yaml(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n\
             metadata: {name: meshes.mesh.example.com}\nspec:\n  group: mesh.example.com\n\
             \x20 scope: Namespaced\n  names: {plural: meshes, singular: mesh, kind: Mesh}\n\
             \x20 versions:\n  - {name: v1, served: true, storage: true, subresources: {status: {}},\n\
             \x20    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}\n",
        )
        .await
        .unwrap();
    // kube's discovery finds the new kind, as meshctl's apply does.
    let gvk = kube::api::GroupVersionKind::gvk("mesh.example.com", "v1", "Mesh");
    let (resource, caps) = kube::discovery::pinned_kind(&client, &gvk).await.unwrap();
    assert_eq!(resource.plural, "meshes");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    let meshes: Api<kube::api::DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &resource);
    let obj: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "mesh.example.com/v1", "kind": "Mesh",
        "metadata": {"name": "m"}, "spec": {"mtls": true}}))
    .unwrap();
    meshes
        .patch("m", &PatchParams::apply("meshctl"), &Patch::Apply(&obj))
        .await
        .unwrap();
    let stored = meshes.get("m").await.unwrap();
    assert_eq!(stored.data["spec"]["mtls"], true);
    assert_eq!(stored.metadata.generation, Some(1));

    // Status writes do not bump generation; spec writes do.
    let mut with_status = stored.clone();
    with_status.data["status"] = json!({"phase": "Ready"});
    meshes
        .replace_status("m", &PostParams::default(), &with_status)
        .await
        .unwrap();
    let spec_change = meshes
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"mtls": false}})),
        )
        .await
        .unwrap();
    assert_eq!(spec_change.metadata.generation, Some(2));
    assert_eq!(spec_change.data["status"]["phase"], "Ready");

    // A streaming-list watcher (sendInitialEvents + bookmark) sees the existing object.
    let config = kube::runtime::watcher::Config::default().streaming_lists();
    let stream = kube::runtime::watcher(meshes.clone(), config);
    let mut objects = kube::runtime::WatchStreamExt::applied_objects(stream).boxed();
    let first = tokio::time::timeout(Duration::from_secs(20), objects.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("m"));
}

#[tokio::test]
async fn terminating_namespaces_refuse_new_objects() {
    let cluster = TestCluster::builder()
        .ready_delay(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let client = client(&cluster).await;
    cluster
        .apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: doomed}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: doomed, finalizers: [example.com/hold]}\n")
        .await
        .unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .unwrap();
    let ns = cluster
        .wait_for(
            "v1",
            "Namespace",
            "",
            "doomed",
            Duration::from_secs(20),
            |n| n["status"]["phase"] == "Terminating",
        )
        .await
        .unwrap();
    assert!(ns["metadata"]["deletionTimestamp"].is_string());
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    let e = cms
        .create(&PostParams::default(), &configmap("late", json!({})))
        .await
        .unwrap_err();
    assert_eq!(api_error(e), (403, "Forbidden".to_string()));
    // The finalizer holds the ConfigMap (and so the namespace) until it is removed.
    let held = cluster
        .wait_for(
            "v1",
            "ConfigMap",
            "doomed",
            "held",
            Duration::from_secs(20),
            |c| c["metadata"]["deletionTimestamp"].is_string(),
        )
        .await;
    assert!(held.is_some());
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    let gone = async {
        while cluster.get("v1", "Namespace", "", "doomed").is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), gone)
        .await
        .unwrap();
}

#[tokio::test]
async fn delay_fault_trips_client_timeouts() {
    let cluster = TestCluster::start().await;
    let kubeconfig = Kubeconfig::read_from(cluster.kubeconfig_path()).unwrap();
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    config.read_timeout = Some(Duration::from_millis(300));
    let impatient = Client::try_from(config).unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(impatient, "default");
    // Far beyond the client's timeout: the request cannot succeed in time.
    cluster.inject_fault(
        Fault::new(FaultKind::Delay(Duration::from_secs(30)))
            .verb("list")
            .times(1),
    );
    let e = cms.list(&ListParams::default()).await.unwrap_err();
    assert!(!matches!(e, kube::Error::Api(_)), "{e:?}");
    // The fault is used up: a client with ordinary timeouts lists fine.
    let normal: Api<ConfigMap> = Api::namespaced(client(&cluster).await, "default");
    normal.list(&ListParams::default()).await.unwrap();
}

#[tokio::test]
async fn seeded_pod_status_is_kept() {
    let cluster = TestCluster::start().await;
    cluster
        .apply_yaml(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: crashy, namespace: default}\n\
             spec: {containers: [{name: app, image: app:1}, {name: proxy, image: envoy:1}]}\n\
             status:\n  phase: Running\n  containerStatuses:\n\
             \x20 - {name: app, ready: true, restartCount: 0, image: app:1, imageID: '', state: {running: {}}}\n\
             \x20 - {name: proxy, ready: false, restartCount: 7, image: envoy:1, imageID: '',\n\
             \x20    state: {waiting: {reason: CrashLoopBackOff}}}\n",
        )
        .await
        .unwrap();
    let bound = cluster
        .wait_for(
            "v1",
            "Pod",
            "default",
            "crashy",
            Duration::from_secs(20),
            |p| p["spec"]["nodeName"].is_string(),
        )
        .await
        .unwrap();
    let proxy = &bound["status"]["containerStatuses"][1];
    assert_eq!(proxy["restartCount"], 7);
    assert_eq!(proxy["state"]["waiting"]["reason"], "CrashLoopBackOff");
    assert_eq!(
        bound["metadata"]["generation"], 1,
        "binding does not bump generation"
    );
}
