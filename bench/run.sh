#!/usr/bin/env bash
# Measures, in one run on 127.0.0.1, the upstream alone (nginx), raw YARP (bench/RawYarp) and the gateway, each warmed
# up and interleaved over rounds, with the embedded store and with redis-server: req/s, p50/p99, CPU µs per request
# (/proc) and peak RSS, for one user, 1,000 users round-robin and 10,000 signed-in sessions. Publishes the gateway and
# raw YARP in Release first. The Markdown report goes to stdout, progress to stderr:
#   bench/run.sh [seconds per measured run] [connections] > report.md
# BENCH_STORES, BENCH_SCENARIOS, BENCH_USERS, BENCH_SESSIONS, BENCH_ROUNDS, ... tune it: see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "$tool is needed: apt-get install -y wrk nginx redis-server" >&2; exit 1; }
done
case "${BENCH_STORES:-embedded,redis}" in
  *redis*) command -v redis-server >/dev/null || { echo "redis-server is needed: apt-get install -y redis-server" >&2; exit 1; } ;;
esac
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
dotnet publish src/Gateway -c Release -o "$out/gateway" --nologo -v quiet >&2
dotnet publish bench/RawYarp -c Release -o "$out/raw-yarp" --nologo -v quiet >&2
dotnet build bench/Gateway.Benchmarks -c Release --nologo -v quiet >&2
revision="as of commit $(git log -1 --format=%h -- src 2>/dev/null || echo unknown) (HEAD $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
git diff --quiet HEAD -- src 2>/dev/null || revision="$revision with uncommitted changes"
BENCH_COMMAND="bench/run.sh${*:+ $*}" BENCH_SOURCE="$revision" dotnet run -c Release --no-build --project bench/Gateway.Benchmarks -- \
  "$out/gateway/Gateway.dll" "$out/raw-yarp/RawYarp.dll" "${1:-10}" "${2:-32}"
