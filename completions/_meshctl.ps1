
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'meshctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'meshctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'meshctl' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Render the control plane manifests (or apply them with --apply)')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Print (or delete with --apply) what install created')
            [CompletionResult]::new('inject', 'inject', [CompletionResultType]::ParameterValue, 'Add the meshctl sidecar to workload manifests or live workloads')
            [CompletionResult]::new('uninject', 'uninject', [CompletionResultType]::ParameterValue, 'Remove the meshctl sidecar from workload manifests or live workloads')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check the cluster, the control plane and the data plane')
            [CompletionResult]::new('stat', 'stat', [CompletionResultType]::ParameterValue, 'Golden metrics (success rate, RPS, latency) read from the proxies')
            [CompletionResult]::new('tap', 'tap', [CompletionResultType]::ParameterValue, 'Stream live requests from the proxies')
            [CompletionResult]::new('proxy-config', 'proxy-config', [CompletionResultType]::ParameterValue, 'Show a proxy''s configuration')
            [CompletionResult]::new('pc', 'pc', [CompletionResultType]::ParameterValue, 'Show a proxy''s configuration')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Client, control plane and proxy versions')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Shell completion scripts')
            [CompletionResult]::new('proxy-init', 'proxy-init', [CompletionResultType]::ParameterValue, 'Init container role: write the pod''s iptables rules and the Envoy bootstrap')
            [CompletionResult]::new('webhook', 'webhook', [CompletionResultType]::ParameterValue, 'In-cluster role: the sidecar injector admission webhook')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write man pages for every command into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'meshctl;install' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Values profile: default, minimal or ha')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Set a value (repeatable, typed): --set webhook.replicas=2')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Values file (repeatable; later files win)')
            [CompletionResult]::new('--values', '--values', [CompletionResultType]::ParameterName, 'Values file (repeatable; later files win)')
            [CompletionResult]::new('--output-dir', '--output-dir', [CompletionResultType]::ParameterName, 'Write one file per component into this directory instead of stdout')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'With --apply: `server` validates on the server without persisting')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('--show-values', '--show-values', [CompletionResultType]::ParameterName, 'Print the effective values instead of the manifests')
            [CompletionResult]::new('--apply', '--apply', [CompletionResultType]::ParameterName, 'Apply the manifests to the cluster (server-side apply, field manager `meshctl`)')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'With --apply: wait for the control plane to roll out (bounded by --timeout)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;uninstall' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile install used (decides which objects exist)')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'The --set values install used (repeatable)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The values files install used (repeatable)')
            [CompletionResult]::new('--values', '--values', [CompletionResultType]::ParameterName, 'The values files install used (repeatable)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('--apply', '--apply', [CompletionResultType]::ParameterName, 'Delete the control plane from the cluster, in reverse order, and wait')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Uninstall even while injected pods remain')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;inject' {
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Live mode: select workloads by label')
            [CompletionResult]::new('--selector', '--selector', [CompletionResultType]::ParameterName, 'Live mode: select workloads by label')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Report format on stderr: text or json')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Mesh config file (the `meshctl-config` ConfigMap install renders); offline only')
            [CompletionResult]::new('--native-sidecar', '--native-sidecar', [CompletionResultType]::ParameterName, 'Run the proxy as a native sidecar (an init container with restartPolicy Always)')
            [CompletionResult]::new('--proxy-image', '--proxy-image', [CompletionResultType]::ParameterName, 'proxy-image')
            [CompletionResult]::new('--proxy-cpu-request', '--proxy-cpu-request', [CompletionResultType]::ParameterName, 'proxy-cpu-request')
            [CompletionResult]::new('--proxy-cpu-limit', '--proxy-cpu-limit', [CompletionResultType]::ParameterName, 'proxy-cpu-limit')
            [CompletionResult]::new('--proxy-memory-request', '--proxy-memory-request', [CompletionResultType]::ParameterName, 'proxy-memory-request')
            [CompletionResult]::new('--proxy-memory-limit', '--proxy-memory-limit', [CompletionResultType]::ParameterName, 'proxy-memory-limit')
            [CompletionResult]::new('--proxy-log-level', '--proxy-log-level', [CompletionResultType]::ParameterName, 'proxy-log-level')
            [CompletionResult]::new('--skip-inbound-ports', '--skip-inbound-ports', [CompletionResultType]::ParameterName, 'Comma-separated inbound ports the proxy does not capture')
            [CompletionResult]::new('--skip-outbound-ports', '--skip-outbound-ports', [CompletionResultType]::ParameterName, 'Comma-separated outbound ports the proxy does not capture')
            [CompletionResult]::new('--skip-outbound-cidrs', '--skip-outbound-cidrs', [CompletionResultType]::ParameterName, 'Comma-separated outbound CIDRs the proxy does not capture')
            [CompletionResult]::new('--opaque-ports', '--opaque-ports', [CompletionResultType]::ParameterName, 'Comma-separated ports proxied as opaque TCP (no protocol detection)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Outbound retries for idempotent requests')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Outbound request timeout (0s: none)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('-R', '-R ', [CompletionResultType]::ParameterName, 'Recurse into directories')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, 'Recurse into directories')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Live mode: every workload in the namespace')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Live mode: print the patch instead of applying it')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;uninject' {
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Live mode: select workloads by label')
            [CompletionResult]::new('--selector', '--selector', [CompletionResultType]::ParameterName, 'Live mode: select workloads by label')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Report format on stderr: text or json')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Mesh config file (the `meshctl-config` ConfigMap install renders); offline only')
            [CompletionResult]::new('--native-sidecar', '--native-sidecar', [CompletionResultType]::ParameterName, 'Run the proxy as a native sidecar (an init container with restartPolicy Always)')
            [CompletionResult]::new('--proxy-image', '--proxy-image', [CompletionResultType]::ParameterName, 'proxy-image')
            [CompletionResult]::new('--proxy-cpu-request', '--proxy-cpu-request', [CompletionResultType]::ParameterName, 'proxy-cpu-request')
            [CompletionResult]::new('--proxy-cpu-limit', '--proxy-cpu-limit', [CompletionResultType]::ParameterName, 'proxy-cpu-limit')
            [CompletionResult]::new('--proxy-memory-request', '--proxy-memory-request', [CompletionResultType]::ParameterName, 'proxy-memory-request')
            [CompletionResult]::new('--proxy-memory-limit', '--proxy-memory-limit', [CompletionResultType]::ParameterName, 'proxy-memory-limit')
            [CompletionResult]::new('--proxy-log-level', '--proxy-log-level', [CompletionResultType]::ParameterName, 'proxy-log-level')
            [CompletionResult]::new('--skip-inbound-ports', '--skip-inbound-ports', [CompletionResultType]::ParameterName, 'Comma-separated inbound ports the proxy does not capture')
            [CompletionResult]::new('--skip-outbound-ports', '--skip-outbound-ports', [CompletionResultType]::ParameterName, 'Comma-separated outbound ports the proxy does not capture')
            [CompletionResult]::new('--skip-outbound-cidrs', '--skip-outbound-cidrs', [CompletionResultType]::ParameterName, 'Comma-separated outbound CIDRs the proxy does not capture')
            [CompletionResult]::new('--opaque-ports', '--opaque-ports', [CompletionResultType]::ParameterName, 'Comma-separated ports proxied as opaque TCP (no protocol detection)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Outbound retries for idempotent requests')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Outbound request timeout (0s: none)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('-R', '-R ', [CompletionResultType]::ParameterName, 'Recurse into directories')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, 'Recurse into directories')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Live mode: every workload in the namespace')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Live mode: print the patch instead of applying it')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;check' {
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Retry retryable checks until this deadline (e.g. 2m)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('--pre', '--pre', [CompletionResultType]::ParameterName, 'Pre-install checks')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Data-plane checks for meshed pods (with -n, or every namespace)')
            [CompletionResult]::new('--fail-on-warning', '--fail-on-warning', [CompletionResultType]::ParameterName, 'Warnings fail the command too')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;stat' {
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'l')
            [CompletionResult]::new('--selector', '--selector', [CompletionResultType]::ParameterName, 'selector')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Sampling window for rates and percentiles')
            [CompletionResult]::new('--window', '--window', [CompletionResultType]::ParameterName, 'Sampling window for rates and percentiles')
            [CompletionResult]::new('--admin-addr', '--admin-addr', [CompletionResultType]::ParameterName, 'Read one proxy''s admin API directly at HOST:PORT instead of port-forwarding')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Every namespace')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Every namespace')
            [CompletionResult]::new('--outbound', '--outbound', [CompletionResultType]::ParameterName, 'Outbound traffic instead of inbound')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;tap' {
            [CompletionResult]::new('--method', '--method', [CompletionResultType]::ParameterName, 'method')
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'Path prefix')
            [CompletionResult]::new('--authority', '--authority', [CompletionResultType]::ParameterName, 'authority')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Header match, repeatable: --header k=v')
            [CompletionResult]::new('--direction', '--direction', [CompletionResultType]::ParameterName, 'inbound or outbound (default: inbound; Envoy allows one tap session per proxy)')
            [CompletionResult]::new('--max', '--max', [CompletionResultType]::ParameterName, 'Stop after N requests')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this long')
            [CompletionResult]::new('--admin-addr', '--admin-addr', [CompletionResultType]::ParameterName, 'Tap one proxy''s admin API directly at HOST:PORT instead of port-forwarding')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;proxy-config' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Read a saved config_dump.json instead of asking a proxy')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'With `log`: set this level (all loggers, or logger:level,...)')
            [CompletionResult]::new('--admin-addr', '--admin-addr', [CompletionResultType]::ParameterName, 'admin-addr')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;pc' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Read a saved config_dump.json instead of asking a proxy')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'With `log`: set this level (all loggers, or logger:level,...)')
            [CompletionResult]::new('--admin-addr', '--admin-addr', [CompletionResultType]::ParameterName, 'admin-addr')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;version' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('--client', '--client', [CompletionResultType]::ParameterName, 'Only the client version; do not contact the cluster')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Also count the proxy versions in use')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;completion' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;proxy-init' {
            [CompletionResult]::new('--iptables-backend', '--iptables-backend', [CompletionResultType]::ParameterName, 'iptables backend: nft, legacy or auto (detect)')
            [CompletionResult]::new('--bootstrap-out', '--bootstrap-out', [CompletionResultType]::ParameterName, 'Where to write the Envoy bootstrap')
            [CompletionResult]::new('--proxy-uid', '--proxy-uid', [CompletionResultType]::ParameterName, 'The proxy''s uid: its own traffic is never captured (must match the sidecar''s runAsUser)')
            [CompletionResult]::new('--proxy-gid', '--proxy-gid', [CompletionResultType]::ParameterName, 'The proxy''s gid: its traffic is never captured either')
            [CompletionResult]::new('--outbound-port', '--outbound-port', [CompletionResultType]::ParameterName, 'Envoy''s outbound listener; outgoing TCP is redirected here')
            [CompletionResult]::new('--inbound-port', '--inbound-port', [CompletionResultType]::ParameterName, 'Envoy''s inbound listener; incoming TCP is redirected here')
            [CompletionResult]::new('--admin-port', '--admin-port', [CompletionResultType]::ParameterName, 'Envoy''s admin API, bound to 127.0.0.1 only')
            [CompletionResult]::new('--metrics-port', '--metrics-port', [CompletionResultType]::ParameterName, 'Metrics and readiness (GET /stats/prometheus, GET /ready only); never captured')
            [CompletionResult]::new('--skip-inbound-ports', '--skip-inbound-ports', [CompletionResultType]::ParameterName, 'Inbound ports not captured, comma-separated; ranges as 8000-8100')
            [CompletionResult]::new('--skip-outbound-ports', '--skip-outbound-ports', [CompletionResultType]::ParameterName, 'Outbound destination ports not captured, comma-separated; ranges as 8000-8100')
            [CompletionResult]::new('--skip-outbound-cidrs', '--skip-outbound-cidrs', [CompletionResultType]::ParameterName, 'Outbound destinations not captured, comma-separated CIDRs (IPv4 and IPv6)')
            [CompletionResult]::new('--opaque-ports', '--opaque-ports', [CompletionResultType]::ParameterName, 'Ports proxied as plain TCP without protocol detection (server-first protocols: SMTP, MySQL)')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Envoy log level: trace, debug, info, warning, error, critical, off')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Envoy worker threads')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Outbound retries: after connect failures for any request, after a 503 for idempotent methods only (0 disables)')
            [CompletionResult]::new('--per-try-timeout', '--per-try-timeout', [CompletionResultType]::ParameterName, 'Timeout of each outbound retry attempt (0s: only --request-timeout applies)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Outbound request timeout (0s: none)')
            [CompletionResult]::new('--drain-time', '--drain-time', [CompletionResultType]::ParameterName, 'How long the proxy drains connections when shutting down')
            [CompletionResult]::new('--pod-name', '--pod-name', [CompletionResultType]::ParameterName, 'The pod''s name')
            [CompletionResult]::new('--pod-namespace', '--pod-namespace', [CompletionResultType]::ParameterName, 'The pod''s namespace')
            [CompletionResult]::new('--pod-ip', '--pod-ip', [CompletionResultType]::ParameterName, 'The pod''s primary IP')
            [CompletionResult]::new('--pod-ips', '--pod-ips', [CompletionResultType]::ParameterName, 'Comma-separated pod IPs (both families on dual-stack pods)')
            [CompletionResult]::new('--workload-kind', '--workload-kind', [CompletionResultType]::ParameterName, 'Kind of the workload that owns the pod (Deployment, StatefulSet, Job...)')
            [CompletionResult]::new('--workload-name', '--workload-name', [CompletionResultType]::ParameterName, 'Name of the workload that owns the pod')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the rules and the bootstrap instead of applying them')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;webhook' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to serve AdmissionReview on')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serving certificate and key (cert-manager mode); without them the webhook makes its own')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'tls-key')
            [CompletionResult]::new('--webhook-config-name', '--webhook-config-name', [CompletionResultType]::ParameterName, 'The MutatingWebhookConfiguration whose caBundle to patch with the self-made certificate')
            [CompletionResult]::new('--service-name', '--service-name', [CompletionResultType]::ParameterName, 'The webhook''s Service name (the certificate''s DNS names derive from it)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Mesh config file (default: read the `meshctl-config` ConfigMap)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;man' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'The namespace to act on (default: the context''s namespace)')
            [CompletionResult]::new('--mesh-namespace', '--mesh-namespace', [CompletionResultType]::ParameterName, 'The namespace of the mesh control plane')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format; each command documents the formats it accepts')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the cluster before giving up (e.g. 30s, 2m)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'meshctl;help' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Render the control plane manifests (or apply them with --apply)')
            [CompletionResult]::new('uninstall', 'uninstall', [CompletionResultType]::ParameterValue, 'Print (or delete with --apply) what install created')
            [CompletionResult]::new('inject', 'inject', [CompletionResultType]::ParameterValue, 'Add the meshctl sidecar to workload manifests or live workloads')
            [CompletionResult]::new('uninject', 'uninject', [CompletionResultType]::ParameterValue, 'Remove the meshctl sidecar from workload manifests or live workloads')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check the cluster, the control plane and the data plane')
            [CompletionResult]::new('stat', 'stat', [CompletionResultType]::ParameterValue, 'Golden metrics (success rate, RPS, latency) read from the proxies')
            [CompletionResult]::new('tap', 'tap', [CompletionResultType]::ParameterValue, 'Stream live requests from the proxies')
            [CompletionResult]::new('proxy-config', 'proxy-config', [CompletionResultType]::ParameterValue, 'Show a proxy''s configuration')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Client, control plane and proxy versions')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Shell completion scripts')
            [CompletionResult]::new('proxy-init', 'proxy-init', [CompletionResultType]::ParameterValue, 'Init container role: write the pod''s iptables rules and the Envoy bootstrap')
            [CompletionResult]::new('webhook', 'webhook', [CompletionResultType]::ParameterValue, 'In-cluster role: the sidecar injector admission webhook')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write man pages for every command into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'meshctl;help;install' {
            break
        }
        'meshctl;help;uninstall' {
            break
        }
        'meshctl;help;inject' {
            break
        }
        'meshctl;help;uninject' {
            break
        }
        'meshctl;help;check' {
            break
        }
        'meshctl;help;stat' {
            break
        }
        'meshctl;help;tap' {
            break
        }
        'meshctl;help;proxy-config' {
            break
        }
        'meshctl;help;version' {
            break
        }
        'meshctl;help;completion' {
            break
        }
        'meshctl;help;proxy-init' {
            break
        }
        'meshctl;help;webhook' {
            break
        }
        'meshctl;help;man' {
            break
        }
        'meshctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
