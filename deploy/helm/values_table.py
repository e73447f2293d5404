"""Prints the values table of deploy/helm/rehapro/README.md from values.yaml and the schema
(key, type, default, description); `tests/deploy` checks the README holds the current table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).parent / "rehapro"
GROUPS = {"services", "resources", "autoscaling", "storage", "backup", "sourceTopics", "existingSecrets"}

DESCRIPTIONS = {
    "image.repository": "image of the four services and the portal (deploy/Dockerfile)",
    "image.tag": "tag, used when no digest is set",
    "image.digest": "`sha256:...`: pull by digest (recommended; tag then ignored)",
    "image.pullPolicy": "`IfNotPresent` with digests",
    "imagePullSecrets": "`[{name: ...}]`",
    "auth.trust.from": (
        "where the trust file (trusted issuers, docs/SECURITY.md) comes from: `Secret`, `ConfigMap`"
        " (yours, named `name`) or `inline` (a ConfigMap from `issuers`, `jwksFiles`); mounted"
        " read-only at /etc/rehapro/trust in every pod, `JWT_TRUST_FILE` names it"
    ),
    "auth.trust.name": "the Secret or ConfigMap (`from: Secret`/`ConfigMap`)",
    "auth.trust.key": "its key holding the trust file; its other keys (JWKS files) sit beside it",
    "auth.trust.issuers": "`from: inline`: the trust file's entries (`issuer`, `agency`, `jwks_uri`/`jwks_file`, ...)",
    "auth.trust.jwksFiles": "`from: inline`: file name -> public JWKS, for `jwks_file` entries",
    "auth.signingKeySecret": (
        "Secret (keys `signing-key.json`, `jwks.json`) with reporting's signing key for its tokens to"
        " intake (and the portal's with `portal.devLogin`); `JWT_SIGNING_KEY_FILE`"
    ),
    "keys.provider": "KEK provider of intake, casework, placement: `file` (mounted), `env`, `pkcs11`",
    "keys.kekSecrets": "`file`, `env`: service -> Secret with key `kek.json` (the KEK document)",
    "keys.pkcs11.module": "`pkcs11`: the HSM's PKCS#11 module (must exist in the image)",
    "keys.pkcs11.token": "`pkcs11`: token label",
    "keys.pkcs11.pinSecret": "`pkcs11`: Secret with key `pin` (the token's user PIN)",
    "keys.pkcs11.keyLabels": "`pkcs11`: service -> label of its current KEK on the token",
    "keys.nameIndexSecret": "Secret with key `key` (>= 16 characters): `NAME_INDEX_KEY`, the same for all four",
    "logLevel": "DEBUG, INFO, WARNING, ERROR",
    "readyMaxLag": "a pod is not ready while its projections lag more messages than this",
    "migrations.enabled": "hook Jobs migrate (post-install, pre-upgrade); pods wait for the schema",
    "migrations.backoffLimit": "retries of a migration Job (a first install waits for the database)",
    "migrations.activeDeadlineSeconds": "a migration Job gives up after this",
    "migrations.resources": "requests and limits of the migration Jobs",
    "kafka.create": "render the Strimzi Kafka, node pool, topics and users",
    "kafka.bootstrap": "brokers when `create: false`",
    "kafka.securityProtocol": "when `create: false`: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
    "kafka.existingUserSecrets": "when `create: false`: service -> secret (key `password`, username = secret name)",
    "kafka.version": "Kafka version for Strimzi (empty: the operator's default)",
    "kafka.replicas": "nodes of the dual-role (controller + broker) node pool",
    "kafka.storage": "`size`, `class` of each node's volume",
    "kafka.resources": "requests and limits of each node",
    "kafka.partitions": "partitions of each service's topic (upper bound of consumers per group)",
    "kafka.replicationFactor": "replicas of every topic",
    "kafka.minInsyncReplicas": "`min.insync.replicas` (acks=all producers)",
    "kafka.topicPrefix": "prefix of every topic name (e.g. `JC_EN_`)",
    "kafka.groupPrefix": "prefix of consumer group ids (empty: `topicPrefix`)",
    "kafka.sourceTopics": (
        "per source (`intake`, `casework`, `placement`): topic read instead of the source's own,"
        " e.g. a MirrorMaker 2 mirror"
    ),
    "postgres.create": "render one CloudNativePG Cluster per service",
    "postgres.existingSecrets": "when `create: false`: service -> secret with key `uri`",
    "postgres.instances": "instances per cluster (1 primary + replicas)",
    "postgres.imageName": "PostgreSQL operand image",
    "postgres.storage": "`size`, `class` of each instance's volume",
    "postgres.resources": "requests and limits of each instance",
    "postgres.operatorNamespace": "namespace of the CloudNativePG operator (NetworkPolicy)",
    "postgres.backup": (
        "`enabled`, `schedule` (6 fields), `retentionPolicy`, `destinationPath`, `endpointURL`,"
        " `s3CredentialsSecret` (keys ACCESS_KEY_ID, ACCESS_SECRET_KEY)"
    ),
    "services": (
        "per service: `resources`, `ingressHost`, `extraEnv`; intake, casework, placement also"
        " `replicas` and `autoscaling` (`enabled`, `minReplicas`, `maxReplicas`,"
        " `targetCPUUtilizationPercentage`); reporting has neither (always 1)"
    ),
    "portal.enabled": "render the portal (Deployment, Service, PDB, HPA, NetworkPolicy, Ingress host)",
    "portal.replicas": "replicas when `autoscaling.enabled` is false",
    "portal.autoscaling": "`enabled`, `minReplicas`, `maxReplicas`, `targetCPUUtilizationPercentage`",
    "portal.resources": "requests and limits of the portal",
    "portal.ingressHost": "the portal's host on the Ingress",
    "portal.devLogin": "demo login signed with `auth.signingKeySecret` (only where the trust file lists its issuers)",
    "portal.oidc": (
        "`issuer`, `clientId`, `redirectUri`, `clientSecret` (Secret with key `client-secret`); carried,"
        " the code flow is not implemented yet"
    ),
    "portal.extraEnv": "more environment variables of the portal",
    "ingress.enabled": "one Ingress, a host per service and the portal",
    "ingress.className": "IngressClass",
    "ingress.annotations": "annotations of the Ingress",
    "ingress.tlsSecret": "TLS secret covering all hosts",
    "networkPolicy.enabled": "deny-all plus the exact allows",
    "networkPolicy.ingressNamespaceSelector": "labels of the ingress controller's namespace",
    "networkPolicy.monitoringNamespaceSelector": "labels of Prometheus' namespace",
    "networkPolicy.dnsNamespaceSelector": "labels of the DNS namespace",
    "networkPolicy.extraEgress": "more egress rules of the services (external brokers or databases)",
    "networkPolicy.identityProviders": (
        "NetworkPolicyPeers of the identity providers' JWKS URLs, reachable on 443 by the services and the portal"
    ),
    "monitoring.serviceMonitor": "`enabled`, `interval`, `labels`",
    "monitoring.prometheusRule.enabled": 'render the alert rules (docs/OPERATIONS.md "Alerts")',
    "monitoring.prometheusRule.labels": "labels the Prometheus rule selector needs",
    "monitoring.prometheusRule.consumerLagMessages": "RehaproConsumerLag threshold",
    "monitoring.prometheusRule.outboxAgeSeconds": "RehaproOutboxBacklog threshold",
    "monitoring.prometheusRule.parkedOldestSeconds": "RehaproParkedTooLong threshold",
    "monitoring.prometheusRule.errorRatio": "RehaproHighErrorRate threshold (share of 5xx)",
    "monitoring.prometheusRule.p99Seconds": "RehaproSlowRequests threshold",
    "monitoring.dashboard": "`enabled`, `labels` of the Grafana dashboard ConfigMap",
}


def rows(values: dict[str, Any], schema: dict[str, Any], path: str = "") -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for key, value in values.items():
        full = f"{path}{key}"
        sub = schema.get("properties", {}).get(key, {})
        if isinstance(value, dict) and value and full not in DESCRIPTIONS and key not in GROUPS:
            out += rows(value, sub, f"{full}.")
            continue
        kind = sub.get("type", "enum" if "enum" in sub else "quantity")
        out.append((full, str(kind), json.dumps(value) if len(json.dumps(value)) <= 40 else "see values.yaml"))
    return out


def table() -> str:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    schema = json.loads((CHART / "values.schema.json").read_text())
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, kind, default in rows(values, schema):
        lines.append(f"| `{key}` | {kind} | `{default}` | {DESCRIPTIONS[key]} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(table(), end="")
