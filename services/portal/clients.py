"""The portal's only way to the data: the four services' HTTP APIs, called with the user's own
token, so each service's access rules decide what the user sees. The portal stores nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.consistency import STATE_HEADER, TOKEN_HEADER


@dataclass(frozen=True)
class Reply:
    """One answer of a service: status, decoded JSON body and the consistency headers."""

    status: int
    body: Any
    token: str | None = None
    behind: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def errors(self) -> dict[str, str]:
        """The API's refusal per field (``errors[].field``), ``_`` for the form as a whole."""
        if self.ok or not isinstance(self.body, dict):
            return {}
        found = {
            str(e.get("field") or "_"): str(e.get("reason", ""))
            for e in self.body.get("errors") or []
            if isinstance(e, dict)
        }
        return found or {"_": str(self.body.get("error", self.status))}


@dataclass
class Backends:
    """One HTTP client per service; tests hand in ASGI transports instead of URLs."""

    urls: Mapping[str, str]
    timeout_s: float = 10.0
    transports: Mapping[str, httpx.AsyncBaseTransport] = field(default_factory=dict)
    _clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def client(self, service: str) -> httpx.AsyncClient:
        if service not in self._clients:
            self._clients[service] = httpx.AsyncClient(
                base_url=self.urls[service], transport=self.transports.get(service), timeout=self.timeout_s
            )
        return self._clients[service]

    async def close(self) -> None:
        for c in self._clients.values():
            await c.aclose()
        self._clients.clear()

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        token: str,
        *,
        consistency: str | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Reply:
        headers = {"Authorization": f"Bearer {token}"}
        if consistency:
            headers[TOKEN_HEADER] = consistency
        r = await self.client(service).request(method, path, headers=headers, json=json, params=params)
        try:
            body = r.json()
        except ValueError:
            body = r.text
        return Reply(
            r.status_code, body, r.headers.get(TOKEN_HEADER), r.headers.get(STATE_HEADER, "").lower() == "behind"
        )
