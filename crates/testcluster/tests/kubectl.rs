//! The real kubectl against the test server: its acceptance test.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use testcluster::{AccessRule, TestCluster};

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// kubectl from $MESHCTL_KUBECTL, else /work/venv/bin/kubectl or .venv/bin/kubectl. Under CI a
/// missing kubectl fails the test; elsewhere the test says it skipped.
fn kubectl_bin() -> Option<PathBuf> {
    let candidates = std::env::var_os("MESHCTL_KUBECTL")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [
                "/work/venv/bin/kubectl",
                "../../.venv/bin/kubectl",
                ".venv/bin/kubectl",
            ]
            .map(PathBuf::from),
        );
    for c in candidates {
        if c.exists() {
            return Some(c);
        }
    }
    if in_ci() {
        panic!("prerequisite missing under CI: kubectl (set MESHCTL_KUBECTL)");
    }
    eprintln!("SKIPPED: kubectl not found (set MESHCTL_KUBECTL)");
    None
}

struct Kubectl {
    bin: PathBuf,
    cluster: TestCluster,
    cache: PathBuf,
}

impl Kubectl {
    fn start() -> Option<Kubectl> {
        let bin = kubectl_bin()?;
        let cluster = TestCluster::start_blocking();
        let cache = cluster.kubeconfig_path().with_file_name("kube-cache");
        Some(Kubectl {
            bin,
            cluster,
            cache,
        })
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("KUBECONFIG", self.cluster.kubeconfig_path())
            .env("KUBECACHEDIR", &self.cache)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn kubectl");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// Runs and requires success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_in(args, None)
    }

    fn ok_in(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.success(),
            "kubectl {args:?} failed\nstdout: {stdout}\nstderr: {stderr}"
        );
        stdout.into_owned()
    }

    /// Runs and requires failure; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args, None);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "kubectl {args:?} should fail; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
";

#[test]
fn version_and_discovery() {
    let Some(k) = Kubectl::start() else { return };
    let v = k.json(&["version"]);
    assert_eq!(v["serverVersion"]["gitVersion"], testcluster::GIT_VERSION);
    let resources = k.ok(&["api-resources"]);
    for needle in [
        "pods",
        "deployments",
        "mutatingwebhookconfigurations",
        "selfsubjectaccessreviews",
        "leases",
        "poddisruptionbudgets",
        "customresourcedefinitions",
        "rolebindings",
        "jobs",
    ] {
        assert!(
            resources.contains(needle),
            "api-resources lacks {needle}:\n{resources}"
        );
    }
    let versions = k.ok(&["api-versions"]);
    for gv in [
        "v1",
        "apps/v1",
        "batch/v1",
        "rbac.authorization.k8s.io/v1",
        "admissionregistration.k8s.io/v1",
        "policy/v1",
        "apiextensions.k8s.io/v1",
        "authorization.k8s.io/v1",
        "coordination.k8s.io/v1",
    ] {
        assert!(versions.lines().any(|l| l == gv), "api-versions lacks {gv}");
    }
    let err = k.fails(&["get", "--raw", "/apis/nope.example.com/v1"]);
    assert!(
        err.contains("NotFound") || err.contains("not find"),
        "{err}"
    );
    // Subresources are discoverable.
    let core: Value = serde_json::from_str(&k.ok(&["get", "--raw", "/api/v1"])).unwrap();
    let names: Vec<&str> = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"pods/portforward") && names.contains(&"namespaces/finalize"));
}

