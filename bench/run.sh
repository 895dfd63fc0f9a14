#!/usr/bin/env bash
# Builds the gateway in Release and measures it with wrk against the Webex emulator, beside the emulator alone.
#   bench/run.sh [seconds per target] [connections]      (BENCH_REDIS=host:port to use a real Redis)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
out=$(mktemp -d)
dotnet publish src/Gateway -c Release -o "$out/gateway" --nologo -v quiet
dotnet run -c Release --project bench/Gateway.Benchmarks -- "$out/gateway/Gateway.dll" "${1:-10}" "${2:-32}"
