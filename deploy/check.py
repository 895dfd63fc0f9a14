#!/usr/bin/env python3
"""Offline checks of deploy/ and docker-compose.yml that need no service: YAML syntax, the collector's pipelines,
the Prometheus rules' structure, the compose wiring, nginx's WebSocket upgrades, the Grafana dashboard, and every PromQL expression (dashboard and
alert rules) against the gateway's telemetry contract: metric names and label values.

    python3 deploy/check.py [rendered-compose.yml]     (deploy/check.sh passes `docker-compose config` output)
"""
import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
errors = []


def error(where, message):
    errors.append(f"{where}: {message}")


# The gateway's metrics as Prometheus sees them (OpenTelemetry's Prometheus exporter), with the label values the
# gateway emits. A histogram contributes _bucket, _sum and _count.
COUNTERS = {
    "webex_gateway_sign_ins_total": {"outcome": {"success", "access_denied", "invalid_state", "exchange_failed", "webex_unavailable"}},
    "webex_gateway_token_refreshes_total": {"trigger": {"expiry", "unauthorized", "keep_alive"},
                                            "outcome": {"refreshed", "joined", "invalid_grant", "failed"}},
    "webex_gateway_replays_total": {"outcome": {"succeeded", "still_unauthorized", "login_required", "failed", "not_replayable"}},
    "webex_gateway_lock_waits_total": {},
    "webex_gateway_requests_rejected_total": {"reason": {"csrf", "login_required", "bad_input"}},
    "webex_gateway_upstream_responses_total": {"status_class": {"2xx", "3xx", "4xx", "5xx", "error"}},
    "webex_gateway_redis_errors_total": {},
    "webex_gateway_rate_limited_total": {"source": {"webex", "gateway"}},
    "webex_gateway_webhooks_received_total": {"outcome": {"delivered", "duplicate", "bad_signature", "unknown", "refused", "unavailable"}},
    "webex_gateway_webhook_calls_total": {"operation": {"create", "list", "update", "delete"},
                                          "outcome": {"success", "unauthorized", "failed", "error"}},
    "webex_gateway_events_delivered_total": {},
}
GAUGES = {"webex_gateway_grants": {}, "webex_gateway_cool_downs": {}, "webex_gateway_event_streams": {}, "webex_gateway_ready": {}, "kestrel_active_connections": {}}
HISTOGRAMS = {
    "webex_gateway_token_refresh_duration_seconds": {"trigger": COUNTERS["webex_gateway_token_refreshes_total"]["trigger"],
                                                     "outcome": COUNTERS["webex_gateway_token_refreshes_total"]["outcome"]},
    "webex_gateway_lock_wait_duration_seconds": {},
    "webex_gateway_event_delivery_duration_seconds": {},
    "http_server_request_duration_seconds": {},
    "http_client_request_duration_seconds": {},
}
METRICS = {**COUNTERS, **GAUGES}
for name, labels in HISTOGRAMS.items():
    for suffix in ("_bucket", "_sum", "_count"):
        METRICS[name + suffix] = labels
# Prometheus's own series.
METRICS["up"] = {}
METRICS["ALERTS"] = {"alertstate": {"pending", "firing"}}
ALLOWED_PREFIXES = ("dotnet_",)  # .NET runtime metrics

KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right",
            "inf", "nan", "atan2"}


def metric_selectors(expr):
    """Yields (metric name, {label: (op, value)}) for each selector in a PromQL expression."""
    text = re.sub(r"\$\{[^}]*\}|\$\w+", "VAR", expr)  # Grafana variables
    # Label matchers, remembered per position, then blanked so their strings and names are not taken for metrics.
    matchers = {}

    def keep(match):
        key = f" @M{len(matchers)}@"
        pairs = {}
        for label, op, value in re.findall(r'(\w+)\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)"', match.group(0)):
            pairs[label] = (op, value)
        matchers[key] = pairs
        return key

    text = re.sub(r"\{[^{}]*\}", keep, text)
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)                    # other strings (label_replace arguments)
    text = re.sub(r"\[[^\]]*\]", "", text)                             # range and subquery windows
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    for match in re.finditer(r"(?<![\w.@])([A-Za-z_:][\w:]*)(\s*@M\d+@)?|(@M\d+@)", text):
        name, key, bare = match.group(1), match.group(2), match.group(3)
        if bare:
            yield None, matchers.get(" " + bare, {})  # a {...} selector with no metric name
            continue
        if name.lower() in KEYWORDS or re.match(r"\s*\(", text[match.end(1):]) and not key:
            continue  # function or keyword
        yield name, matchers.get(key.strip() and " " + key.strip(), {}) if key else {}