#[test]
fn create_get_describe_delete() {
    let Some(k) = Kubectl::start() else { return };
    assert!(
        k.ok(&["create", "namespace", "shop"])
            .contains("namespace/shop created")
    );
    k.ok_in(&["create", "-f", "-"], Some("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n    targetPort: 8080\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  a: b\n"));
    let svc = k.json(&["get", "svc", "web", "-n", "shop"]);
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .unwrap()
            .starts_with("10.96.")
    );
    assert_eq!(svc["metadata"]["uid"].as_str().unwrap().len(), 36);
    assert!(
        svc["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    let table = k.ok(&["get", "svc", "-n", "shop"]);
    assert!(
        table.contains("CLUSTER-IP") && table.contains("web"),
        "{table}"
    );
    let described = k.ok(&["describe", "svc", "web", "-n", "shop"]);
    assert!(
        described.contains("Selector:") && described.contains("app=web"),
        "{described}"
    );

    // Typed creation (protobuf bodies) works too.
    k.ok(&[
        "create",
        "configmap",
        "literal",
        "-n",
        "shop",
        "--from-literal=k=v",
    ]);
    assert_eq!(
        k.cluster.get("v1", "ConfigMap", "shop", "literal").unwrap()["data"]["k"],
        "v"
    );
    k.ok(&[
        "create",
        "deployment",
        "api",
        "-n",
        "shop",
        "--image=api:1",
        "--replicas=1",
    ]);
    assert!(
        k.cluster
            .get("apps/v1", "Deployment", "shop", "api")
            .is_some()
    );

    k.ok(&[
        "create",
        "service",
        "clusterip",
        "api",
        "-n",
        "shop",
        "--tcp=80:8080",
    ]);
    let api = k.cluster.get("v1", "Service", "shop", "api").unwrap();
    assert_eq!(api["spec"]["ports"][0]["targetPort"], 8080);
    k.ok(&[
        "create",
        "job",
        "once",
        "-n",
        "shop",
        "--image=busybox",
        "--",
        "true",
    ]);
    k.ok(&[
        "wait",
        "--for=condition=complete",
        "job/once",
        "-n",
        "shop",
        "--timeout=60s",
    ]);

    // Server-side dry run stores nothing.
    k.ok(&[
        "create",
        "configmap",
        "dry",
        "-n",
        "shop",
        "--from-literal=k=v",
        "--dry-run=server",
    ]);
    assert!(k.cluster.get("v1", "ConfigMap", "shop", "dry").is_none());

    assert!(
        k.ok(&["delete", "configmap", "settings", "-n", "shop"])
            .contains("deleted")
    );
    let err = k.fails(&["get", "configmap", "settings", "-n", "shop"]);
    assert!(
        err.contains("NotFound") && err.contains("configmaps \"settings\" not found"),
        "{err}"
    );
    let err = k.fails(&["create", "namespace", "shop"]);
    assert!(err.contains("AlreadyExists"), "{err}");
}

#[test]
fn apply_client_side_and_server_side() {
    let Some(k) = Kubectl::start() else { return };
    k.ok(&["create", "namespace", "shop"]);
    assert!(
        k.ok_in(&["apply", "-f", "-"], Some(DEPLOYMENT))
            .contains("created")
    );
    assert!(
        k.ok_in(&["apply", "-f", "-"], Some(DEPLOYMENT))
            .contains("unchanged")
    );
    let changed = DEPLOYMENT.replace("replicas: 2", "replicas: 3");
    assert!(
        k.ok_in(&["apply", "-f", "-"], Some(&changed))
            .contains("configured")
    );
    let d = k
        .cluster
        .get("apps/v1", "Deployment", "shop", "web")
        .unwrap();
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["metadata"]["generation"], 2);
    assert!(
        d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );

    // A client-side apply that puts a sidecar first keeps that order (kubectl's $setElementOrder).
    let sidecar_first = changed.replace(
        "      containers:\n      - name: web",
        "      containers:\n      - name: proxy\n        image: envoy:1\n      - name: web",
    );
    assert!(
        k.ok_in(&["apply", "-f", "-"], Some(&sidecar_first))
            .contains("configured")
    );
    let d = k
        .cluster
        .get("apps/v1", "Deployment", "shop", "web")
        .unwrap();
    let names: Vec<&str> = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["proxy", "web"]);

    // Server-side apply: a second manager changing replicas conflicts, --force-conflicts wins.
    let ssa = DEPLOYMENT.replace("replicas: 2", "replicas: 5");
    let out = k.run(
        &["apply", "--server-side", "--field-manager=ops", "-f", "-"],
        Some(&ssa),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("conflict") && err.contains(".spec.replicas"),
        "{err}"
    );
    let out = k.ok_in(
        &[
            "apply",
            "--server-side",
            "--field-manager=ops",
            "--force-conflicts",
            "-f",
            "-",
        ],
        Some(&ssa),
    );
    assert!(out.contains("serverside-applied"), "{out}");
    let d = k.json(&[
        "get",
        "deploy",
        "web",
        "-n",
        "shop",
        "--show-managed-fields",
    ]);
    assert_eq!(d["spec"]["replicas"], 5);
    let ops = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["manager"] == "ops")
        .unwrap();
    assert_eq!(ops["operation"], "Apply");
    assert!(ops["fieldsV1"]["f:spec"]["f:replicas"].is_object());
}

