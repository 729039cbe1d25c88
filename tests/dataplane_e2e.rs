//! End-to-end data-plane tests: real `meshctl proxy-init`, real iptables and a real Envoy as uid
//! 1337 in a "pod" network namespace, driven from a "client" namespace over a veth pair.
//! Needs root, iptables, iproute2, setpriv, python3 and Envoy (under CI a missing one fails).

mod support;

#[path = "dataplane_e2e/harness.rs"]
mod harness;

use harness::{CLIENT_IP, CLIENT_IP2, CLIENT_IP6, Lab, POD_IP, POD_IP6, header, json_body};

#[test]
fn http_and_tcp_go_through_the_sidecar_untouched() {
    let Some(mut lab) = Lab::new() else { return };
    let (pod, client) = (lab.pod_ns.clone(), lab.client_ns.clone());
    lab.start_app(&pod, &["--http", "8080", "--echo", "9000"]);
    lab.start_app(&client, &["--http", "8080"]);
    lab.proxy_init_ok(&[]);
    lab.start_envoy();

    // Inbound HTTP: through Envoy (stats move, the app sees the pod IP as its peer), and
    // untouched (the app's Server header, no x-envoy-* either way, no invented x-request-id).
    let before = lab.stat("http.inbound.downstream_rq_total");
    let r = lab.http(&client, "GET", &format!("http://{POD_IP}:8080/echo"), &[]);
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(lab.stat("http.inbound.downstream_rq_total"), before + 1);
    let seen = json_body(&r);
    assert_eq!(
        seen["peer"], POD_IP,
        "inbound should arrive from Envoy: {seen}"
    );
    assert_eq!(header(&r, "server"), ["meshctl-test-app"], "{r}");
    assert_eq!(header(&r, "x-app"), ["yes"]);
    let response_headers = r["headers"].to_string();
    let request_headers = seen["headers"].to_string();
    assert!(!response_headers.contains("x-envoy"), "{response_headers}");
    assert!(!request_headers.contains("x-envoy"), "{request_headers}");
    assert!(
        !request_headers.contains("x-request-id"),
        "{request_headers}"
    );

    // HTTP/1.0 is accepted (Envoy's default answers 426).
    let r = lab.http(
        &client,
        "GET",
        &format!("http://{POD_IP}:8080/echo"),
        &["--http10"],
    );
    assert_eq!(r["status"], 200, "{r}");
    // (Envoy speaks HTTP/1.1 to the app; the client gets its HTTP/1.0 answer.)
    let r = lab.http(
        &client,
        "GET",
        &format!("http://{POD_IP}:8080/echo"),
        &["--http10", "--header", "Host: web.shop"],
    );
    assert_eq!(r["status"], 200, "{r}");
    assert!(
        json_body(&r)["headers"].to_string().contains("web.shop"),
        "{r}"
    );
    assert_eq!(lab.stat("http.inbound.downstream_rq_total"), before + 3);

    // WebSocket upgrades pass (Envoy refuses upgrades it is not configured for).
    let before = lab.stat("http.inbound.downstream_rq_total");
    let r = lab.upgrade(&client, &format!("http://{POD_IP}:8080/ws"), "frame bytes");
    assert_eq!(r["status"], 101, "{r}");
    assert_eq!(r["echoed"], "frame bytes", "{r}");
    assert_eq!(lab.stat("http.inbound.downstream_rq_total"), before + 1);

    // Outbound HTTP from the app: through Envoy.
    let before = lab.stat("http.outbound.downstream_rq_total");
    let r = lab.http(&pod, "GET", &format!("http://{CLIENT_IP}:8080/echo"), &[]);
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(lab.stat("http.outbound.downstream_rq_total"), before + 1);
    assert!(!r["headers"].to_string().contains("x-envoy"));

    // Non-HTTP TCP passes through tcp_proxy, both ways.
    let before = lab.stat("tcp.inbound_tcp.downstream_cx_total");
    let r = lab.tcp(&client, POD_IP, 9000, "not http at all\n");
    assert_eq!(r["received"], "not http at all\n", "{r}");
    assert_eq!(lab.stat("tcp.inbound_tcp.downstream_cx_total"), before + 1);

    // Dialling the inbound port directly hits the loop guard, not an endless self-connect.
    let before = lab.stat("tcp.inbound_blackhole.downstream_cx_total");
    let _ = lab.tcp(&client, POD_IP, 15006, "loop?\n");
    assert_eq!(
        lab.stat("tcp.inbound_blackhole.downstream_cx_total"),
        before + 1
    );

    // :15090 serves exactly GET /stats/prometheus and GET /ready, and is never captured.
    let inbound_before = lab.stat("http.inbound.downstream_rq_total");
    let metrics = |method: &str, path: &str| {
        lab.http(
            &client,
            method,
            &format!("http://{POD_IP}:15090{path}"),
            &[],
        )
    };
    let r = metrics("GET", "/stats/prometheus");
    assert_eq!(r["status"], 200, "{r}");
    assert!(
        r["body"]
            .as_str()
            .unwrap()
            .contains("envoy_http_downstream_rq_time_bucket"),
        "no rq_time histogram in the scrape"
    );
    assert_eq!(metrics("GET", "/ready")["status"], 200);
    for (method, path) in [
        ("GET", "/config_dump"),
        ("GET", "/stats"),
        ("POST", "/ready"),
        ("POST", "/healthcheck/fail"),
        ("POST", "/quitquitquit"),
        ("GET", "/"),
    ] {
        assert_eq!(metrics(method, path)["status"], 404, "{method} {path}");
    }
    assert_eq!(
        lab.stat("http.inbound.downstream_rq_total"),
        inbound_before,
        "scrapes of :15090 must not count as app traffic"
    );
    // The admin port is not reachable from outside the pod.
    let r = lab.http(
        &client,
        "GET",
        &format!("http://{POD_IP}:15000/config_dump"),
        &[],
    );
    assert_ne!(r["status"], 200, "{r}");
    // Still ready after all that (nothing above reached the admin's mutating endpoints).
    assert_eq!(metrics("GET", "/ready")["status"], 200);
}

