//! Rule generation: the exact `iptables-restore --noflush` input for one address family.
//!
//! Re-running must not duplicate anything: our own chains are declared and flushed in the same
//! transaction that refills them, and the two jumps from the built-in chains are only added when
//! the current table (as `iptables-save` printed it) lacks them (extra copies are deleted).

use super::{
    CHAIN_IN_REDIRECT, CHAIN_INBOUND, CHAIN_OUTPUT, CHAIN_REDIRECT, CHAINS, Cidr, Family, PortRange,
};

/// What the rules depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSettings {
    pub proxy_uid: u32,
    pub proxy_gid: u32,
    pub inbound_port: u16,
    pub outbound_port: u16,
    /// Never captured, so scrapes of the proxy's metrics don't count as app traffic.
    pub metrics_port: u16,
    pub skip_inbound_ports: Vec<PortRange>,
    pub skip_outbound_ports: Vec<PortRange>,
    pub skip_outbound_cidrs: Vec<Cidr>,
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings {
            proxy_uid: 1337,
            proxy_gid: 1337,
            inbound_port: 15006,
            outbound_port: 15001,
            metrics_port: 15090,
            skip_inbound_ports: Vec::new(),
            skip_outbound_ports: Vec::new(),
            skip_outbound_cidrs: Vec::new(),
        }
    }
}

