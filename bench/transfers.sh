#!/usr/bin/env bash
# The gateway's memory while a large file goes through it: publishes the gateway in Release, runs it as its own process
# in front of the in-process Webex emulator, posts a message with an N MiB file through it and downloads the file back,
# sampling the gateway's VmRSS from /proc. Markdown to stdout; exits 1 when a transfer grew it by the limit or more.
#   bench/transfers.sh [MiB, 100] [limit MiB, 32]
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
dotnet publish src/Gateway -c Release -o "$out/gateway" --nologo -v quiet >&2
dotnet build bench/Gateway.Transfers -c Release --nologo -v quiet >&2
dotnet run -c Release --no-build --project bench/Gateway.Transfers -- "$out/gateway/Gateway.dll" "${1:-100}" "${2:-32}"
