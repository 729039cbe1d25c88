#!/usr/bin/env bash
# Fuzzes the manifest parser path of `meshctl inject` for a while (default 60 s), seeded with the
# shared real-world corpus. cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 enables them on the
# stable toolchain this project builds with.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
mkdir -p fuzz/corpus/inject
seeds=()
[ -d ../shared/corpus ] && seeds+=(../shared/corpus)
RUSTC_BOOTSTRAP=1 cargo fuzz run inject fuzz/corpus/inject "${seeds[@]}" -- \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096