#[test]
fn server_first_protocol_on_an_opaque_port_is_not_held_by_detection() {
    let Some(mut lab) = Lab::new() else { return };
    let (pod, client) = (lab.pod_ns.clone(), lab.client_ns.clone());
    lab.start_app(&pod, &["--banner", "3306", "--banner", "2525"]);
    lab.proxy_init_ok(&["--opaque-ports", "3306"]);
    lab.start_envoy();

    let r = lab.banner(&client, POD_IP, 3306);
    assert_eq!(r["banner"], "220 meshctl-test ESMTP ready\r\n", "{r}");
    // It went straight to tcp_proxy on the opaque chain; protocol detection never waited.
    assert_eq!(lab.stat("tcp.inbound_opaque.downstream_cx_total"), 1);
    assert_eq!(
        lab.stat("listener.0.0.0.0_15006.downstream_pre_cx_timeout"),
        0
    );

    // The same server on a port nobody marked opaque still works, but only after detection gave
    // up: that is the delay opaque ports avoid.
    let r = lab.banner(&client, POD_IP, 2525);
    assert_eq!(r["banner"], "220 meshctl-test ESMTP ready\r\n", "{r}");
    assert_eq!(
        lab.stat("listener.0.0.0.0_15006.downstream_pre_cx_timeout"),
        1
    );
    assert_eq!(lab.stat("tcp.inbound_opaque.downstream_cx_total"), 1);
}

#[test]
fn skip_lists_are_honoured() {
    let Some(mut lab) = Lab::new() else { return };
    let (pod, client) = (lab.pod_ns.clone(), lab.client_ns.clone());
    lab.start_app(&pod, &["--http", "8080", "--http", "8081"]);
    lab.start_app(&client, &["--http", "8080", "--http", "8082"]);
    lab.proxy_init_ok(&[
        "--skip-inbound-ports",
        "8081",
        "--skip-outbound-ports",
        "8082",
        "--skip-outbound-cidrs",
        &format!("{CLIENT_IP2}/32"),
    ]);
    lab.start_envoy();

    // Inbound: 8080 through Envoy (peer is the pod IP), 8081 straight to the app (real client).
    let inbound = lab.stat("http.inbound.downstream_rq_total");
    let r = lab.http(&client, "GET", &format!("http://{POD_IP}:8081/echo"), &[]);
    assert_eq!(json_body(&r)["peer"], CLIENT_IP, "{r}");
    assert_eq!(lab.stat("http.inbound.downstream_rq_total"), inbound);
    let r = lab.http(&client, "GET", &format!("http://{POD_IP}:8080/echo"), &[]);
    assert_eq!(json_body(&r)["peer"], POD_IP, "{r}");
    assert_eq!(lab.stat("http.inbound.downstream_rq_total"), inbound + 1);

    // Outbound: skipped port and skipped CIDR bypass Envoy; the control request does not.
    let outbound = lab.stat("http.outbound.downstream_rq_total");
    for url in [
        format!("http://{CLIENT_IP}:8082/echo"),
        format!("http://{CLIENT_IP2}:8080/echo"),
    ] {
        let r = lab.http(&pod, "GET", &url, &[]);
        assert_eq!(r["status"], 200, "{url}: {r}");
    }
    assert_eq!(lab.stat("http.outbound.downstream_rq_total"), outbound);
    let r = lab.http(&pod, "GET", &format!("http://{CLIENT_IP}:8080/echo"), &[]);
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(lab.stat("http.outbound.downstream_rq_total"), outbound + 1);
}