#[test]
fn patch_strategic_merge_json() {
    let Some(k) = Kubectl::start() else { return };
    k.ok(&["create", "namespace", "shop"]);
    k.ok_in(&["apply", "-f", "-"], Some(DEPLOYMENT));
    k.ok(&["patch", "deploy", "web", "-n", "shop", "--type=strategic", "-p",
           r#"{"spec":{"template":{"spec":{"containers":[{"name":"proxy","image":"envoy:1"},{"name":"web","env":[{"name":"A","value":"1"}]}]}}}}"#]);
    k.ok(&[
        "patch",
        "deploy",
        "web",
        "-n",
        "shop",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"tier":"front"}}}"#,
    ]);
    k.ok(&[
        "patch",
        "deploy",
        "web",
        "-n",
        "shop",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
    ]);
    let d = k
        .cluster
        .get("apps/v1", "Deployment", "shop", "web")
        .unwrap();
    let containers = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = containers
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "proxy"]);
    assert_eq!(
        containers[0]["image"], "nginx:1.27",
        "merge by name keeps the other fields"
    );
    assert_eq!(containers[0]["env"][0]["name"], "A");
    assert_eq!(d["metadata"]["labels"]["tier"], "front");
    assert_eq!(d["metadata"]["labels"]["app"], "web");
    assert_eq!(d["spec"]["replicas"], 4);
    let err = k.fails(&[
        "patch",
        "deploy",
        "web",
        "-n",
        "shop",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/nope"}]"#,
    ]);
    assert!(
        err.contains("Invalid") || err.contains("invalid") || err.contains("nope"),
        "{err}"
    );
}

#[test]
fn auth_can_i_follows_access_rules() {
    let Some(k) = Kubectl::start() else { return };
    assert_eq!(
        k.ok(&[
            "auth",
            "can-i",
            "create",
            "pods",
            "--subresource=portforward",
            "-n",
            "default"
        ])
        .trim(),
        "yes"
    );
    k.cluster.set_access_rules(vec![
        AccessRule::deny("create", "pods/portforward"),
        AccessRule::deny("delete", "namespaces"),
    ]);
    let out = k.run(
        &[
            "auth",
            "can-i",
            "create",
            "pods",
            "--subresource=portforward",
            "-n",
            "default",
        ],
        None,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(k.ok(&["auth", "can-i", "get", "pods"]).trim(), "yes");
    assert!(k.ok(&["auth", "whoami"]).contains(testcluster::ADMIN_USER));
    assert!(k.ok(&["auth", "can-i", "--list"]).contains("*.*"));
    let err = k.fails(&["delete", "namespace", "default"]);
    assert!(
        err.contains("Forbidden") && err.contains("cannot delete resource \"namespaces\""),
        "{err}"
    );
    assert!(k.cluster.get("v1", "Namespace", "", "default").is_some());
}

#[test]
fn rollout_status_for_workloads() {
    let Some(k) = Kubectl::start() else { return };
    k.ok(&["create", "namespace", "shop"]);
    let sts = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: shop}\nspec:\n  serviceName: db\n  replicas: 2\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: [{name: db, image: postgres:16}]}\n";
    let ds = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: shop}\nspec:\n  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n    spec: {containers: [{name: agent, image: agent:1}]}\n";
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate, namespace: shop}\nspec:\n  completions: 2\n  template:\n    spec: {restartPolicy: Never, containers: [{name: m, image: m:1}]}\n";
    k.ok_in(
        &["apply", "-f", "-"],
        Some(&format!("{DEPLOYMENT}---\n{sts}---\n{ds}---\n{job}")),
    );
    for target in ["deployment/web", "statefulset/db", "daemonset/agent"] {
        let out = k.ok(&["rollout", "status", target, "-n", "shop", "--timeout=60s"]);
        assert!(
            out.contains("successfully rolled out") || out.contains("roll out complete"),
            "{target}: {out}"
        );
    }
    k.ok(&[
        "wait",
        "--for=condition=complete",
        "job/migrate",
        "-n",
        "shop",
        "--timeout=60s",
    ]);
    assert!(
        k.cluster.get("v1", "Pod", "shop", "db-0").is_some()
            && k.cluster.get("v1", "Pod", "shop", "db-1").is_some()
    );
    let pods = k.ok(&[
        "get",
        "pods",
        "-n",
        "shop",
        "-l",
        "app=web",
        "--field-selector",
        "status.phase=Running",
        "-o",
        "name",
    ]);
    assert_eq!(pods.lines().count(), 2, "{pods}");

    // A new template rolls out a new ReplicaSet; the old one scales to zero.
    k.ok(&[
        "set",
        "image",
        "deployment/web",
        "web=nginx:1.28",
        "-n",
        "shop",
    ]);
    k.ok(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        "shop",
        "--timeout=60s",
    ]);
    let rs = k.json(&["get", "rs", "-n", "shop", "-l", "app=web"]);
    let mut replicas: Vec<i64> = rs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["spec"]["replicas"].as_i64().unwrap())
        .collect();
    replicas.sort();
    assert_eq!(replicas, [0, 2]);
}

