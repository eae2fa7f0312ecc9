"""The example alert rules (deploy/prometheus/hub-alerts.yml) are a valid Prometheus rule file
and watch only metrics the hub exports: a renamed metric would otherwise leave an alert that
silently never fires. The exported names come from app/metrics.py's prometheus_client objects
themselves, with the sample suffixes prometheus_client adds, and every one the rules name shows
in a real scrape after real traffic; the alerts on them fire as promtool's unit tests
(hub-alerts.test.yml) expect. (promtool comes with Debian's `prometheus` package:
scripts/ensure_test_services.sh installs it.)"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml
from prometheus_client.metrics import MetricWrapperBase

from app import metrics
from tests.fake_upstream import Fault
from tests.ops.scrape import idle_hub, names

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "hub-alerts.yml"
RULE_TESTS = RULES.with_name("hub-alerts.test.yml")
# `up` is the series Prometheus itself records for each scrape of the hub, not a hub metric.
PROMETHEUS_SERIES = {"up"}
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
            "gauge": ("",), "summary": ("", "_sum", "_count", "_created")}
PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
                "group_right", "bool", "offset", "inf", "nan"}


def exported_names() -> set[str]:
    families = [family for obj in vars(metrics).values() if isinstance(obj, MetricWrapperBase)
                for family in obj.describe()]
    for collector in (metrics.PeriodicJobsCollector([]), metrics.QueueDepthCollector(None),
                      metrics.BreakerCollector([])):
        families += list(collector.collect())
    return {family.name + suffix for family in families for suffix in SUFFIXES[family.type]}


def metric_names(expr: str) -> set[str]:
    """The series an expression selects: identifiers outside strings, label matchers, range
    selectors and grouping clauses, that are neither functions nor PromQL keywords."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr)
    return {name for name in names if name.lower() not in PROMQL_WORDS}


def rules() -> list[dict]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_rule_is_a_complete_alert() -> None:
    found = rules()
    assert len(found) >= 8
    for rule in found:
        assert rule.get("alert"), rule
        assert rule.get("expr"), rule
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "")), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
    assert len({rule["alert"] for rule in found}) == len(found)


def test_every_metric_in_an_expression_is_one_the_hub_exports() -> None:
    exported = exported_names()
    assert {"hub_provider_attempts_total", "hub_job_time_to_first_token_seconds_bucket",
            "hub_periodic_job_overdue", "hub_http_requests_total", "hub_queue_depth",
            "hub_queue_depth_up", "hub_channel_breaker_open"} <= exported
    for rule in rules():
        used = metric_names(rule["expr"])
        assert used, rule["alert"]
        assert used <= exported | PROMETHEUS_SERIES, (rule["alert"], used - exported)


def test_the_name_check_catches_an_unknown_metric() -> None:
    used = metric_names('sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) > 0.1')
    assert used == {"http_requests_total"}
    assert not used <= exported_names()


def test_every_alert_is_explained_in_the_operations_docs() -> None:
    docs = (RULES.parents[2] / "docs" / "operations.md").read_text()
    for rule in rules():
        assert f"`{rule['alert']}`" in docs, rule["alert"]


def test_promtool_accepts_the_rule_file() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def promtool(*args: str) -> subprocess.CompletedProcess:
    found = shutil.which("promtool")
    assert found, "promtool is missing: scripts/ensure_test_services.sh installs `prometheus`"
    return subprocess.run([found, *args], capture_output=True, text=True, timeout=60,
                          check=False)


def test_promtool_unit_tests_of_the_alerts_pass() -> None:
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    tested = {test["alertname"] for group in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for test in group["alert_rule_test"]}
    assert {"HubHttpErrorRateHigh", "HubQueueBacklog", "HubBrokerUnreachable",
            "HubChannelBreakerOpen"} <= tested <= {rule["alert"] for rule in rules()}


def test_every_metric_the_rules_name_is_in_a_scrape_after_real_traffic(migrated_database) -> None:
    """A hub whose queue no worker consumes and whose OpenAI channel starts failing: after a
    streamed completion, a 404, a chat job left in RabbitMQ and completions failing until the
    breaker opens, one scrape holds every series the rules select."""
    with idle_hub(HUB_BREAKER_FAILURE_THRESHOLD=2) as hub:
        assert hub.completion(stream=True).status_code == 200
        assert hub.http.get("/api/no-such-thing").status_code == 404
        hub.chat_job()
        hub.upstream.fail_next("chat", Fault(status=500), times=2)
        assert hub.completion().status_code >= 500
        scraped = names(hub.scrape())
    for rule in rules():
        missing = metric_names(rule["expr"]) - PROMETHEUS_SERIES - scraped
        assert not missing, (rule["alert"], missing)
