"""Writes deploy/helm/rehapro/values.schema.json: every object closed (unknown keys rejected),
every leaf typed. Run after changing values.yaml: `python deploy/helm/schema_gen.py`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "rehapro" / "values.schema.json"


def obj(props: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": props}
    schema["required"] = sorted(props) if required is None else required
    return schema | extra


def string(**extra: Any) -> dict[str, Any]:
    return {"type": "string"} | extra


def integer(minimum: int = 0, **extra: Any) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum} | extra


QUANTITY = {
    "anyOf": [{"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$"}, {"type": "number"}]
}
LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
DNS_NAME = string(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", maxLength=253)
TOPIC = string(pattern=r"^[a-zA-Z0-9._-]{0,249}$")
RESOURCE_AMOUNTS = obj({"cpu": QUANTITY, "memory": QUANTITY, "ephemeral-storage": QUANTITY}, required=["cpu", "memory"])
RESOURCES = obj({"requests": RESOURCE_AMOUNTS, "limits": RESOURCE_AMOUNTS})
STORAGE = obj({"size": QUANTITY, "class": string()})
ENV = {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {"name": string(minLength=1)}}}
AUTOSCALING = obj(
    {
        "enabled": {"type": "boolean"},
        "minReplicas": integer(1),
        "maxReplicas": integer(1),
        "targetCPUUtilizationPercentage": integer(1, maximum=100),
    }
)


FILE_KEY = string(pattern=r"^[-._a-zA-Z0-9]+$", maxLength=253)
KEY_HOLDERS = ("intake", "casework", "placement")  # the services with subject keys (ServiceDefinition.subject_keys)
# one entry of the trust file (shared/auth.py load_trust, docs/SECURITY.md "Trust file")
ISSUER = obj(
    {
        "issuer": string(minLength=1),
        "agency": string(minLength=1),
        "jwks_uri": string(pattern=r"^https://"),
        "jwks_file": FILE_KEY,
        "role_claim": string(minLength=1),
        "role_map": LABELS,
        "subject_claim": string(minLength=1),
        "refresh_cooldown_s": {"type": "number", "minimum": 0},
        "agency_claim": {"type": "boolean"},
    },
    required=["issuer", "agency"],
    oneOf=[{"required": ["jwks_uri"]}, {"required": ["jwks_file"]}],
)
TRUST = obj(
    {
        "from": {"enum": ["Secret", "ConfigMap", "inline"]},
        "name": DNS_NAME,
        "key": FILE_KEY,
        "issuers": {"type": "array", "items": ISSUER},
        "jwksFiles": {"type": "object", "propertyNames": FILE_KEY, "additionalProperties": string(minLength=1)},
    },
    allOf=[
        {
            "if": {"properties": {"from": {"const": "inline"}}},
            "then": {"properties": {"issuers": {"minItems": 1}}},
        }
    ],
)


def service(scales: bool) -> dict[str, Any]:
    props: dict[str, Any] = {"resources": RESOURCES, "ingressHost": DNS_NAME, "extraEnv": ENV}
    if scales:
        props |= {"replicas": integer(1), "autoscaling": AUTOSCALING}
    return obj(props)


SCHEMA: dict[str, Any] = obj(
    {
        "image": obj(
            {
                "repository": string(minLength=1),
                "tag": string(minLength=1),
                "digest": string(pattern=r"^(sha256:[a-f0-9]{64})?$"),
                "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
            }
        ),
        "imagePullSecrets": {"type": "array", "items": obj({"name": string(minLength=1)})},
        "auth": obj({"trust": TRUST, "signingKeySecret": DNS_NAME}),
        "keys": obj(
            {
                "provider": {"enum": ["file", "env", "pkcs11"]},
                "kekSecrets": obj({s: DNS_NAME for s in KEY_HOLDERS}),
                "pkcs11": obj(
                    {
                        "module": string(minLength=1),
                        "token": string(minLength=1),
                        "pinSecret": DNS_NAME,
                        "keyLabels": obj({s: string(minLength=1) for s in KEY_HOLDERS}),
                    }
                ),
                "nameIndexSecret": DNS_NAME,
            }
        ),
        "logLevel": {"enum": ["DEBUG", "INFO", "WARNING", "ERROR"]},
        "readyMaxLag": integer(1),
        "migrations": obj(
            {
                "enabled": {"type": "boolean"},
                "backoffLimit": integer(0),
                "activeDeadlineSeconds": integer(60),
                "resources": RESOURCES,
            }
        ),
        "kafka": obj(
            {
                "create": {"type": "boolean"},
                "bootstrap": string(),
                "securityProtocol": {"enum": ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]},
                "existingUserSecrets": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {s: DNS_NAME for s in ("intake", "casework", "placement", "reporting")},
                },
                "version": string(pattern=r"^([0-9]+\.[0-9]+\.[0-9]+)?$"),
                "replicas": integer(1),
                "storage": STORAGE,
                "resources": RESOURCES,
                "partitions": integer(1),
                "replicationFactor": integer(1),
                "minInsyncReplicas": integer(1),
                "topicPrefix": TOPIC,
                "groupPrefix": TOPIC,
                "sourceTopics": obj({s: TOPIC for s in ("intake", "casework", "placement")}),
            },
            allOf=[
                {
                    "if": {"properties": {"create": {"const": False}}},
                    "then": {"properties": {"bootstrap": {"minLength": 1}}},
                }
            ],
        ),
        "postgres": obj(
            {
                "create": {"type": "boolean"},
                "existingSecrets": obj({s: DNS_NAME for s in ("intake", "casework", "placement", "reporting")}),
                "instances": integer(1),
                "imageName": string(minLength=1),
                "storage": STORAGE,
                "resources": RESOURCES,
                "operatorNamespace": DNS_NAME,
                "backup": obj(
                    {
                        "enabled": {"type": "boolean"},
                        "schedule": string(pattern=r"^(\S+\s+){5}\S+$"),
                        "retentionPolicy": string(pattern=r"^[1-9][0-9]*[dwm]$"),
                        "destinationPath": string(minLength=1),
                        "endpointURL": string(),
                        "s3CredentialsSecret": DNS_NAME,
                    }
                ),
            }
        ),
        "services": obj(
            {
                "intake": service(True),
                "casework": service(True),
                "placement": service(True),
                # reporting has no replicas key: it must stay at one (the schema rejects replicas: 2)
                "reporting": service(False),
            }
        ),
        "portal": obj(
            {
                "enabled": {"type": "boolean"},
                "replicas": integer(1),
                "autoscaling": AUTOSCALING,
                "resources": RESOURCES,
                "ingressHost": DNS_NAME,
                "devLogin": {"type": "boolean"},
                "oidc": obj(
                    {
                        "issuer": string(),
                        "clientId": string(),
                        "redirectUri": string(),
                        "clientSecret": {"anyOf": [DNS_NAME, {"const": ""}]},
                    }
                ),
                "extraEnv": ENV,
            }
        ),
        "ingress": obj(
            {
                "enabled": {"type": "boolean"},
                "className": string(minLength=1),
                "annotations": LABELS,
                "tlsSecret": DNS_NAME,
            }
        ),
        "networkPolicy": obj(
            {
                "enabled": {"type": "boolean"},
                "ingressNamespaceSelector": LABELS,
                "monitoringNamespaceSelector": LABELS,
                "dnsNamespaceSelector": LABELS,
                "extraEgress": {"type": "array", "items": {"type": "object"}},
                "identityProviders": {"type": "array", "items": {"type": "object"}},
            }
        ),
        "monitoring": obj(
            {
                "serviceMonitor": obj(
                    {"enabled": {"type": "boolean"}, "interval": string(pattern=r"^[0-9]+[smh]$"), "labels": LABELS}
                ),
                "prometheusRule": obj(
                    {
                        "enabled": {"type": "boolean"},
                        "labels": LABELS,
                        "consumerLagMessages": integer(1),
                        "outboxAgeSeconds": integer(1),
                        "parkedOldestSeconds": integer(1),
                        "errorRatio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                        "p99Seconds": {"type": "number", "exclusiveMinimum": 0},
                    }
                ),
                "dashboard": obj({"enabled": {"type": "boolean"}, "labels": LABELS}),
            }
        ),
    },
    **{"$schema": "http://json-schema.org/draft-07/schema#", "title": "rehapro chart values"},
)


if __name__ == "__main__":
    OUT.write_text(json.dumps(SCHEMA, indent=2) + "\n")
    print(f"wrote {OUT}")
