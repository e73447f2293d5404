"""Statistical disclosure control: the one place that decides which published cells are hidden.

A response is a set of *cells* (integer counts, keyed by scope and figure path) and the linear
*identities* an attacker knows between them (a total is the sum of its breakdown, a project
total the sum of its agency groups, a stock moves by its flows, a range the sum of its
quarters). Primary suppression hides small counts of sensitive figures; secondary suppression
then hides further cells until no hidden cell is *pinned*, i.e. follows from the published cells
and the identities (exact rational elimination, see ``pinned``), nor from the bounds a "< 5"
mark gives (1 to 4) within one identity. Pure; the rule in words is in services/reporting/README.md.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from shared.contracts import casework
from shared.contracts.common import ExitReason, InterventionCategory

SECONDARY = "suppressed"
CHANGED = "changed"

# exits that tell of a person's health: every one of them, not only the pension
HEALTH_EXIT_REASONS: tuple[str, ...] = (ExitReason.TRANSFERRED_TO_REHAB.value, ExitReason.DISABILITY_PENSION.value)
# intervention categories whose count reveals a health condition or treatment
HEALTH_CATEGORIES: tuple[str, ...] = (
    InterventionCategory.DIAGNOSTIC.value,
    InterventionCategory.THERAPEUTIC.value,
    InterventionCategory.REHABILITATIVE.value,
    InterventionCategory.ADDICTION_COUNSELLING.value,
    InterventionCategory.PSYCHOSOCIAL_COUNSELLING.value,
)
SENSITIVE: frozenset[str] = frozenset(
    {
        "interruptions",  # a participation is interrupted mostly for a clinic stay
        "rehab_applications",
        "rehab_waiting.decided",  # a rehab decision tells of a health condition, as the application does
        "disability_pension_exits",
        "health_exits.total",
        *(f"exits.by_reason.{r}" for r in HEALTH_EXIT_REASONS),
        *(f"health_exits.by_reason.{r}" for r in HEALTH_EXIT_REASONS),
        *(f"interventions.by_category.{c}" for c in HEALTH_CATEGORIES),
    }
)
# event types whose late arrival in a closed quarter is itself a sensitive count
SENSITIVE_EVENTS = frozenset(
    e.event_type
    for e in (
        casework.ParticipationInterrupted,
        casework.RehabApplicationFiled,
        casework.RehabApplicationDecided,
        casework.ParticipantExited,
        casework.InterventionStarted,
        casework.InterventionCompleted,
        casework.InterventionAborted,
    )
)
# stocks are published always (never chosen to hide): an attacker may take them as known
STOCKS = ("active.",)
# not counts of people in the linear sense (durations, caseload statistics): never hidden
NOT_CELLS = ("phase_days.", "caseload.", "rehab_waiting.median_days")
# figures that are not additive over quarters (a range has its own)
NOT_FLOWS = ("active.", "participants")

Key = tuple[str, str]  # (scope, figure path)
Row = Mapping[Key, int]  # coefficients of one identity: sum(coef * cell) is known


@dataclass(frozen=True)
class Rules:
    """The threshold: sensitive counts from 1 to ``threshold - 1`` are hidden (0 is shown)."""

    threshold: int = 5

    @property
    def small(self) -> str:
        return f"< {self.threshold}"

    @classmethod
    def from_env(cls) -> Rules:
        """``REPORTING_SMALL_CELL`` (default 5)."""
        return cls(int(os.environ.get("REPORTING_SMALL_CELL", "5")))


DEFAULT = Rules()


def sensitive(path: str) -> bool:
    return path in SENSITIVE


def is_cell(path: str, value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not path.startswith(NOT_CELLS)


def hideable(path: str) -> bool:
    return not path.startswith(STOCKS)


# --- the identities ----------------------------------------------------------------------------

_BREAKDOWNS = {
    "exits.total": "exits.by_reason.",
    "health_exits.total": "health_exits.by_reason.",
    "interventions.started": "interventions.by_category.",
    "integrations.total": "integrations.by_type.",
    "active.total": "active.by_phase.",
    "subsidies.total": "subsidies.by_instrument.",
}


def scope_rows(scope: str, paths: Iterable[str]) -> list[dict[Key, int]]:
    """Identities inside one scope (a group, a total, a range): breakdowns add up, health exits
    are exits, and the stock moves by its flows (enrolments - exits = the change of the active
    stock; participants = the previous stock + enrolments; stocks are published)."""
    have = set(paths)
    rows: list[dict[Key, int]] = []
    for total, prefix in _BREAKDOWNS.items():
        parts = sorted(p for p in have if p.startswith(prefix))
        if total in have and parts:
            rows.append({(scope, total): -1, **{(scope, p): 1 for p in parts}})
    for r in HEALTH_EXIT_REASONS:
        pair = (f"health_exits.by_reason.{r}", f"exits.by_reason.{r}")
        if set(pair) <= have:
            rows.append({(scope, pair[0]): 1, (scope, pair[1]): -1})
    same = ("disability_pension_exits", f"exits.by_reason.{ExitReason.DISABILITY_PENSION.value}")
    if set(same) <= have:
        rows.append({(scope, same[0]): 1, (scope, same[1]): -1})
    if {"enrolments", "exits.total"} <= have:
        rows.append({(scope, "enrolments"): 1, (scope, "exits.total"): -1})
    if {"participants", "enrolments"} <= have:
        rows.append({(scope, "participants"): 1, (scope, "enrolments"): -1})
    return rows


def sum_rows(whole: str, parts: Sequence[str], paths: Iterable[str]) -> list[dict[Key, int]]:
    """``whole``'s cell of each path is the sum of the ``parts``' cells (groups into a total,
    quarters into a range)."""
    return [{(whole, p): -1, **{(s, p): 1 for s in parts}} for p in sorted(set(paths))]


# --- the attack ----------------------------------------------------------------------------------


def pinned(hidden: Iterable[Key], rows: Iterable[Row]) -> set[Key]:
    """Hidden cells whose value follows linearly from the published cells and the identities.

    Published cells are known constants, so only the hidden columns matter: a hidden cell is
    pinned iff its unit vector lies in the row space of the identities restricted to the hidden
    cells, i.e. in the reduced row echelon form its column is a pivot whose row has no other
    non-zero entry. Exact (fractions), no floating-point rank guess; one connected part of
    the identities at a time."""
    out: set[Key] = set()
    for cols, part in _components(set(hidden), rows):
        out |= _pinned_part(cols, part)
    return out


def _components(hidden: set[Key], rows: Iterable[Row]) -> list[tuple[list[Key], list[Row]]]:
    """The identities that touch hidden cells, split into parts that share no hidden cell."""
    parent = {k: k for k in hidden}

    def root(k: Key) -> Key:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    touching = []
    for row in rows:
        mine = [k for k in row if k in parent]
        if mine:
            touching.append((row, mine))
            for k in mine[1:]:
                parent[root(k)] = root(mine[0])
    parts: dict[Key, tuple[list[Key], list[Row]]] = {}
    for k in sorted(hidden):
        parts.setdefault(root(k), ([], []))[0].append(k)
    for row, mine in touching:
        parts[root(mine[0])][1].append(row)
    return list(parts.values())


def _pinned_part(cols: list[Key], rows: list[Row]) -> set[Key]:
    """Gauss-Jordan elimination over the integers (each row kept divided by its gcd): exact."""
    index = {k: i for i, k in enumerate(cols)}
    pending = {tuple(sorted((index[k], c) for k, c in row.items() if k in index and c)) for row in rows}
    matrix = [dict(r) for r in pending if r]
    pivots: list[tuple[int, dict[int, int]]] = []
    for col in range(len(cols)):
        at = next((i for i, r in enumerate(matrix) if r.get(col)), None)
        if at is None:
            continue
        pivot = matrix.pop(at)
        matrix = [e for e in (_eliminate(r, pivot, col) if col in r else r for r in matrix) if e]
        pivots = [(pc, _eliminate(pr, pivot, col) if col in pr else pr) for pc, pr in pivots]
        pivots.append((col, pivot))
    return {cols[pc] for pc, row in pivots if all(c == pc for c in row)}


def _eliminate(row: dict[int, int], pivot: Mapping[int, int], col: int) -> dict[int, int]:
    """``row`` with ``col`` eliminated by ``pivot`` (integer combination, reduced by the gcd)."""
    factor = row.get(col)
    if not factor:
        return row
    p = pivot[col]
    out = {c: v * p for c, v in row.items()}
    for c, v in pivot.items():
        out[c] = out.get(c, 0) - factor * v
    kept = {c: v for c, v in out.items() if v}
    divisor = math.gcd(*kept.values()) if kept else 1
    return {c: v // divisor for c, v in kept.items()}


def bounded(marks: Mapping[Key, str], rows: Iterable[Row], values: Mapping[Key, int], rules: Rules) -> set[Key]:
    """Cells pinned by the bounds the marks give within one identity: a "< t" cell is 1 .. t-1
    (zero is shown), any other hidden cell at least 0. An identity whose hidden cells all have
    one sign and whose hidden sum is the least (or the most) those bounds allow pins them all."""
    out: set[Key] = set()
    for row in rows:
        hidden = [k for k in row if k in marks]
        if not hidden or len({row[k] > 0 for k in hidden}) != 1:
            continue
        total = sum(abs(row[k]) * values[k] for k in hidden)
        small = [k for k in hidden if marks[k] == rules.small]
        least = sum(abs(row[k]) for k in small)
        most = sum(abs(row[k]) * (rules.threshold - 1) for k in small) if len(small) == len(hidden) else None
        if total in (least, most):
            out.update(hidden)
    return out


def exposed(marks: Mapping[Key, str], rows: Sequence[Row], values: Mapping[Key, int], rules: Rules) -> set[Key]:
    """Every hidden cell an attacker can work out from this publication."""
    return pinned(marks, rows) | bounded(marks, rows, values, rules)


def _exposes(cell: Key, marks: Mapping[Key, str], rows: Sequence[Row], values: Mapping[Key, int], rules: Rules) -> bool:
    """Whether ``cell`` can be worked out (only its connected part of the identities is solved)."""
    for cols, part in _components(set(marks), rows):
        if cell in cols:
            return _pins(cell, cols, part) or cell in bounded(marks, part, values, rules)
    return False


def _pins(cell: Key, cols: list[Key], rows: list[Row]) -> bool:
    """``cell in _pinned_part(cols, rows)``, for one cell and cheaper: its unit vector lies in
    the row space iff the rank drops by one without its column. An echelon form with its column
    last tells: some row then leads with that column, i.e. has nothing else. Each row is reduced
    by the rows leading with its own columns only (sparse, no back-substitution); exact too."""
    order = [k for k in cols if k != cell] + [cell]
    index = {k: i for i, k in enumerate(order)}
    last = len(order) - 1
    leading: dict[int, dict[int, int]] = {}
    for row in rows:
        r = {index[k]: c for k, c in row.items() if k in index and c}
        while r:
            lead = min(r)
            pivot = leading.get(lead)
            if pivot is None:
                leading[lead] = r
                break
            r = _eliminate(r, pivot, lead)
        if last in leading:
            return True
    return False


# --- suppression ---------------------------------------------------------------------------------


class Unprotectable(Exception):
    """No cell left to hide next to a pinned one (would be a bug in the identities)."""


def protect(
    values: Mapping[Key, int],
    rows: Sequence[Row],
    mutable: Iterable[Key],
    frozen: Mapping[Key, str] | None = None,
    rules: Rules = DEFAULT,
    keep: Iterable[Key] = (),
) -> dict[Key, str]:
    """The marks of the hidden cells: ``frozen`` ones as decided elsewhere (another publication
    of the same cell), small sensitive ``mutable`` cells ("< t"), then, while a hidden cell is
    exposed, one more mutable cell of an identity it is in ("suppressed"): the first that
    covers it, preferring non-zero cells in few identities, small ones first. A cell the
    frozen publications alone give away (a range's cell whose quarters are all shown) is
    shown: hiding it protects nothing. ``keep``: mutable cells another publication of the same
    window hid (a closed quarter's report): they stay hidden, or the two together would tell."""
    free = {k for k in mutable if hideable(k[1])}
    marks = dict(frozen or {})
    given = exposed({**marks, **dict.fromkeys(free, SECONDARY)}, rows, values, rules) & free
    for k in sorted(free - given):
        if sensitive(k[1]) and 0 < values[k] < rules.threshold:
            marks[k] = rules.small
    for k in sorted(set(keep) & free):
        marks.setdefault(k, SECONDARY)
    while bad := exposed(marks, rows, values, rules) - given:
        marks[_complement(bad, rows, marks, free - given, values, rules)] = SECONDARY
    return marks


def _complement(
    bad: set[Key],
    rows: Sequence[Row],
    marks: Mapping[Key, str],
    free: set[Key],
    values: Mapping[Key, int],
    rules: Rules,
) -> Key:
    """The cell to hide next: from the identities of the first exposed cell, else of any hidden
    cell, else anywhere; the first (in order) that covers it, else the first."""
    open_ = free - set(marks)
    uses = {k: sum(1 for row in rows if k in row) for k in open_}

    def order(k: Key) -> tuple[bool, int, int, Key]:
        return (values[k] == 0, uses[k], values[k], k)

    cell = min(bad)
    tiers = (
        {k for row in rows if cell in row for k in row if k in open_},
        {k for row in rows if any(c in marks for c in row) for k in row if k in open_},
        open_,
    )
    for tier in tiers:
        for k in sorted(tier, key=order):
            if not _exposes(cell, {**marks, k: SECONDARY}, rows, values, rules):
                return k
    for tier in tiers:
        if tier:
            return min(tier, key=order)
    raise Unprotectable(f"cannot protect {sorted(bad)}")


def rate_hidden(numerator: object, denominator: object) -> bool:
    """A rate goes with its parts: a hidden part would follow from the rate and the other part."""
    return isinstance(numerator, str) or isinstance(denominator, str)