/// The jumps from the built-in chains into ours, as `iptables-save` prints them.
pub fn entry_jumps() -> [(&'static str, String); 2] {
    [
        (
            "PREROUTING",
            format!("-A PREROUTING -p tcp -j {CHAIN_INBOUND}"),
        ),
        ("OUTPUT", format!("-A OUTPUT -p tcp -j {CHAIN_OUTPUT}")),
    ]
}

/// The rules inside our own chains, in order.
pub fn chain_rules(settings: &RuleSettings, family: Family) -> Vec<String> {
    let loopback = match family {
        Family::V4 => "127.0.0.1/32",
        Family::V6 => "::1/128",
    };
    let mut rules = Vec::new();
    let mut push = |chain: &str, rule: String| rules.push(format!("-A {chain} {rule}"));

    // Inbound: everything TCP to the inbound port except the metrics port and the skip list.
    push(
        CHAIN_INBOUND,
        format!("-p tcp --dport {} -j RETURN", settings.metrics_port),
    );
    for ports in &settings.skip_inbound_ports {
        if ports.contains(settings.metrics_port) && ports.first == ports.last {
            continue;
        }
        push(CHAIN_INBOUND, format!("-p tcp --dport {ports} -j RETURN"));
    }
    push(CHAIN_INBOUND, format!("-p tcp -j {CHAIN_IN_REDIRECT}"));
    push(
        CHAIN_IN_REDIRECT,
        format!("-p tcp -j REDIRECT --to-ports {}", settings.inbound_port),
    );

    // Outbound: the proxy's own traffic (by uid and gid) goes out untouched, else it would loop
    // into itself; so does anything to loopback and the skip lists.
    push(
        CHAIN_OUTPUT,
        format!("-m owner --uid-owner {} -j RETURN", settings.proxy_uid),
    );
    push(
        CHAIN_OUTPUT,
        format!("-m owner --gid-owner {} -j RETURN", settings.proxy_gid),
    );
    push(CHAIN_OUTPUT, "-o lo -j RETURN".to_string());
    push(CHAIN_OUTPUT, format!("-d {loopback} -j RETURN"));
    for ports in &settings.skip_outbound_ports {
        push(CHAIN_OUTPUT, format!("-p tcp --dport {ports} -j RETURN"));
    }
    for cidr in settings
        .skip_outbound_cidrs
        .iter()
        .filter(|c| c.family() == family)
    {
        push(CHAIN_OUTPUT, format!("-d {cidr} -j RETURN"));
    }
    push(CHAIN_OUTPUT, format!("-j {CHAIN_REDIRECT}"));
    push(
        CHAIN_REDIRECT,
        format!("-p tcp -j REDIRECT --to-ports {}", settings.outbound_port),
    );
    rules
}

/// The `iptables-restore --noflush` input. `current` is `iptables-save -t nat` output of the
/// table as it is now (None: assume a fresh table, as `--dry-run` does).
pub fn restore_input(settings: &RuleSettings, family: Family, current: Option<&str>) -> String {
    let mut out = String::from("*nat\n");
    for chain in CHAINS {
        // With --noflush, declaring an existing chain does not empty it; `-F` does.
        out.push_str(&format!(":{chain} - [0:0]\n"));
    }
    for chain in CHAINS {
        out.push_str(&format!("-F {chain}\n"));
    }
    for (_, jump) in entry_jumps() {
        let present = current.map_or(0, |save| count_nat_rule(save, &jump));
        if present == 0 {
            out.push_str(&jump);
            out.push('\n');
        }
        for _ in 1..present {
            // Heal duplicates left by something else: keep exactly one.
            out.push_str(&jump.replacen("-A ", "-D ", 1));
            out.push('\n');
        }
    }
    for rule in chain_rules(settings, family) {
        out.push_str(&rule);
        out.push('\n');
    }
    out.push_str("COMMIT\n");
    out
}

/// How many times `rule` appears in the nat table of an `iptables-save` dump.
pub fn count_nat_rule(save: &str, rule: &str) -> usize {
    let mut in_nat = false;
    let mut count = 0;
    for line in save.lines() {
        let line = line.trim_end();
        if let Some(table) = line.strip_prefix('*') {
            in_nat = table == "nat";
        } else if in_nat && line == rule {
            count += 1;
        }
    }
    count
}

/// Input that removes everything ours from the nat table (the jumps, then the chains), for rolling
/// back a family that was applied when a later one failed and there was no prior state to restore.
pub fn removal_input(current_after_apply: &str) -> String {
    let mut out = String::from("*nat\n");
    for (_, jump) in entry_jumps() {
        for _ in 0..count_nat_rule(current_after_apply, &jump) {
            out.push_str(&jump.replacen("-A ", "-D ", 1));
            out.push('\n');
        }
    }
    for chain in CHAINS {
        if current_after_apply
            .lines()
            .any(|l| l.starts_with(&format!(":{chain} ")))
        {
            out.push_str(&format!("-F {chain}\n"));
        }
    }
    for chain in CHAINS {
        if current_after_apply
            .lines()
            .any(|l| l.starts_with(&format!(":{chain} ")))
        {
            out.push_str(&format!("-X {chain}\n"));
        }
    }
    out.push_str("COMMIT\n");
    out
}

/// Our chains and rules as they appear in an `iptables-save` dump, as restore input (empty when
/// the dump has nothing of ours). Used to put back a previous run's rules on rollback.
pub fn ours_from_save(save: &str) -> String {
    let mut in_nat = false;
    let mut declarations = String::new();
    let mut body = String::new();
    for line in save.lines() {
        let line = line.trim_end();
        if let Some(table) = line.strip_prefix('*') {
            in_nat = table == "nat";
            continue;
        }
        if !in_nat {
            continue;
        }
        if CHAINS.iter().any(|c| line.starts_with(&format!(":{c} "))) {
            declarations.push_str(line);
            declarations.push('\n');
        } else if line.starts_with("-A ")
            && (CHAINS.iter().any(|c| line.starts_with(&format!("-A {c} ")))
                || CHAINS.iter().any(|c| line.ends_with(&format!("-j {c}"))))
        {
            body.push_str(line);
            body.push('\n');
        }
    }
    if declarations.is_empty() && body.is_empty() {
        return String::new();
    }
    format!("*nat\n{declarations}{body}COMMIT\n")
}

/// Counts the rules (`-A` lines) in an `iptables-save` dump: used to tell which backend a node's
/// other tools (kubelet, CNI) already use.
pub fn count_rules(save: &str) -> usize {
    save.lines().filter(|l| l.starts_with("-A ")).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_table_gets_both_jumps() {
        let input = restore_input(&RuleSettings::default(), Family::V4, None);
        assert!(input.contains("-A PREROUTING -p tcp -j MESHCTL_INBOUND\n"));
        assert!(input.contains("-A OUTPUT -p tcp -j MESHCTL_OUTPUT\n"));
        assert!(input.starts_with("*nat\n") && input.ends_with("COMMIT\n"));
    }

    #[test]
    fn existing_jumps_are_not_duplicated_and_duplicates_healed() {
        let save = "# Generated\n*filter\n-A PREROUTING -p tcp -j MESHCTL_INBOUND\nCOMMIT\n*nat\n\
                    :PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j MESHCTL_INBOUND\n\
                    -A OUTPUT -p tcp -j MESHCTL_OUTPUT\n-A OUTPUT -p tcp -j MESHCTL_OUTPUT\nCOMMIT\n";
        let input = restore_input(&RuleSettings::default(), Family::V4, Some(save));
        assert!(!input.contains("-A PREROUTING"), "{input}");
        assert!(!input.contains("-A OUTPUT -p"), "{input}");
        assert_eq!(
            input.matches("-D OUTPUT -p tcp -j MESHCTL_OUTPUT").count(),
            1
        );
    }

    #[test]
    fn metrics_port_is_returned_before_any_redirect() {
        let rules = chain_rules(&RuleSettings::default(), Family::V4);
        let metrics = rules
            .iter()
            .position(|r| r.contains("--dport 15090 -j RETURN"));
        let redirect = rules
            .iter()
            .position(|r| r.contains("-j MESHCTL_IN_REDIRECT"));
        assert!(metrics.unwrap() < redirect.unwrap());
    }

    const SAVED: &str = "# Generated by iptables-nft-save\n*nat\n:PREROUTING ACCEPT [0:0]\n\
        :OUTPUT ACCEPT [0:0]\n:MESHCTL_INBOUND - [0:0]\n:MESHCTL_OUTPUT - [0:0]\n:OTHER - [0:0]\n\
        -A PREROUTING -p tcp -j MESHCTL_INBOUND\n-A OUTPUT -p udp -j OTHER\n\
        -A OUTPUT -p tcp -j MESHCTL_OUTPUT\n-A MESHCTL_INBOUND -p tcp -m tcp --dport 15090 -j RETURN\n\
        -A OTHER -j RETURN\nCOMMIT\n";

    #[test]
    fn removal_takes_out_only_ours() {
        let input = removal_input(SAVED);
        assert!(input.contains("-D PREROUTING -p tcp -j MESHCTL_INBOUND\n"));
        assert!(input.contains("-D OUTPUT -p tcp -j MESHCTL_OUTPUT\n"));
        assert!(input.contains("-X MESHCTL_INBOUND\n") && input.contains("-X MESHCTL_OUTPUT\n"));
        assert!(!input.contains("OTHER"), "{input}");
        // Chains that don't exist are not named (that would fail the transaction).
        assert!(!input.contains("MESHCTL_REDIRECT"), "{input}");
    }

    #[test]
    fn previous_rules_are_recovered_from_a_save() {
        let input = ours_from_save(SAVED);
        assert!(input.starts_with("*nat\n:MESHCTL_INBOUND - [0:0]\n:MESHCTL_OUTPUT - [0:0]\n"));
        assert!(input.contains("-A PREROUTING -p tcp -j MESHCTL_INBOUND\n"));
        assert!(input.contains("-A MESHCTL_INBOUND -p tcp -m tcp --dport 15090 -j RETURN\n"));
        assert!(!input.contains("OTHER"), "{input}");
        assert_eq!(ours_from_save("*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"), "");
    }

    #[test]
    fn cidrs_go_to_their_own_family() {
        let settings = RuleSettings {
            skip_outbound_cidrs: super::super::parse_cidrs("x", "10.0.0.0/8,fd00::/8").unwrap(),
            ..RuleSettings::default()
        };
        let v4 = chain_rules(&settings, Family::V4).join("\n");
        let v6 = chain_rules(&settings, Family::V6).join("\n");
        assert!(v4.contains("10.0.0.0/8") && !v4.contains("fd00::/8"));
        assert!(v6.contains("fd00::/8") && !v6.contains("10.0.0.0/8"));
        assert!(v6.contains("-d ::1/128 -j RETURN"));
    }
}
