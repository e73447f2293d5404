"""Vendors the JSON schemas kubeconform checks the chart against (CI runs offline).

Kubernetes kinds: from the ``kubernetes-validate`` wheel (its ``_definitions.json`` references
inlined, so each file stands alone). Custom resources: the ``openAPIV3Schema`` of the Strimzi,
CloudNativePG and prometheus-operator CRDs, made strict (objects with declared properties reject
unknown keys, as kubeconform's ``-strict`` does for core kinds).

    python deploy/helm/vendor_schemas.py --wheel-dir DIR --crd FILE [--crd FILE ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).parent / "schemas"
KUBERNETES_VERSION = "v1.33.0"
KINDS = [
    "configmap-v1",
    "deployment-apps-v1",
    "horizontalpodautoscaler-autoscaling-v2",
    "ingress-networking-v1",
    "job-batch-v1",
    "networkpolicy-networking-v1",
    "poddisruptionbudget-policy-v1",
    "service-v1",
    "serviceaccount-v1",
]
_REF = "/api/_definitions.json#/$defs/"
CRD_KINDS = {
    "Kafka",
    "KafkaNodePool",
    "KafkaTopic",
    "KafkaUser",
    "KafkaMirrorMaker2",
    "Cluster",
    "ScheduledBackup",
    "ServiceMonitor",
    "PrometheusRule",
}


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith((_REF, "#/$defs/")):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _relink(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (v.replace(_REF, "#/definitions/").replace("#/$defs/", "#/definitions/") if k == "$ref" else _relink(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_relink(v) for v in node]
    return node


def standalone(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """The schema with every definition it reaches (transitively) under its own ``definitions``."""
    needed: set[str] = set()
    todo: set[str] = set()
    _refs(schema, todo)
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        _refs(definitions[name], todo)
    out = _relink(schema)
    out["definitions"] = {n: _relink(definitions[n]) for n in sorted(needed)}
    return dict(out)


def strict(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: strict(v) for k, v in node.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [strict(v) for v in node]
    return node


def vendor_kubernetes(wheel_dir: Path) -> None:
    src = wheel_dir / "kubernetes_validate" / "kubernetes-json-schema" / f"{KUBERNETES_VERSION}-local-strict"
    definitions = json.loads((src / "_definitions.json").read_text())["$defs"]
    dest = OUT / "kubernetes" / f"{KUBERNETES_VERSION}-standalone-strict"
    dest.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        schema = json.loads((src / f"{kind}.json").read_text())
        (dest / f"{kind}.json").write_text(json.dumps(standalone(schema, definitions), separators=(",", ":")) + "\n")


def vendor_crd(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc["spec"]
        kind = spec["names"]["kind"]
        if kind not in CRD_KINDS:
            continue
        for version in spec["versions"]:
            if not version.get("served", True):
                continue
            schema = strict(version["schema"]["openAPIV3Schema"])
            dest = OUT / "crds" / spec["group"]
            dest.mkdir(parents=True, exist_ok=True)
            name = f"{kind.lower()}_{version['name']}.json"
            (dest / name).write_text(json.dumps(schema, separators=(",", ":")) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel-dir", type=Path, help="the unpacked kubernetes-validate wheel")
    parser.add_argument("--crd", type=Path, action="append", default=[], help="a CRD YAML file")
    args = parser.parse_args()
    if args.wheel_dir:
        vendor_kubernetes(args.wheel_dir)
    for crd in args.crd:
        vendor_crd(crd)


if __name__ == "__main__":
    main()