#[test]
fn namespace_deletion_finalizes_and_removes_contents() {
    let Some(k) = Kubectl::start() else { return };
    k.ok(&["create", "namespace", "shop"]);
    k.ok_in(&["apply", "-f", "-"], Some(DEPLOYMENT));
    k.ok(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        "shop",
        "--timeout=60s",
    ]);
    let out = k.ok(&["delete", "namespace", "shop", "--timeout=60s"]);
    assert!(out.contains("deleted"), "{out}");
    let err = k.fails(&["get", "namespace", "shop"]);
    assert!(err.contains("NotFound"), "{err}");
    assert!(k.cluster.list("v1", "Pod", Some("shop")).is_empty());
    assert!(
        k.cluster
            .list("apps/v1", "Deployment", Some("shop"))
            .is_empty()
    );

    // Deleting a deployment cascades to its ReplicaSets and pods.
    k.ok(&["create", "namespace", "shop2"]);
    k.ok_in(
        &["apply", "-f", "-"],
        Some(&DEPLOYMENT.replace("namespace: shop", "namespace: shop2")),
    );
    k.ok(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        "shop2",
        "--timeout=60s",
    ]);
    k.ok(&[
        "delete",
        "deployment",
        "web",
        "-n",
        "shop2",
        "--cascade=foreground",
        "--timeout=60s",
    ]);
    k.ok(&[
        "wait",
        "--for=delete",
        "pods",
        "-l",
        "app=web",
        "-n",
        "shop2",
        "--timeout=60s",
    ]);
    assert!(
        k.cluster
            .list("apps/v1", "ReplicaSet", Some("shop2"))
            .is_empty()
    );
}

#[test]
fn port_forward_to_a_registered_address() {
    use std::io::{BufRead, BufReader, Read};
    let Some(k) = Kubectl::start() else { return };
    // An echo server as the pod's port 8080.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut copy = conn.try_clone().unwrap();
                let _ = std::io::copy(&mut conn, &mut copy);
            });
        }
    });
    k.ok_in(&["apply", "-f", "-"], Some("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default}\nspec: {containers: [{name: w, image: w:1}]}\n"));
    k.cluster
        .register_port_forward("default", "web", 8080, target);
    let mut child = Command::new(&k.bin)
        .args(["port-forward", "pod/web", ":8080", "--address", "127.0.0.1"])
        .env("KUBECONFIG", k.cluster.kubeconfig_path())
        .env("KUBECACHEDIR", &k.cache)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    // "Forwarding from 127.0.0.1:PORT -> 8080"
    let port: u16 = line
        .split(':')
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected kubectl output: {line}"));
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    conn.write_all(b"hello pod").unwrap();
    let mut buf = [0u8; 9];
    conn.read_exact(&mut buf).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(&buf, b"hello pod");
}

#[test]
fn get_watch_streams_table_rows_until_the_timeout() {
    let Some(k) = Kubectl::start() else { return };
    let child = Command::new(&k.bin)
        .args(["get", "pods", "-w", "--request-timeout=5s", "-n", "default"])
        .env("KUBECONFIG", k.cluster.kubeconfig_path())
        .env("KUBECACHEDIR", &k.cache)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    k.cluster
        .apply_yaml_blocking("apiVersion: v1\nkind: Pod\nmetadata: {name: watched, namespace: default}\nspec: {containers: [{name: w, image: w:1}]}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("NAME") && stdout.contains("STATUS"),
        "{stdout}"
    );
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("watched"))
        .collect();
    assert!(
        rows.last()
            .is_some_and(|r| r.contains("Running") && r.contains("1/1")),
        "{stdout}"
    );
}
