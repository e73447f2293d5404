"""The Helm chart, rendered and validated as CI does (deploy/helm/check.sh), and the chart's
table of what each service consumes checked against the services' own definitions."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from shared.runtime import SERVICE_GROUP, ServiceDefinition, service_group_id
from shared.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "rehapro"
SERVICES = ("intake", "casework", "placement", "reporting")


def _definition(service: str) -> ServiceDefinition:
    definition = importlib.import_module(f"services.{service}.app").definition
    assert isinstance(definition, ServiceDefinition)
    return definition


def chart_topology() -> dict[str, dict[str, list[str]]]:
    text = (CHART / "templates" / "_topology.tpl").read_text()
    body = re.search(r'define "rehapro.topology" -}}\n(.*?)\n{{- end', text, re.S)
    assert body, "rehapro.topology not found"
    loaded: dict[str, dict[str, list[str]]] = yaml.safe_load(body.group(1))
    return loaded


def testchart_topology_matches_the_services_definitions() -> None:
    """ACLs and dead-letter topics come from this table: a new projection or source needs both."""
    topology = chart_topology()
    assert set(topology) == set(SERVICES)
    for service in SERVICES:
        projections = _definition(service).projections
        assert sorted(topology[service]["projections"]) == sorted(p.name for p in projections), service
        assert sorted(topology[service]["consumes"]) == sorted({t for p in projections for t in p.topics}), service


def test_each_services_one_consumer_group_is_inside_its_acl_prefix() -> None:
    """One group per service, ``<groups><service>.projections``: the chart grants the group
    prefix ``<groups><service>.``, and no projection's dead-letter topic can take its name."""
    acl = (CHART / "templates" / "kafka.yaml").read_text()
    assert "{ type: group, name: {{ $groups }}{{ $name }}., patternType: prefix }" in acl
    for service in SERVICES:
        group = service_group_id(load_settings(service, topic_prefix="P.", group_prefix="G."))
        assert group == f"G.{service}.{SERVICE_GROUP}"
        assert SERVICE_GROUP not in chart_topology()[service]["projections"]


def test_chart_lints_renders_validates_and_passes_checkov(tmp_path: Path) -> None:
    """helm lint --strict, helm template per named value set, kubeconform -strict on the vendored
    schemas, checkov with 0 failed checks, and bad values rejected by values.schema.json."""
    done = subprocess.run(
        ["bash", str(ROOT / "deploy" / "helm" / "check.sh")],
        env={"CHART_RENDER_DIR": str(tmp_path), "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home())},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "chart checks passed" in done.stdout
    rendered = list(yaml.safe_load_all((tmp_path / "production.yaml").read_text()))
    kinds = sorted({d["kind"] for d in rendered if d})
    assert {"Kafka", "KafkaNodePool", "KafkaUser", "Cluster", "ScheduledBackup", "PrometheusRule"} <= set(kinds)
    names = [d["metadata"]["name"] for d in rendered if d]
    assert all(n.startswith("rel-production-rehapro") for n in names), names
    topics = {d["spec"]["topicName"] for d in rendered if d and d["kind"] == "KafkaTopic"}
    assert {"JC_EN_intake.events", "JC_EN_intake.audit", "JC_EN_intake.register.dlq"} <= topics


def test_reporting_never_runs_two_replicas(tmp_path: Path) -> None:
    """One replica and no surge: a rollout stops the old pod before the new one starts."""
    done = subprocess.run(
        ["helm", "template", "r", str(CHART), "--kube-version", "1.33.0", "-s", "templates/services.yaml"],
        env={"PATH": f"{Path.home()}/go/bin:/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home())},
        capture_output=True,
        text=True,
        check=True,
    )
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    reporting = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "r-rehapro-reporting")
    assert reporting["spec"]["replicas"] == 1
    assert reporting["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    hpas = {d["metadata"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    assert hpas == {"r-rehapro-intake", "r-rehapro-casework", "r-rehapro-placement"}


def test_image_is_multi_stage_non_root_without_dev_or_bench_dependencies() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") == 2
    assert "--no-default-groups" in dockerfile  # neither the dev nor the bench group (py-spy, ...)
    runtime = dockerfile.split("AS runtime", 1)[1]
    assert "USER 10001" in runtime
    assert "uv sync" not in runtime
    assert "COPY --from=builder /app/.venv /app/.venv" in runtime


def test_compose_keeps_kafka_data_and_loads_the_demo_once() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose" / "docker-compose.yml").read_text())
    assert "kafkadata:/var/lib/kafka/data" in compose["services"]["kafka"]["volumes"]
    demo = compose["services"]["demo"]
    assert demo["restart"] == "no"
    assert all(c == {"condition": "service_healthy"} for c in demo["depends_on"].values())


def test_chart_readme_has_the_current_values_table() -> None:
    """Every value documented: the table is generated from values.yaml and the schema."""
    sys.path.insert(0, str(ROOT / "deploy" / "helm"))
    try:
        values_table = importlib.import_module("values_table")
    finally:
        sys.path.pop(0)
    assert values_table.table() in (CHART / "README.md").read_text()


def test_values_schema_is_generated_from_schema_gen() -> None:
    generated = subprocess.run(
        [sys.executable, "-c", "import json, schema_gen; print(json.dumps(schema_gen.SCHEMA, indent=2))"],
        cwd=ROOT / "deploy" / "helm",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(generated) == json.loads((CHART / "values.schema.json").read_text())
