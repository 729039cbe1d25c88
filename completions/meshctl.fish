# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_meshctl_global_optspecs
    string join \n kubeconfig= context= n/namespace= mesh-namespace= o/output= timeout= v/verbose h/help V/version
end

function __fish_meshctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_meshctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_meshctl_using_subcommand
    set -l cmd (__fish_meshctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c meshctl -n "__fish_meshctl_needs_command" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_needs_command" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_needs_command" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_needs_command" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_needs_command" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_needs_command" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_needs_command" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_needs_command" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_needs_command" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "install" -d 'Render the control plane manifests (or apply them with --apply)'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "uninstall" -d 'Print (or delete with --apply) what install created'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "inject" -d 'Add the meshctl sidecar to workload manifests or live workloads'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "uninject" -d 'Remove the meshctl sidecar from workload manifests or live workloads'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "check" -d 'Check the cluster, the control plane and the data plane'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "stat" -d 'Golden metrics (success rate, RPS, latency) read from the proxies'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "tap" -d 'Stream live requests from the proxies'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "proxy-config" -d 'Show a proxy\'s configuration'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "pc" -d 'Show a proxy\'s configuration'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "version" -d 'Client, control plane and proxy versions'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "completion" -d 'Shell completion scripts'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "proxy-init" -d 'Init container role: write the pod\'s iptables rules and the Envoy bootstrap'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "webhook" -d 'In-cluster role: the sidecar injector admission webhook'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "man" -d 'Write man pages for every command into a directory'
complete -c meshctl -n "__fish_meshctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -l profile -d 'Values profile: default, minimal or ha' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -l set -d 'Set a value (repeatable, typed): --set webhook.replicas=2' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -s f -l values -d 'Values file (repeatable; later files win)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -l output-dir -d 'Write one file per component into this directory instead of stdout' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -l dry-run -d 'With --apply: `server` validates on the server without persisting' -r -f -a "server\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -l show-values -d 'Print the effective values instead of the manifests'
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -l apply -d 'Apply the manifests to the cluster (server-side apply, field manager `meshctl`)'
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -l wait -d 'With --apply: wait for the control plane to roll out (bounded by --timeout)'
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand install" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand uninstall" -l profile -d 'The profile install used (decides which objects exist)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninstall" -l set -d 'The --set values install used (repeatable)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninstall" -s f -l values -d 'The values files install used (repeatable)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand uninstall" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand uninstall" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninstall" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninstall" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninstall" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninstall" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninstall" -l apply -d 'Delete the control plane from the cluster, in reverse order, and wait'
complete -c meshctl -n "__fish_meshctl_using_subcommand uninstall" -l force -d 'Uninstall even while injected pods remain'
complete -c meshctl -n "__fish_meshctl_using_subcommand uninstall" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_using_subcommand uninstall" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand uninstall" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -s l -l selector -d 'Live mode: select workloads by label' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l report -d 'Report format on stderr: text or json' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l config -d 'Mesh config file (the `meshctl-config` ConfigMap install renders); offline only' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l native-sidecar -d 'Run the proxy as a native sidecar (an init container with restartPolicy Always)' -r -f -a "true\t''
false\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l proxy-image -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l proxy-cpu-request -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l proxy-cpu-limit -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l proxy-memory-request -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l proxy-memory-limit -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l proxy-log-level -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l skip-inbound-ports -d 'Comma-separated inbound ports the proxy does not capture' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l skip-outbound-ports -d 'Comma-separated outbound ports the proxy does not capture' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l skip-outbound-cidrs -d 'Comma-separated outbound CIDRs the proxy does not capture' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l opaque-ports -d 'Comma-separated ports proxied as opaque TCP (no protocol detection)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l retries -d 'Outbound retries for idempotent requests' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l request-timeout -d 'Outbound request timeout (0s: none)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -s R -l recursive -d 'Recurse into directories'
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l all -d 'Live mode: every workload in the namespace'
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -l dry-run -d 'Live mode: print the patch instead of applying it'
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand inject" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -s l -l selector -d 'Live mode: select workloads by label' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l report -d 'Report format on stderr: text or json' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l config -d 'Mesh config file (the `meshctl-config` ConfigMap install renders); offline only' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l native-sidecar -d 'Run the proxy as a native sidecar (an init container with restartPolicy Always)' -r -f -a "true\t''
false\t''"
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l proxy-image -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l proxy-cpu-request -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l proxy-cpu-limit -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l proxy-memory-request -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l proxy-memory-limit -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l proxy-log-level -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l skip-inbound-ports -d 'Comma-separated inbound ports the proxy does not capture' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l skip-outbound-ports -d 'Comma-separated outbound ports the proxy does not capture' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l skip-outbound-cidrs -d 'Comma-separated outbound CIDRs the proxy does not capture' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l opaque-ports -d 'Comma-separated ports proxied as opaque TCP (no protocol detection)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l retries -d 'Outbound retries for idempotent requests' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l request-timeout -d 'Outbound request timeout (0s: none)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -s R -l recursive -d 'Recurse into directories'
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l all -d 'Live mode: every workload in the namespace'
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -l dry-run -d 'Live mode: print the patch instead of applying it'
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand uninject" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand check" -l wait -d 'Retry retryable checks until this deadline (e.g. 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand check" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand check" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand check" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand check" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand check" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand check" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand check" -l pre -d 'Pre-install checks'
complete -c meshctl -n "__fish_meshctl_using_subcommand check" -l proxy -d 'Data-plane checks for meshed pods (with -n, or every namespace)'
complete -c meshctl -n "__fish_meshctl_using_subcommand check" -l fail-on-warning -d 'Warnings fail the command too'
complete -c meshctl -n "__fish_meshctl_using_subcommand check" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_using_subcommand check" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand check" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand stat" -s l -l selector -r
complete -c meshctl -n "__fish_meshctl_using_subcommand stat" -s t -l window -d 'Sampling window for rates and percentiles' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand stat" -l admin-addr -d 'Read one proxy\'s admin API directly at HOST:PORT instead of port-forwarding' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand stat" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand stat" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand stat" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand stat" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand stat" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand stat" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand stat" -s A -l all-namespaces -d 'Every namespace'
complete -c meshctl -n "__fish_meshctl_using_subcommand stat" -l outbound -d 'Outbound traffic instead of inbound'
complete -c meshctl -n "__fish_meshctl_using_subcommand stat" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_using_subcommand stat" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand stat" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -l method -r
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -l path -d 'Path prefix' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -l authority -r
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -l header -d 'Header match, repeatable: --header k=v' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -l direction -d 'inbound or outbound (default: inbound; Envoy allows one tap session per proxy)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -l max -d 'Stop after N requests' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -l duration -d 'Stop after this long' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -l admin-addr -d 'Tap one proxy\'s admin API directly at HOST:PORT instead of port-forwarding' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand tap" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-config" -l file -d 'Read a saved config_dump.json instead of asking a proxy' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-config" -l level -d 'With `log`: set this level (all loggers, or logger:level,...)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-config" -l admin-addr -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-config" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-config" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-config" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-config" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-config" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-config" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-config" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-config" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-config" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand pc" -l file -d 'Read a saved config_dump.json instead of asking a proxy' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand pc" -l level -d 'With `log`: set this level (all loggers, or logger:level,...)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pc" -l admin-addr -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pc" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand pc" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pc" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pc" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pc" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pc" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand pc" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_using_subcommand pc" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand pc" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand version" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand version" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand version" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand version" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand version" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand version" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand version" -l client -d 'Only the client version; do not contact the cluster'
complete -c meshctl -n "__fish_meshctl_using_subcommand version" -l proxy -d 'Also count the proxy versions in use'
complete -c meshctl -n "__fish_meshctl_using_subcommand version" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_using_subcommand version" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand version" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand completion" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand completion" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand completion" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand completion" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand completion" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand completion" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand completion" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_using_subcommand completion" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand completion" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l iptables-backend -d 'iptables backend: nft, legacy or auto (detect)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l bootstrap-out -d 'Where to write the Envoy bootstrap' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l proxy-uid -d 'The proxy\'s uid: its own traffic is never captured (must match the sidecar\'s runAsUser)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l proxy-gid -d 'The proxy\'s gid: its traffic is never captured either' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l outbound-port -d 'Envoy\'s outbound listener; outgoing TCP is redirected here' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l inbound-port -d 'Envoy\'s inbound listener; incoming TCP is redirected here' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l admin-port -d 'Envoy\'s admin API, bound to 127.0.0.1 only' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l metrics-port -d 'Metrics and readiness (GET /stats/prometheus, GET /ready only); never captured' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l skip-inbound-ports -d 'Inbound ports not captured, comma-separated; ranges as 8000-8100' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l skip-outbound-ports -d 'Outbound destination ports not captured, comma-separated; ranges as 8000-8100' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l skip-outbound-cidrs -d 'Outbound destinations not captured, comma-separated CIDRs (IPv4 and IPv6)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l opaque-ports -d 'Ports proxied as plain TCP without protocol detection (server-first protocols: SMTP, MySQL)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l log-level -d 'Envoy log level: trace, debug, info, warning, error, critical, off' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l concurrency -d 'Envoy worker threads' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l retries -d 'Outbound retries: after connect failures for any request, after a 503 for idempotent methods only (0 disables)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l per-try-timeout -d 'Timeout of each outbound retry attempt (0s: only --request-timeout applies)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l request-timeout -d 'Outbound request timeout (0s: none)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l drain-time -d 'How long the proxy drains connections when shutting down' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l pod-name -d 'The pod\'s name' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l pod-namespace -d 'The pod\'s namespace' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l pod-ip -d 'The pod\'s primary IP' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l pod-ips -d 'Comma-separated pod IPs (both families on dual-stack pods)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l workload-kind -d 'Kind of the workload that owns the pod (Deployment, StatefulSet, Job...)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l workload-name -d 'Name of the workload that owns the pod' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -l dry-run -d 'Print the rules and the bootstrap instead of applying them'
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand proxy-init" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -l listen -d 'Address to serve AdmissionReview on' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -l tls-cert -d 'Serving certificate and key (cert-manager mode); without them the webhook makes its own' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -l tls-key -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -l webhook-config-name -d 'The MutatingWebhookConfiguration whose caBundle to patch with the self-made certificate' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -l service-name -d 'The webhook\'s Service name (the certificate\'s DNS names derive from it)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -l config -d 'Mesh config file (default: read the `meshctl-config` ConfigMap)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand webhook" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand man" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)' -r -F
complete -c meshctl -n "__fish_meshctl_using_subcommand man" -l context -d 'The kubeconfig context to use' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand man" -s n -l namespace -d 'The namespace to act on (default: the context\'s namespace)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand man" -l mesh-namespace -d 'The namespace of the mesh control plane' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand man" -s o -l output -d 'Output format; each command documents the formats it accepts' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand man" -l timeout -d 'How long to wait for the cluster before giving up (e.g. 30s, 2m)' -r
complete -c meshctl -n "__fish_meshctl_using_subcommand man" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c meshctl -n "__fish_meshctl_using_subcommand man" -s h -l help -d 'Print help'
complete -c meshctl -n "__fish_meshctl_using_subcommand man" -s V -l version -d 'Print version'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from install uninstall inject uninject check stat tap proxy-config version completion proxy-init webhook man help" -f -a "install" -d 'Render the control plane manifests (or apply them with --apply)'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from install uninstall inject uninject check stat tap proxy-config version completion proxy-init webhook man help" -f -a "uninstall" -d 'Print (or delete with --apply) what install created'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from install uninstall inject uninject check stat tap proxy-config version completion proxy-init webhook man help" -f -a "inject" -d 'Add the meshctl sidecar to workload manifests or live workloads'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from install uninstall inject uninject check stat tap proxy-config version completion proxy-init webhook man help" -f -a "uninject" -d 'Remove the meshctl sidecar from workload manifests or live workloads'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from install uninstall inject uninject check stat tap proxy-config version completion proxy-init webhook man help" -f -a "check" -d 'Check the cluster, the control plane and the data plane'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from install uninstall inject uninject check stat tap proxy-config version completion proxy-init webhook man help" -f -a "stat" -d 'Golden metrics (success rate, RPS, latency) read from the proxies'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from install uninstall inject uninject check stat tap proxy-config version completion proxy-init webhook man help" -f -a "tap" -d 'Stream live requests from the proxies'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from install uninstall inject uninject check stat tap proxy-config version completion proxy-init webhook man help" -f -a "proxy-config" -d 'Show a proxy\'s configuration'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from install uninstall inject uninject check stat tap proxy-config version completion proxy-init webhook man help" -f -a "version" -d 'Client, control plane and proxy versions'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from install uninstall inject uninject check stat tap proxy-config version completion proxy-init webhook man help" -f -a "completion" -d 'Shell completion scripts'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from install uninstall inject uninject check stat tap proxy-config version completion proxy-init webhook man help" -f -a "proxy-init" -d 'Init container role: write the pod\'s iptables rules and the Envoy bootstrap'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from install uninstall inject uninject check stat tap proxy-config version completion proxy-init webhook man help" -f -a "webhook" -d 'In-cluster role: the sidecar injector admission webhook'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from install uninstall inject uninject check stat tap proxy-config version completion proxy-init webhook man help" -f -a "man" -d 'Write man pages for every command into a directory'
complete -c meshctl -n "__fish_meshctl_using_subcommand help; and not __fish_seen_subcommand_from install uninstall inject uninject check stat tap proxy-config version completion proxy-init webhook man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
