"""The published JSON Schemas (``make schemas`` writes them to docs/schemas): what an auditor
checks each envelope and payload against, without the services' code. Old schema versions stay
published, so every event on a topic is checked against the schema it was written with.

The schemas are compiled to Python once (fastjsonschema): interpreted validation took nine
tenths of ``verify``'s time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastjsonschema

Validate = Callable[[Any], Any]
# JSON Schema leaves "uuid" to the implementation; pydantic writes it for every UUID field.
FORMATS = {"uuid": r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"}


def _compile(schema: dict[str, Any]) -> Validate:
    validate: Validate = fastjsonschema.compile(schema, formats=FORMATS)
    return validate


@dataclass
class PublishedSchemas:
    envelope: Validate
    payloads: dict[tuple[str, int], Validate] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> PublishedSchemas:
        """``envelope.json`` and every ``<service>/<Type>.v<N>.json`` under ``folder``."""
        schemas = cls(_compile(json.loads((folder / "envelope.json").read_text())))
        for path in sorted(folder.glob("*/*.json")):
            schema = json.loads(path.read_text())
            schemas.payloads[(schema["x-event-type"], int(schema["x-schema-version"]))] = _compile(schema)
        return schemas

    def problem(self, envelope: dict[str, Any]) -> str | None:
        """The first way this envelope (as parsed JSON) breaks its schemas, or None."""
        try:
            self.envelope(envelope)
        except fastjsonschema.JsonSchemaValueException as exc:
            return f"envelope schema: {exc.message}"
        key = (envelope["event_type"], envelope["schema_version"])
        validate = self.payloads.get(key)
        if validate is None:
            return f"no published schema for {key[0]} v{key[1]}"
        try:
            validate(envelope["payload"])
        except fastjsonschema.JsonSchemaValueException as exc:
            return f"{key[0]} v{key[1]} schema: {exc.message.replace('data', 'payload', 1)}"
        return None
