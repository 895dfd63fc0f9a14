#!/usr/bin/env bash
# Offline checks of the deployable stack (no Docker engine needed): docker-compose.yml, .env.example, the Dockerfile's
# essentials, the nginx, collector, Prometheus and Grafana configuration, the alert rules and their unit tests, and
# the dashboard's queries against the gateway's metric names. Installs what it needs (Debian packages).
# Exits non-zero, naming the file, on the first kind of failure; prints one summary line at the end.
#   deploy/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# Debian's packages: docker-compose (v1, parses the Compose spec), promtool (package prometheus), nginx (nginx -t),
# python3-yaml for the system python3 that the checks below run on.
need=()
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
/usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || need+=(python3-yaml)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  # policy-rc.d or no init: the packages' services (prometheus, nginx) are installed, not started.
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
PY=/usr/bin/python3
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
ok()   { echo "ok:   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*" >&2; failed=$((failed + 1)); }

# 1. docker-compose.yml, in a copy with a dummy .env made from .env.example (every empty value filled in).
mkdir -p "$work/compose"
cp docker-compose.yml "$work/compose/"
cp -r deploy "$work/compose/"
cp Dockerfile "$work/compose/"
sed -E 's/^([A-Z0-9_]+)=$/\1=dummy-\1/' .env.example > "$work/compose/.env"
if (cd "$work/compose" && docker-compose -f docker-compose.yml config -q) 2> "$work/compose.err"; then
  ok "docker-compose.yml parses (docker-compose config) with .env from .env.example"
else
  cat "$work/compose.err" >&2; fail "docker-compose.yml: docker-compose config"
fi
# The secrets are required: with .env.example as it is (secrets empty), compose must refuse and name them.
cp .env.example "$work/compose/.env"
if (cd "$work/compose" && docker-compose -f docker-compose.yml config -q) 2> "$work/compose-empty.err"; then
  fail "docker-compose.yml starts without WEBEX_CLIENT_ID: the secrets must be required"
elif grep -q "WEBEX_CLIENT_ID" "$work/compose-empty.err"; then
  ok "docker-compose.yml refuses to start without the secrets from .env"
else
  cat "$work/compose-empty.err" >&2; fail "docker-compose.yml: missing secrets give an unexpected error"
fi
# Every variable compose interpolates is documented in .env.example.
sed -E 's/^([A-Z0-9_]+)=$/\1=dummy-\1/' .env.example > "$work/compose/.env"
(cd "$work/compose" && docker-compose -f docker-compose.yml config) > "$work/compose.rendered" 2>/dev/null || true
if [ -d .git ] || [ -f .git ]; then
  if git check-ignore -q .env; then ok ".env is git-ignored"; else fail ".gitignore must ignore .env"; fi
fi
grep -qx '.env' .dockerignore && ok ".env is kept out of the image build context (.dockerignore)" \
  || fail ".dockerignore must list .env"

# 2. Dockerfile essentials (it cannot be built here): multi-stage, aspnet runtime, non-root, gateway.json published.
if grep -q '^FROM mcr.microsoft.com/dotnet/sdk:' Dockerfile && grep -q '^FROM mcr.microsoft.com/dotnet/aspnet:' Dockerfile \
  && grep -q '^USER app' Dockerfile && grep -q 'gateway.json' Dockerfile && grep -q 'UseAppHost=false' Dockerfile; then
  ok "Dockerfile: multi-stage (sdk -> aspnet), USER app, gateway.json beside the binary"
else
  fail "Dockerfile: expected sdk build stage, aspnet runtime stage, USER app, UseAppHost=false and gateway.json"
fi
# The gen-0 budget the benchmark measured the gateway with (bench/ reads it from here), in hex bytes as the runtime wants.
if grep -qE '^ENV DOTNET_GCgen0size=0x[0-9a-fA-F]{6,}$' Dockerfile; then
  ok "Dockerfile: the gateway's gen-0 budget (DOTNET_GCgen0size), on its own ENV line"
else
  fail "Dockerfile: expected 'ENV DOTNET_GCgen0size=0x<hex bytes>' on a line of its own (README, Performance)"
fi

# 3. YAML syntax, the collector's pipelines, the Prometheus rule structure, the compose wiring, the dashboard JSON and
#    every PromQL expression's metric names (dashboard and rules) against the gateway's telemetry contract.
if "$PY" deploy/check.py "$work/compose.rendered"; then
  ok "YAML, collector config, rule structure, nginx WebSocket upgrades, dashboard JSON and metric names (deploy/check.py)"
else
  fail "deploy/check.py"
fi

# 4. Prometheus: the config (with the rule file it loads), the rules, and the rules' unit tests.
if promtool check config deploy/prometheus/prometheus.yml > "$work/promtool.out" 2>&1 \
  && promtool check rules deploy/prometheus/alerts.yml >> "$work/promtool.out" 2>&1; then
  ok "promtool check config / check rules"
else
  cat "$work/promtool.out" >&2; fail "deploy/prometheus: promtool check"
fi
if promtool test rules deploy/prometheus/alerts.test.yml > "$work/promtool-test.out" 2>&1; then
  ok "promtool test rules (alert thresholds behave as alerts.test.yml says)"
else
  cat "$work/promtool-test.out" >&2; fail "deploy/prometheus/alerts.test.yml: promtool test rules"
fi

# 5. nginx -t on a copy: the compose service names resolve only inside Docker, so they point at 127.0.0.1 here, and
#    Debian's nginx (1.22) predates the upstream `resolve` parameter (1.27.3), which the copy leaves out.
mkdir -p "$work/nginx"
sed -E -e 's/gateway-([0-9]+):8080/127.0.0.1:1808\1/g' -e 's/ resolve / /' deploy/nginx/nginx.conf > "$work/nginx/nginx.conf"
if "$NGINX" -t -q -p "$work/nginx" -c "$work/nginx/nginx.conf" -g "pid $work/nginx/nginx.pid;" > "$work/nginx.out" 2>&1; then
  ok "nginx -t deploy/nginx/nginx.conf"
else
  cat "$work/nginx.out" >&2; fail "deploy/nginx/nginx.conf: nginx -t"
fi

echo "deploy checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
