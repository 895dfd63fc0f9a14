#!/usr/bin/env bash
# Live events at scale: publishes the gateway in Release, runs two instances on one redis-server with N open /events
# streams over them, appends events through the gateway's own PersonEvents and measures the delivery latency (append
# to read off the stream: p50/p95/p99) and the gateways' RSS per open stream. Markdown to stdout; exits 1 when an
# event was lost or repeated or p99 reached 200 ms.
#   bench/events.sh [streams, 1000] [events, 300] [events/s, 50]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null || { echo "redis-server is needed: apt-get install -y redis-server" >&2; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
dotnet publish src/Gateway -c Release -o "$out/gateway" --nologo -v quiet >&2
dotnet build bench/Gateway.Events -c Release --nologo -v quiet >&2
dotnet run -c Release --no-build --project bench/Gateway.Events -- "$out/gateway/Gateway.dll" "${1:-1000}" "${2:-300}" "${3:-50}"
