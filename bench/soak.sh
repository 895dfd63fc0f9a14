#!/usr/bin/env bash
# Soak: publishes the gateway in Release once, then runs two instances of it sharing one redis-server, under steady
# load from many simulated users for a bounded time while access tokens expire, the token endpoint is slow and Redis
# is restarted once. Exits non-zero when a grant was lost or a response was unexpected.
#   bench/soak.sh [seconds]      (default 60; SOAK_USERS, SOAK_WORKERS, SOAK_TOKEN_DELAY_MS, SOAK_SEED tune it)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null || { echo "redis-server is needed: apt-get install -y redis-server" >&2; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
dotnet publish src/Gateway -c Release -o "$out/gateway" --nologo -v quiet
dotnet build bench/Gateway.Soak -c Release --nologo -v quiet
dotnet run -c Release --no-build --project bench/Gateway.Soak -- "$out/gateway/Gateway.dll" "${1:-60}"
