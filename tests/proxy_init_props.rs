//! Properties of the pure parts of proxy-init: flag parsers never panic, and whatever parses
//! ends up in the rules and the bootstrap the way it should.

use std::collections::BTreeSet;

use meshctl::bootstrap::{self, BootstrapSettings};
use meshctl::netfilter::{self, Family, RuleSettings, parse_cidrs, parse_ports};
use proptest::prelude::*;

proptest! {
    #[test]
    fn parsers_never_panic(raw in "\\PC{0,40}") {
        let _ = parse_ports("--skip-inbound-ports", &raw);
        let _ = netfilter::parse_single_ports("--opaque-ports", &raw);
        let _ = parse_cidrs("--skip-outbound-cidrs", &raw);
    }

    #[test]
    fn every_skipped_port_is_returned_before_the_redirect(
        ports in proptest::collection::btree_set(1u16..=65535, 0..8),
    ) {
        let raw = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        let settings = RuleSettings {
            skip_inbound_ports: parse_ports("--skip-inbound-ports", &raw).unwrap(),
            skip_outbound_ports: parse_ports("--skip-outbound-ports", &raw).unwrap(),
            ..RuleSettings::default()
        };
        let rules = netfilter::rules::chain_rules(&settings, Family::V4);
        let inbound_redirect = rules.iter().position(|r| r.ends_with("-j MESHCTL_IN_REDIRECT")).unwrap();
        let outbound_redirect = rules.iter().position(|r| r.ends_with("-j MESHCTL_REDIRECT")).unwrap();
        for port in &ports {
            let inbound = format!("-A MESHCTL_INBOUND -p tcp --dport {port} -j RETURN");
            let outbound = format!("-A MESHCTL_OUTPUT -p tcp --dport {port} -j RETURN");
            let i = rules.iter().position(|r| *r == inbound);
            let o = rules.iter().position(|r| *r == outbound);
            prop_assert!(i.is_some_and(|i| i < inbound_redirect), "{inbound} missing or late");
            prop_assert!(o.is_some_and(|o| o < outbound_redirect), "{outbound} missing or late");
        }
        // A re-run against a table that already has the jumps adds none.
        let save = "*nat\n-A PREROUTING -p tcp -j MESHCTL_INBOUND\n-A OUTPUT -p tcp -j MESHCTL_OUTPUT\nCOMMIT\n";
        let rerun = netfilter::restore_input(&settings, Family::V4, Some(save));
        prop_assert!(!rerun.contains("-A PREROUTING") && !rerun.contains("-A OUTPUT"));
    }

    #[test]
    fn opaque_ports_get_a_chain_and_skip_detection(
        ports in proptest::collection::btree_set(1u16..15000, 1..6),
    ) {
        let settings = BootstrapSettings { opaque_ports: ports.clone(), ..BootstrapSettings::default() };
        let b = bootstrap::bootstrap(&settings);
        for listener in b["static_resources"]["listeners"].as_array().unwrap().iter().take(2) {
            let chains: BTreeSet<u64> = listener["filter_chains"].as_array().unwrap().iter()
                .filter(|c| c["name"].as_str().unwrap().contains("-opaque-"))
                .map(|c| c["filter_chain_match"]["destination_port"].as_u64().unwrap())
                .collect();
            prop_assert_eq!(chains, ports.iter().map(|p| u64::from(*p)).collect::<BTreeSet<_>>());
            let disabled = listener["listener_filters"][1]["filter_disabled"].to_string();
            for p in &ports {
                prop_assert!(disabled.contains(&format!("\"start\":{p},")), "{p} not disabled: {disabled}");
            }
        }
        prop_assert_eq!(bootstrap::render(&settings), bootstrap::render(&settings));
    }
}