#[test]
fn retries_and_the_request_timeout_apply_to_outbound_requests() {
    let Some(mut lab) = Lab::new() else { return };
    let (pod, client) = (lab.pod_ns.clone(), lab.client_ns.clone());
    lab.start_app(&client, &["--http", "8080"]);
    lab.start_app(&pod, &["--http", "8080"]);
    lab.proxy_init_ok(&["--retries", "2", "--request-timeout", "1s"]);
    lab.start_envoy();

    // The outbound request timeout cuts a slow destination (Envoy answers 504)...
    let r = lab.http(
        &pod,
        "GET",
        &format!("http://{CLIENT_IP}:8080/slow?ms=3000"),
        &[],
    );
    assert_eq!(r["status"], 504, "{r}");
    // ...but never inbound requests: the app takes as long as it takes.
    let r = lab.http(
        &client,
        "GET",
        &format!("http://{POD_IP}:8080/slow?ms=1500"),
        &[],
    );
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(lab.stat("cluster.PassthroughCluster.upstream_rq_retry"), 0);

    // Two 503s, then success: an idempotent GET is retried and the app sees a 200.
    let r = lab.http(
        &pod,
        "GET",
        &format!("http://{CLIENT_IP}:8080/flaky/get?fail=2"),
        &[],
    );
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(json_body(&r)["attempt"], 3);
    assert_eq!(lab.stat("cluster.PassthroughCluster.upstream_rq_retry"), 2);

    // Three 503s exceed two retries: the app sees the 503.
    let r = lab.http(
        &pod,
        "GET",
        &format!("http://{CLIENT_IP}:8080/flaky/many?fail=3"),
        &[],
    );
    assert_eq!(r["status"], 503, "{r}");

    // A POST is not retried on 503 (it may not be idempotent).
    let retries = lab.stat("cluster.PassthroughCluster.upstream_rq_retry");
    let r = lab.http(
        &pod,
        "POST",
        &format!("http://{CLIENT_IP}:8080/flaky/post?fail=1"),
        &[],
    );
    assert_eq!(r["status"], 503, "{r}");
    assert_eq!(
        lab.stat("cluster.PassthroughCluster.upstream_rq_retry"),
        retries
    );
}

