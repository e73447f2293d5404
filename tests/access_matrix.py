"""The access matrix, read from the OpenAPI: every operation's declared decision (``x-access``,
see ``shared.web.access``), the rules of the service's ``access.py`` it names, what those rules
say for a caller on given facts, and the access table of the service's README.

The expectation of a cell is never typed by hand: ``judge`` calls the very functions the route
declares, in order, with the caller and the facts the test loaded from the real stores; a
``NotFound`` is 404, a ``Forbidden`` (or a predicate's ``False``) 403, anything else allowed."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, get_type_hints

from shared.domain import Forbidden, NotFound
from shared.principal import Principal
from shared.web import ACCESS_KEY, AUTHENTICATED, PUBLIC

SERVICES = ("intake", "casework", "placement", "reporting")
METHODS = ("get", "post", "put", "patch", "delete")
Outcome = Literal["allowed", 403, 404]
# one rule: ``name``, ``name(CONSTANT, ...)`` or ``service.name(...)`` (another service's rule)
_RULE = re.compile(r"^(?:(?P<service>\w+)\.)?(?P<name>\w+)(?:\((?P<args>[\w\s,]*)\))?$")
TABLE_BEGIN = "<!-- access-table:begin (made from the routes' x-access; tests/unit/test_access_declarations.py) -->"
TABLE_END = "<!-- access-table:end -->"


def access_module(service: str) -> ModuleType:
    return importlib.import_module(f"services.{service}.access")


@dataclass(frozen=True)
class Rule:
    module: ModuleType
    name: str
    args: tuple[str, ...]

    @property
    def function(self) -> Callable[..., Any]:
        return getattr(self.module, self.name)  # type: ignore[no-any-return]

    def constants(self) -> list[Any]:
        return [getattr(self.module, a) for a in self.args]


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    path: str
    resource: str
    decision: str

    @property
    def label(self) -> str:
        return f"{self.service} {self.method} {self.path}"

    @property
    def open(self) -> bool:
        """No rule of access.py: open to all (``public``) or to any valid token."""
        return self.decision in (PUBLIC, AUTHENTICATED)

    def rules(self) -> list[Rule]:
        if self.open:
            return []
        return [parse_rule(self.service, part.strip()) for part in self.decision.split("&")]


def parse_rule(service: str, text: str) -> Rule:
    match = _RULE.match(text)
    if match is None:
        raise ValueError(f"not a rule: {text!r}")
    module = access_module(match["service"] or service)
    args = tuple(a.strip() for a in (match["args"] or "").split(",") if a.strip())
    return Rule(module, match["name"], args)


def operations(spec: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), path, op) for path, item in spec["paths"].items() for m, op in item.items() if m in METHODS]


def undeclared(spec: Mapping[str, Any]) -> list[str]:
    """Operations that declare no access decision (each one fails the matrix)."""
    return [f"{m} {p}" for m, p, op in operations(spec) if not isinstance(op.get(ACCESS_KEY), dict)]


def routes(service: str, spec: Mapping[str, Any]) -> list[Route]:
    return [
        Route(service, m, p, op[ACCESS_KEY]["resource"], op[ACCESS_KEY]["decision"])
        for m, p, op in operations(spec)
        if isinstance(op.get(ACCESS_KEY), dict)
    ]


def unresolved(route: Route) -> list[str]:
    """Rules of a declaration that name no function (or constant) of the access module."""
    problems: list[str] = []
    for rule in route.rules():
        if not callable(getattr(rule.module, rule.name, None)):
            problems.append(f"{route.label}: {rule.module.__name__} has no rule {rule.name}")
        problems += [
            f"{route.label}: no constant {a} in {rule.module.__name__}"
            for a in rule.args
            if not hasattr(rule.module, a)
        ]
    return problems


# ------------------------------------------------------------------ the expectation


class Missing(Exception):
    """A rule needs a record the caller's request names but that does not exist (404)."""


Bind = Callable[[str, Any], Any]


def judge(route: Route, principal: Principal, bind: Bind) -> Outcome:
    """What the declared rules say for ``principal``. ``bind(name, annotation)`` gives each
    further parameter of a rule (a loaded state by its type, a value by its name), raises
    ``Missing`` for a record that is not there, or returns ``inspect.Parameter.empty`` to leave a
    parameter with a default alone."""
    for rule in route.rules():
        function = rule.function
        hints = get_type_hints(function)
        constants = rule.constants()
        params = list(inspect.signature(function).parameters.values())[1 + len(constants) :]
        kwargs: dict[str, Any] = {}
        try:
            for p in params:
                value = bind(p.name, hints.get(p.name))
                if value is inspect.Parameter.empty:
                    if p.default is inspect.Parameter.empty:
                        raise LookupError(f"{route.label}: nothing to bind {rule.name}({p.name})")
                    continue
                kwargs[p.name] = value
            result = function(principal, *constants, **kwargs)
        except (NotFound, Missing):
            return 404
        except Forbidden:
            return 403
        if result is False:
            return 403
    return "allowed"


# ------------------------------------------------------------------ README tables


def table(service: str, spec: Mapping[str, Any]) -> str:
    """The README's access table of ``service``: one row per operation, in OpenAPI order."""
    lines = [
        TABLE_BEGIN,
        "| Method | Path | Resource | Decision (rules of access.py, in order) |",
        "|---|---|---|---|",
    ]
    for r in routes(service, spec):
        decision = " & ".join(f"`{part.strip()}`" for part in r.decision.split("&"))
        lines.append(f"| {r.method} | `{r.path}` | {r.resource} | {decision} |")
    lines.append(TABLE_END)
    return "\n".join(lines)


def readme_table(text: str) -> str | None:
    """The generated table as it stands in a README (``None`` if it has none)."""
    start, end = text.find(TABLE_BEGIN), text.find(TABLE_END)
    if start < 0 or end < 0:
        return None
    return text[start : end + len(TABLE_END)]


def write_table(service: str, spec: Mapping[str, Any], readme: Path) -> None:
    """Put the generated table into ``readme`` (in place of the old one, or at the start of its
    ``## Access rules`` section)."""
    text = readme.read_text()
    new = table(service, spec)
    old = readme_table(text)
    if old is not None:
        text = text.replace(old, new)
    else:
        head = "## Access rules\n"
        at = text.index(head) + len(head)
        text = text[:at] + "\n" + new + "\n" + text[at:]
    readme.write_text(text)


ROOT = Path(__file__).resolve().parents[1]


def spec_of(service: str) -> dict[str, Any]:
    """The service's OpenAPI, from an app that is built, not started (no database needed)."""
    build = importlib.import_module(f"services.{service}.app").build
    return build(database_url="postgresql://nobody@127.0.0.1:1/none", log_json=False).openapi()  # type: ignore[no-any-return]


def readme(service: str) -> Path:
    return ROOT / "services" / service / "README.md"


if __name__ == "__main__":  # python -m tests.access_matrix <service>...: regenerate the README tables
    import sys

    for name in sys.argv[1:] or SERVICES:
        write_table(name, spec_of(name), readme(name))
