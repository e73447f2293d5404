"""What the chart hands the pods since tokens moved to per-agency JWKS and keys to a KEK: the trust
file mounted read-only with JWT_TRUST_FILE, reporting's signing key, the KEK and the name index key
from Secrets, no HS256 secret any more, and the portal behind the Ingress with its NetworkPolicy."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.auth import SERVICE_ISSUER, load_trust
from shared.settings import ServiceSettings, load_settings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "rehapro"
SERVICES = ("intake", "casework", "placement", "reporting")
KEY_HOLDERS = ("intake", "casework", "placement")
SECRET_WORDS = ("SECRET", "PASSWORD", "PIN", "KEY", "KEK")
TRUST_MOUNT = {"name": "jwt-trust", "mountPath": "/etc/rehapro/trust", "readOnly": True}

Doc = dict[str, Any]


def render(values: str | None = None, *sets: str) -> list[Doc]:
    args = ["helm", "template", "r", str(CHART), "--kube-version", "1.33.0"]
    if values:
        args += ["-f", str(CHART / "ci" / f"{values}-values.yaml")]
    for s in sets:
        args += ["--set", s]
    done = subprocess.run(
        args,
        env={"PATH": f"{Path.home()}/go/bin:/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home())},
        capture_output=True,
        text=True,
        check=True,
    )
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def workload(docs: list[Doc], kind: str, name: str) -> Doc:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def container(doc: Doc) -> Doc:
    first: Doc = doc["spec"]["template"]["spec"]["containers"][0]
    return first


def env(doc: Doc) -> dict[str, Doc]:
    return {e["name"]: e for e in container(doc)["env"]}


def pods(docs: list[Doc]) -> list[Doc]:
    """Every workload running the image: the services, their migration Jobs, the portal."""
    return [d for d in docs if d["kind"] in ("Deployment", "Job")]


@pytest.fixture(scope="module")
def default() -> list[Doc]:
    return render()


def test_every_pod_mounts_the_trust_file_read_only_and_names_it(default: list[Doc]) -> None:
    assert len(pods(default)) == 9  # four services, four migration Jobs, the portal
    for doc in pods(default):
        assert TRUST_MOUNT in container(doc)["volumeMounts"], doc["metadata"]["name"]
        assert env(doc)["REHAPRO_JWT_TRUST_FILE"] == {
            "name": "REHAPRO_JWT_TRUST_FILE",
            "value": "/etc/rehapro/trust/trust.json",
        }
        volumes = {v["name"]: v for v in doc["spec"]["template"]["spec"]["volumes"]}
        assert volumes["jwt-trust"]["secret"]["secretName"] == "rehapro-jwt-trust"


def test_the_hs256_secret_and_issuer_of_before_are_gone(default: list[Doc]) -> None:
    for doc in pods(default):
        assert not {"REHAPRO_JWT_SECRET", "REHAPRO_JWT_ISSUER"} & set(env(doc)), doc["metadata"]["name"]
    assert "jwt" not in yaml.safe_load((CHART / "values.yaml").read_text())
    assert "rehapro-jwt\n" not in yaml.safe_dump_all(default)


def test_secrets_come_from_secret_refs_never_from_values(default: list[Doc]) -> None:
    for doc in pods(default):
        for name, entry in env(doc).items():
            if any(w in name for w in SECRET_WORDS) and not name.endswith(("_FILE", "_PROVIDER")):
                assert "secretKeyRef" in entry.get("valueFrom", {}), (doc["metadata"]["name"], name)


def test_name_index_key_in_every_service_and_kek_where_keys_are_held(default: list[Doc]) -> None:
    for service in SERVICES:
        for doc in (
            workload(default, "Deployment", f"r-rehapro-{service}"),
            workload(default, "Job", f"r-rehapro-{service}-migrate"),
        ):
            variables = env(doc)
            assert variables["REHAPRO_NAME_INDEX_KEY"]["valueFrom"]["secretKeyRef"] == {
                "name": "rehapro-name-index",
                "key": "key",
            }
            mounts = {m["name"]: m for m in container(doc)["volumeMounts"]}
            if service in KEY_HOLDERS:
                assert variables["REHAPRO_KEK_PROVIDER"]["value"] == "file"
                assert variables["REHAPRO_KEK_FILE"]["value"] == "/etc/rehapro/kek/kek.json"
                assert mounts["kek"] == {"name": "kek", "mountPath": "/etc/rehapro/kek", "readOnly": True}
            else:
                assert "REHAPRO_KEK_PROVIDER" not in variables
                assert "kek" not in mounts


def test_only_reporting_gets_the_signing_key(default: list[Doc]) -> None:
    signers = {d["metadata"]["name"] for d in pods(default) if "REHAPRO_JWT_SIGNING_KEY_FILE" in env(d)}
    assert signers == {"r-rehapro-reporting", "r-rehapro-reporting-migrate"}
    reporting = workload(default, "Deployment", "r-rehapro-reporting")
    volumes = {v["name"]: v for v in reporting["spec"]["template"]["spec"]["volumes"]}
    # both files: the service reads the key and would otherwise write its public JWKS beside it
    assert {i["path"] for i in volumes["signing-key"]["secret"]["items"]} == {"signing-key.json", "jwks.json"}


def test_env_and_pkcs11_providers_take_the_kek_from_secrets() -> None:
    intake = env(workload(render(None, "keys.provider=env"), "Deployment", "r-rehapro-intake"))
    assert intake["REHAPRO_KEK"]["valueFrom"]["secretKeyRef"] == {"name": "rehapro-intake-kek", "key": "kek.json"}
    hsm = render("external")
    casework = env(workload(hsm, "Deployment", "r-rehapro-casework"))
    assert casework["REHAPRO_KEK_PROVIDER"]["value"] == "pkcs11"
    assert casework["REHAPRO_PKCS11_KEY"]["value"] == "casework-kek-3"
    assert casework["REHAPRO_PKCS11_PIN"]["valueFrom"]["secretKeyRef"] == {"name": "rehapro-hsm-pin", "key": "pin"}
    trust = env(workload(hsm, "Deployment", "r-rehapro-casework"))["REHAPRO_JWT_TRUST_FILE"]["value"]
    assert trust == "/etc/rehapro/trust/issuers.json"


def test_the_production_settings_with_development_defaults_are_all_set(default: list[Doc]) -> None:
    """A setting whose default only suits a developer's machine must come from the chart."""
    must = {"database_url", "kafka_bootstrap", "http_host", "intake_url", "jwt_trust_file", "name_index_key"}
    assert must <= set(ServiceSettings.model_fields)
    for service in SERVICES:
        names = set(env(workload(default, "Deployment", f"r-rehapro-{service}")))
        for field in must:
            assert {f"REHAPRO_{field.upper()}", f"{service.upper()}_{field.upper()}"} & names, (service, field)


