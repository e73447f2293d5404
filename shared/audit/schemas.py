"""The published JSON Schemas (``make schemas`` writes them to docs/schemas): what an auditor
checks each envelope and payload against, without the services' code. Old schema versions stay
published, so every event on a topic is checked against the schema it was written with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=FormatChecker())


@dataclass
class PublishedSchemas:
    envelope: Draft202012Validator
    payloads: dict[tuple[str, int], Draft202012Validator] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> PublishedSchemas:
        """``envelope.json`` and every ``<service>/<Type>.v<N>.json`` under ``folder``."""
        schemas = cls(_validator(json.loads((folder / "envelope.json").read_text())))
        for path in sorted(folder.glob("*/*.json")):
            schema = json.loads(path.read_text())
            schemas.payloads[(schema["x-event-type"], int(schema["x-schema-version"]))] = _validator(schema)
        return schemas

    def problem(self, envelope: dict[str, Any]) -> str | None:
        """The first way this envelope (as parsed JSON) breaks its schemas, or None."""
        error = next(iter(self.envelope.iter_errors(envelope)), None)
        if error is not None:
            return f"envelope schema: {_where(error.absolute_path)}{error.message}"
        key = (envelope["event_type"], envelope["schema_version"])
        validator = self.payloads.get(key)
        if validator is None:
            return f"no published schema for {key[0]} v{key[1]}"
        error = next(iter(validator.iter_errors(envelope["payload"])), None)
        if error is not None:
            return f"{key[0]} v{key[1]} schema: {_where(error.absolute_path)}{error.message}"
        return None


def _where(path: Any) -> str:
    parts = ".".join(str(p) for p in path)
    return f"{parts}: " if parts else ""
