# The meshctl image: CLI, proxy-init (init container) and webhook roles in one binary.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin meshctl

FROM debian:bookworm-slim
# iptables (nft and legacy backends) for the proxy-init role; ca-certificates for the API server.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/meshctl /usr/local/bin/meshctl
# Non-root by default; proxy-init runs as root with NET_ADMIN/NET_RAW only where injected.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/meshctl"]