#[test]
fn rerunning_proxy_init_changes_nothing_and_leaves_other_rules_alone() {
    let Some(lab) = Lab::new() else { return };
    // Someone else's rules, in nat and filter: they must survive untouched.
    lab.run_in_pod(&[
        "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "udp", "-j", "RETURN",
    ]);
    lab.run_in_pod(&[
        "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT",
    ]);
    let filter_before = lab.run_in_pod(&["iptables-save", "-t", "filter"]).stdout;

    let args = [
        "--skip-inbound-ports",
        "22,8000-8100",
        "--pod-ips",
        &format!("{POD_IP},fd00:77::2"),
    ];
    lab.proxy_init_ok(&args);
    let first_v4 = lab.nat_rules("iptables-save");
    let first_v6 = lab.nat_rules("ip6tables-save");
    lab.proxy_init_ok(&args);
    assert_eq!(lab.nat_rules("iptables-save"), first_v4);
    assert_eq!(lab.nat_rules("ip6tables-save"), first_v6);

    assert_eq!(
        first_v4.matches("-j MESHCTL_INBOUND").count(),
        1,
        "{first_v4}"
    );
    assert!(
        first_v4.contains("-A OUTPUT -p udp -j RETURN"),
        "{first_v4}"
    );
    assert!(first_v4.contains("--dports 8000:8100") || first_v4.contains("--dport 8000:8100"));
    assert!(
        first_v6.contains("-A MESHCTL_OUTPUT -d ::1/128 -j RETURN"),
        "{first_v6}"
    );
    let chains: Vec<&str> = first_v4
        .lines()
        .filter(|l| l.starts_with(':'))
        .filter(|l| {
            !["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]
                .iter()
                .any(|b| l[1..].starts_with(b))
        })
        .collect();
    assert!(
        chains.iter().all(|c| c.starts_with(":MESHCTL_")),
        "{chains:?}"
    );

    let filter_after = lab.run_in_pod(&["iptables-save", "-t", "filter"]).stdout;
    let strip = |b: &[u8]| -> String {
        String::from_utf8_lossy(b)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect()
    };
    assert_eq!(strip(&filter_after), strip(&filter_before));
}

#[test]
fn a_refused_ipv6_restore_rolls_back_ipv4() {
    let Some(lab) = Lab::new() else { return };
    // Real IPv4 tools, an ip6tables-restore that refuses.
    let bin = lab.path("bin");
    std::fs::create_dir(&bin).unwrap();
    for tool in [
        "iptables-nft-restore",
        "iptables-nft-save",
        "ip6tables-nft-save",
    ] {
        let real = support::which(tool).expect("iptables installed");
        std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
    }
    let fake = bin.join("ip6tables-nft-restore");
    std::fs::write(
        &fake,
        "#!/bin/sh\ncase \"$1\" in --version) echo 'ip6tables-restore v1.8.9 (nf_tables)';; \
         *) while read -r l; do :; done; echo 'ip6tables-restore: line 3 failed' >&2; exit 1;; esac\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let failing_run = |skip: &str| {
        let out = lab
            .in_ns(&lab.pod_ns)
            .env("PATH", &bin)
            .arg(env!("CARGO_BIN_EXE_meshctl"))
            .args([
                "proxy-init",
                "--iptables-backend",
                "nft",
                "--skip-inbound-ports",
                skip,
                "--pod-ips",
                &format!("{POD_IP},fd00:77::2"),
                "--bootstrap-out",
            ])
            .arg(lab.path("envoy.yaml"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("ip6tables-nft-restore refused the IPv6 rules"),
            "{stderr}"
        );
        assert!(stderr.contains("line 3 failed"), "{stderr}");
    };

    // First run: nothing of ours before, nothing of ours after.
    failing_run("22");
    let after = lab.nat_rules("iptables-save");
    assert!(
        !after.contains("MESHCTL"),
        "IPv4 rules were left behind:\n{after}"
    );

    // A re-run that fails keeps the previous run's rules exactly.
    lab.proxy_init_ok(&["--skip-inbound-ports", "22"]);
    let previous = lab.nat_rules("iptables-save");
    failing_run("23");
    assert_eq!(lab.nat_rules("iptables-save"), previous);
}

#[test]
fn dual_stack_pods_capture_ipv6_too() {
    let Some(mut lab) = Lab::new() else { return };
    lab.add_ipv6();
    let (pod, client) = (lab.pod_ns.clone(), lab.client_ns.clone());
    lab.start_app(&pod, &["--http", "8080", "--http6", "8080"]);
    lab.start_app(&client, &["--http6", "8080"]);
    lab.proxy_init_ok(&["--pod-ips", &format!("{POD_IP},{POD_IP6}")]);
    lab.start_envoy();

    let before = lab.stat("http.inbound.downstream_rq_total");
    // `meshctl stat` counts connections with the listener's stats, named by the IPv4 address.
    let listener_before = lab.stat("listener.0.0.0.0_15006.downstream_cx_total");
    let r = lab.http(
        &client,
        "GET",
        &format!("http://[{POD_IP6}]:8080/echo"),
        &[],
    );
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(
        json_body(&r)["peer"],
        POD_IP6,
        "inbound IPv6 should arrive from Envoy"
    );
    assert_eq!(lab.stat("http.inbound.downstream_rq_total"), before + 1);
    assert_eq!(
        lab.stat("listener.0.0.0.0_15006.downstream_cx_total"),
        listener_before + 1
    );

    let before = lab.stat("http.outbound.downstream_rq_total");
    let r = lab.http(
        &pod,
        "GET",
        &format!("http://[{CLIENT_IP6}]:8080/echo"),
        &[],
    );
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(lab.stat("http.outbound.downstream_rq_total"), before + 1);

    // IPv4 still works alongside.
    let r = lab.http(&client, "GET", &format!("http://{POD_IP}:8080/echo"), &[]);
    assert_eq!(json_body(&r)["peer"], POD_IP, "{r}");
    // The metrics port answers on IPv6 as well (kubelet probes a v6-only pod there).
    let r = lab.http(
        &client,
        "GET",
        &format!("http://[{POD_IP6}]:15090/ready"),
        &[],
    );
    assert_eq!(r["status"], 200, "{r}");
}

#[test]
fn shutdown_fails_readiness_keeps_serving_then_exits_on_sigterm() {
    let Some(mut lab) = Lab::new() else { return };
    let (pod, client) = (lab.pod_ns.clone(), lab.client_ns.clone());
    lab.start_app(&pod, &["--http", "8080"]);
    lab.proxy_init_ok(&["--drain-time", "2s"]);
    lab.start_envoy();

    // Draining (what a preStop hook or the admin does): readiness fails so endpoints drop the
    // pod, while requests still in the pipeline keep being served.
    let r = lab.http(&pod, "POST", "http://127.0.0.1:15000/healthcheck/fail", &[]);
    assert_eq!(r["status"], 200, "{r}");
    let r = lab.http(&client, "GET", &format!("http://{POD_IP}:15090/ready"), &[]);
    assert_eq!(r["status"], 503, "{r}");
    let r = lab.http(&client, "GET", &format!("http://{POD_IP}:8080/echo"), &[]);
    assert_eq!(r["status"], 200, "{r}");

    // With native sidecars the kubelet sends SIGTERM only after the app exited; Envoy must then
    // exit cleanly by itself, or a Job's pod would never complete.
    let status = lab.terminate_envoy();
    assert!(
        status.success(),
        "envoy exited with {status}:\n{}",
        lab.envoy_log_text()
    );
}

#[test]
fn h2c_stays_h2c_in_both_directions() {
    let Some(mut lab) = Lab::new() else { return };
    let (pod, client) = (lab.pod_ns.clone(), lab.client_ns.clone());
    // The test server closes anything that isn't HTTP/2, so a 200 means h2c all the way (what
    // gRPC without TLS needs).
    lab.start_app(&pod, &["--h2c", "8090"]);
    lab.start_app(&client, &["--h2c", "8090"]);
    lab.proxy_init_ok(&[]);
    lab.start_envoy();

    let r = lab.h2c(&client, &format!("http://{POD_IP}:8090/hello"));
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(r["body"], "h2c ok");
    assert_eq!(lab.stat("http.inbound.downstream_cx_http2_total"), 1);
    assert_eq!(
        lab.stat("cluster.InboundPassthroughCluster.upstream_cx_http2_total"),
        1
    );

    let r = lab.h2c(&pod, &format!("http://{CLIENT_IP}:8090/hello"));
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(lab.stat("http.outbound.downstream_cx_http2_total"), 1);
    assert_eq!(
        lab.stat("cluster.PassthroughCluster.upstream_cx_http2_total"),
        1
    );
}

#[test]
fn legacy_backend_on_request_and_when_detected() {
    let Some(lab) = Lab::new() else { return };
    if support::which("iptables-legacy-restore").is_none() {
        support::skip_or_fail("iptables-legacy tools are needed for the legacy backend test");
        return;
    }
    // Requested: the rules land in the legacy tables, none in nf_tables.
    let out = lab.proxy_init(&["--iptables-backend", "legacy"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("(legacy backend)"), "{stderr}");
    assert!(
        lab.nat_rules("iptables-legacy-save")
            .contains("-A MESHCTL_INBOUND")
    );
    assert!(!lab.nat_rules("iptables-nft-save").contains("MESHCTL"));

    // Detected: the legacy tables already hold the most rules (an old node), so auto keeps using
    // legacy instead of splitting the pod's rules across two backends.
    let out = lab.proxy_init(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("(legacy backend)"), "{stderr}");
    assert!(!lab.nat_rules("iptables-nft-save").contains("MESHCTL"));
    assert_eq!(
        lab.nat_rules("iptables-legacy-save")
            .matches("-A PREROUTING -p tcp -j MESHCTL_INBOUND")
            .count(),
        1
    );
}