def test_inline_trust_file_is_one_the_services_load(tmp_path: Path) -> None:
    docs = render("trust")
    config = workload(docs, "ConfigMap", "r-rehapro-jwt-trust")
    for name, text in config["data"].items():
        (tmp_path / name).write_text(text)
    settings = load_settings("casework").model_copy(update={"jwt_trust_file": str(tmp_path / "trust.json")})
    trust = load_trust(settings)
    assert set(trust.issuers) == {"https://login.jc-en.example/realms/rehapro", SERVICE_ISSUER}
    assert trust.issuers["https://login.jc-en.example/realms/rehapro"].agency == "jc-en"
    assert trust.issuers[SERVICE_ISSUER].keys.key("services-1").key_id == "services-1"
    volumes = {
        v["name"]: v for v in workload(docs, "Deployment", "r-rehapro-casework")["spec"]["template"]["spec"]["volumes"]
    }
    assert volumes["jwt-trust"]["configMap"]["name"] == "r-rehapro-jwt-trust"
    policy = workload(docs, "NetworkPolicy", "r-rehapro-casework")
    assert {"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}], "ports": [{"protocol": "TCP", "port": 443}]} in policy[
        "spec"
    ]["egress"]


def test_portal_behind_the_ingress_calling_the_four_apis(default: list[Doc]) -> None:
    portal = workload(default, "Deployment", "r-rehapro-portal")
    variables = env(portal)
    assert variables["PORTAL_CASEWORK_URL"]["value"] == "http://r-rehapro-casework:8000"
    assert variables["PORTAL_DEV_LOGIN"]["value"] == "false"
    assert container(portal)["command"] == ["python", "-m", "services.portal", "serve"]
    ingress = workload(default, "Ingress", "r-rehapro")
    rules = {r["host"]: r["http"]["paths"][0]["backend"]["service"]["name"] for r in ingress["spec"]["rules"]}
    assert rules["portal.rehapro.example"] == "r-rehapro-portal"
    assert "portal.rehapro.example" in ingress["spec"]["tls"][0]["hosts"]
    own = workload(default, "NetworkPolicy", "r-rehapro-portal")
    apis = {p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in own["spec"]["egress"][1]["to"]}
    assert apis == set(SERVICES)
    assert own["spec"]["ingress"] == [
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
            "ports": [{"protocol": "TCP", "port": 8000}],
        }
    ]
    for service in SERVICES:
        allowed = workload(default, "NetworkPolicy", f"r-rehapro-{service}")["spec"]["ingress"]
        sources = [
            p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
            for r in allowed
            for p in r["from"]
        ]
        assert "portal" in sources, service