def check_expr(where, expr, require_instance_filter=False):
    for name, labels in metric_selectors(expr):
        if name is None:
            error(where, f"selector without a metric name in {expr!r}")
            continue
        if name not in METRICS and not name.startswith(ALLOWED_PREFIXES):
            error(where, f"unknown metric {name!r} (not in the gateway's telemetry contract)")
            continue
        known = METRICS.get(name, {})
        for label, (op, value) in labels.items():
            if label in known and op in ("=", "=~"):
                alternatives = value.split("|") if op == "=~" else [value]
                for alternative in alternatives:
                    if re.fullmatch(r"[\w]+", alternative) and alternative not in known[label]:
                        error(where, f"{name}{{{label}=...}}: {alternative!r} is not one of {sorted(known[label])}")
        if require_instance_filter and name != "ALERTS" and labels.get("instance") != ("=~", "VAR"):
            error(where, f"{name} is not filtered by the dashboard's instance variable (instance=~\"$instance\")")


def load_yaml(path):
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except Exception as e:  # noqa: BLE001 - any parse error is the finding
        error(path.relative_to(ROOT), f"not valid YAML: {e}")
        return None


# --- every YAML file parses ---------------------------------------------------------------------------------------
yamls = {p: load_yaml(p) for p in sorted([ROOT / "docker-compose.yml", *DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.yaml")])}

# --- OpenTelemetry Collector ---------------------------------------------------------------------------------------
collector_path = DEPLOY / "otel-collector" / "config.yaml"
collector = yamls.get(collector_path)
if isinstance(collector, dict):
    where = collector_path.relative_to(ROOT)
    service = collector.get("service") or {}
    pipelines = service.get("pipelines") or {}
    for kind in ("traces", "metrics", "logs"):
        if kind not in pipelines:
            error(where, f"no {kind} pipeline")
    for pipeline, spec in pipelines.items():
        for section in ("receivers", "processors", "exporters"):
            for component in (spec or {}).get(section) or []:
                if component not in (collector.get(section) or {}):
                    error(where, f"pipeline {pipeline} uses {section[:-1]} {component!r}, which is not defined")
        if not (spec or {}).get("receivers") or not (spec or {}).get("exporters"):
            error(where, f"pipeline {pipeline} needs receivers and exporters")
    for extension in service.get("extensions") or []:
        if extension not in (collector.get("extensions") or {}):
            error(where, f"extension {extension!r} is not defined")
    protocols = ((collector.get("receivers") or {}).get("otlp") or {}).get("protocols") or {}
    for protocol, port in (("grpc", 4317), ("http", 4318)):
        endpoint = (protocols.get(protocol) or {}).get("endpoint", "")
        if endpoint != f"0.0.0.0:{port}":
            error(where, f"otlp {protocol} must listen on 0.0.0.0:{port} (other containers send to it), not {endpoint!r}")
    trace_exporters = (pipelines.get("traces") or {}).get("exporters") or []
    if not any(e.startswith("otlp") and "jaeger:4317" in str((collector.get("exporters") or {}).get(e)) for e in trace_exporters):
        error(where, "traces must go to Jaeger over OTLP (jaeger:4317)")
    if any(e.startswith("prometheus") for e in (pipelines.get("metrics") or {}).get("exporters") or []):
        error(where, "metrics must not be exported to Prometheus as well: Prometheus scrapes the gateways (double counting)")

# --- Prometheus rules ------------------------------------------------------------------------------------------------
rules_path = DEPLOY / "prometheus" / "alerts.yml"
rules = yamls.get(rules_path)
if rules is not None:
    where = rules_path.relative_to(ROOT)
    groups = rules.get("groups") if isinstance(rules, dict) else None
    if not isinstance(groups, list) or not groups:
        error(where, "needs a non-empty `groups` list")
        groups = []
    names = set()
    for group in groups:
        if not isinstance(group, dict) or not group.get("name") or not isinstance(group.get("rules"), list) or not group["rules"]:
            error(where, f"each group needs a name and a non-empty rules list: {group!r:.80}")
            continue
        for rule in group["rules"]:
            alert = rule.get("alert") if isinstance(rule, dict) else None
            if not alert:
                error(where, f"group {group['name']}: a rule without `alert`")
                continue
            if alert in names:
                error(where, f"{alert}: defined twice")
            names.add(alert)
            for key in ("expr", "for", "labels", "annotations"):
                if not rule.get(key):
                    error(where, f"{alert}: no `{key}`")
            if not re.fullmatch(r"\d+[smhd]", str(rule.get("for", ""))):
                error(where, f"{alert}: `for` must be a duration like 5m")
            if (rule.get("labels") or {}).get("severity") not in ("critical", "warning"):
                error(where, f"{alert}: labels.severity must be critical or warning")
            for key in ("summary", "description", "runbook"):
                if not (rule.get("annotations") or {}).get(key):
                    error(where, f"{alert}: no `{key}` annotation")
            if "Threshold" not in str((rule.get("annotations") or {}).get("runbook", "")):
                error(where, f"{alert}: the runbook annotation must explain the threshold")
            if rule.get("expr"):
                check_expr(f"{where} {alert}", rule["expr"])
    for required in ("WebexGatewayTokenRefreshFailures", "WebexGatewayInvalidGrantSpike", "WebexGatewayHigh5xxRate",
                     "WebexGatewayRedisUnreachable", "WebexGatewayInstanceDown"):
        if required not in names:
            error(where, f"missing the {required} alert")

# --- Prometheus scrape config ----------------------------------------------------------------------------------------
prom_path = DEPLOY / "prometheus" / "prometheus.yml"
prom = yamls.get(prom_path)
gateway_targets = set()
if isinstance(prom, dict):
    for job in prom.get("scrape_configs") or []:
        if job.get("job_name") == "webex-gateway":
            if job.get("metrics_path", "/metrics") != "/metrics":
                error(prom_path.relative_to(ROOT), "the gateway job must scrape /metrics")
            for static in job.get("static_configs") or []:
                gateway_targets.update(static.get("targets") or [])
    if not gateway_targets:
        error(prom_path.relative_to(ROOT), "no webex-gateway scrape job with targets")
    if "alerts.yml" not in (prom.get("rule_files") or []):
        error(prom_path.relative_to(ROOT), "does not load alerts.yml")

# --- Grafana provisioning and dashboard -------------------------------------------------------------------------------
datasource_uids = {"-- Grafana --", "grafana"}
for path, doc in yamls.items():
    if "provisioning/datasources" in str(path) and isinstance(doc, dict):
        for ds in doc.get("datasources") or []:
            if not ds.get("uid") or not ds.get("url"):
                error(path.relative_to(ROOT), f"data source {ds.get('name')!r} needs a uid and a url")
            datasource_uids.add(ds.get("uid"))
if not {"prometheus", "jaeger"} <= datasource_uids:
    error("deploy/grafana/provisioning/datasources", "needs the Prometheus (uid prometheus) and Jaeger (uid jaeger) data sources")
provider_paths = [p.get("options", {}).get("path") for path, doc in yamls.items()
                  if "provisioning/dashboards" in str(path) and isinstance(doc, dict) for p in doc.get("providers") or []]
if not provider_paths:
    error("deploy/grafana/provisioning/dashboards", "no dashboard provider")

dashboards = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
if not dashboards:
    error("deploy/grafana/dashboards", "no dashboard JSON")
for path in dashboards:
    where = path.relative_to(ROOT)
    try:
        dashboard = json.loads(path.read_text())
    except ValueError as e:
        error(where, f"not valid JSON: {e}")
        continue
    for key in ("uid", "title", "panels", "schemaVersion"):
        if key not in dashboard:
            error(where, f"no `{key}`")
    variables = {v.get("name"): v for v in (dashboard.get("templating") or {}).get("list") or []}
    if "instance" not in variables:
        error(where, "no templated `instance` variable")
    for variable in variables.values():
        query = variable.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        if variable.get("type") == "query" and query:
            check_expr(f"{where} variable {variable.get('name')}", re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", query))
    ids = set()
    all_panels = []
    for panel in dashboard.get("panels") or []:
        all_panels.append(panel)
        all_panels.extend(panel.get("panels") or [])
    exprs = 0
    for panel in all_panels:
        title = panel.get("title", "?")
        if panel.get("id") in ids:
            error(where, f"panel id {panel.get('id')} used twice")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos") or {}
        if not all(k in grid for k in ("h", "w", "x", "y")) or grid.get("x", 0) + grid.get("w", 0) > 24:
            error(where, f"panel {title!r}: bad gridPos {grid}")
        if panel.get("type") == "row":
            continue
        targets = panel.get("targets") or []
        if not targets:
            error(where, f"panel {title!r}: no targets")
        for target in targets:
            uid = (target.get("datasource") or panel.get("datasource") or {}).get("uid")
            if uid not in datasource_uids:
                error(where, f"panel {title!r}: data source uid {uid!r} is not provisioned")
            if not target.get("expr"):
                error(where, f"panel {title!r}: a target without expr")
                continue
            exprs += 1
            check_expr(f"{where} panel {title!r}", target["expr"], require_instance_filter=True)
    for required in ("webex_gateway_token_refreshes_total", "webex_gateway_replays_total", "webex_gateway_redis_errors_total",
                     "webex_gateway_ready", "http_server_request_duration_seconds_bucket", "webex_gateway_grants",
                     "webex_gateway_upstream_responses_total", "webex_gateway_requests_rejected_total",
                     "webex_gateway_lock_waits_total", "webex_gateway_token_refresh_duration_seconds_bucket",
                     "webex_gateway_rate_limited_total", "webex_gateway_cool_downs",
                     "webex_gateway_webhooks_received_total", "webex_gateway_webhook_calls_total",
                     "webex_gateway_events_delivered_total", "webex_gateway_event_streams",
                     "webex_gateway_event_delivery_duration_seconds_bucket"):
        if required not in path.read_text():
            error(where, f"no panel uses {required}")
    print(f"  {where}: {len(all_panels)} panels, {exprs} queries checked")

# --- nginx: WebSocket upgrades ---------------------------------------------------------------------------------------
def nginx_blocks(text):
    """Yields (header, body) for every `{...}` block of an nginx config without comments, nested ones included."""
    stack = []
    start = 0
    for index, char in enumerate(text):
        if char == "{":
            header = text[start:index].strip().split(";")[-1].strip()
            stack.append((header, index + 1))
            start = index + 1
        elif char == "}":
            header, body_start = stack.pop()
            yield header, text[body_start:index]
            start = index + 1
        elif char == ";":
            start = index + 1


def seconds(value):
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", value)
    if not match:
        return None
    return int(match.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


nginx_path = DEPLOY / "nginx" / "nginx.conf"
where = nginx_path.relative_to(ROOT)
nginx = re.sub(r"#[^\n]*", "", nginx_path.read_text())
blocks = list(nginx_blocks(nginx))
maps = [body for header, body in blocks if re.fullmatch(r"map\s+\$http_upgrade\s+\$connection_upgrade", header)]
if not maps or not re.search(r"websocket\S*\s+upgrade\s*;", maps[0]):
    error(where, "needs `map $http_upgrade $connection_upgrade` giving `upgrade` for a WebSocket handshake")
servers = [body for header, body in blocks if header == "server"]
server = servers[0] if servers else ""
server_level = server
for header, body in blocks:
    if header.startswith("location") and body in server_level:
        server_level = server_level.replace(body, "")
for directive in ("proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;",
                  "proxy_set_header Connection $connection_upgrade;"):
    if not re.search(re.escape(directive).replace("\\ ", r"\s+"), server_level):
        error(where, f"the server needs `{directive}` (for WebSocket upgrades through nginx)")
locations = {header: body for header, body in blocks if header.startswith("location")}
for header, body in locations.items():
    if "proxy_pass" in body and "proxy_set_header" in body:
        error(where, f"`{header}` sets proxy_set_header itself, which drops the server's Upgrade and Connection headers")
websocket = locations.get("location @websocket", "")
timeout = re.search(r"proxy_read_timeout\s+(\S+);", websocket)
if "proxy_pass" not in websocket or not timeout or (seconds(timeout.group(1)) or 0) < 600:
    error(where, "needs `location @websocket` with proxy_pass and a proxy_read_timeout of at least 600s for upgraded connections")
root = locations.get("location /", "")
if not re.search(r"error_page\s+(\d+)\s+=\s*@websocket;", root) or "if ($connection_upgrade)" not in root:
    error(where, "`location /` must send WebSocket handshakes (if ($connection_upgrade)) to @websocket")

events = locations.get("location = /events", "")
timeout = re.search(r"proxy_read_timeout\s+(\S+);", events)
if ("proxy_pass" not in events or not re.search(r"proxy_buffering\s+off;", events)
        or not timeout or (seconds(timeout.group(1)) or 0) < 60):
    error(where, "needs `location = /events` with proxy_pass, `proxy_buffering off` and a proxy_read_timeout of at least 60s (the live events' stream)")

# --- docker-compose wiring (the `docker-compose config` rendering, when given) -----------------------------------------
if len(sys.argv) > 1:
    where = "docker-compose.yml"
    rendered = yaml.safe_load(pathlib.Path(sys.argv[1]).read_text() or "{}") or {}
    services = rendered.get("services") or {}
    expected = {"redis", "gateway-1", "gateway-2", "nginx", "otel-collector", "jaeger", "prometheus", "grafana"}
    if set(services) != expected:
        error(where, f"services {sorted(services)} != {sorted(expected)}")
    for name, service in services.items():
        image = service.get("image", "")
        if "build" not in service and (":" not in image or image.endswith(":latest")):
            error(where, f"{name}: image {image!r} is not pinned to a version")
    if "--appendonly" not in (services.get("redis") or {}).get("command", []):
        error(where, "redis must run with --appendonly yes")
    instance_ids = set()
    for name in ("gateway-1", "gateway-2"):
        service = services.get(name) or {}
        env = service.get("environment") or {}
        for key, value in (("Redis__ConnectionString", "redis:6379"), ("Telemetry__Prometheus", "true"),
                           ("Telemetry__ManagementUrl", "http://0.0.0.0:9091"),
                           ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector:4317")):
            if str(env.get(key)) != value:
                error(where, f"{name}: {key} must be {value!r}, is {env.get(key)!r}")
        # /metrics is served on the management port only: Prometheus scrapes that, on the compose network, and
        # nothing publishes or proxies it.
        management = re.fullmatch(r"http://[^/:]+:(\d+)/?", str(env.get("Telemetry__ManagementUrl", "")))
        management_port = management.group(1) if management else None
        if management_port:
            if f"{name}:{management_port}" not in gateway_targets:
                error("deploy/prometheus/prometheus.yml", f"does not scrape {name}'s management port ({name}:{management_port})")
            if f"{name}:8080" in gateway_targets:
                error("deploy/prometheus/prometheus.yml", f"scrapes {name}:8080, the public port, which does not serve /metrics")
            if f":{management_port}" in (DEPLOY / "nginx" / "nginx.conf").read_text():
                error("deploy/nginx/nginx.conf", f"mentions port {management_port}: the management port must never be proxied")
            for other_name, other in services.items():
                for port in other.get("ports") or []:
                    target = str(port.get("target") if isinstance(port, dict) else str(port).split(":")[-1].split("/")[0])
                    if target == management_port:
                        error(where, f"{other_name}: publishes {management_port}, the gateways' management port")
        for key in ("Webex__ClientId", "Webex__ClientSecret", "Webex__RedirectUri"):
            if not env.get(key):
                error(where, f"{name}: no {key}")
        match = re.search(r"service\.instance\.id=([\w-]+)", str(env.get("OTEL_RESOURCE_ATTRIBUTES", "")))
        instance_ids.add(match.group(1) if match else None)
        if f"{name}:8080" not in (DEPLOY / "nginx" / "nginx.conf").read_text():
            error("deploy/nginx/nginx.conf", f"the upstream does not include {name}:8080")
        if service.get("ports"):
            error(where, f"{name}: publishes ports; only nginx should be reachable from outside")
        if not service.get("healthcheck"):
            error(where, f"{name}: no healthcheck")
    if instance_ids != {"gateway-1", "gateway-2"}:
        error(where, f"OTEL_RESOURCE_ATTRIBUTES service.instance.id must differ per instance: {instance_ids}")
    # Every bind-mounted file or folder exists in the repository.
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":")[0]
            kind = volume.get("type") if isinstance(volume, dict) else "bind"
            if kind == "bind" and source:
                relative = pathlib.Path(source).name if not source.startswith("/") else None
                candidate = pathlib.Path(source)
                parts = candidate.parts
                if "deploy" in parts:
                    repo_path = ROOT.joinpath(*parts[parts.index("deploy"):])
                    if not repo_path.exists():
                        error(where, f"{name}: mounts {repo_path.relative_to(ROOT)}, which does not exist")

if errors:
    for message in errors:
        print(f"  {message}", file=sys.stderr)
    print(f"check.py: {len(errors)} problem(s)", file=sys.stderr)
    sys.exit(1)
