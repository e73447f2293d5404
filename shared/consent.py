"""When a consent holds: the one rule every service uses (Python here, SQL in ``sql/consent.sql``).

A consent is active from its grant date up to, *excluding*, the first of its expiry date and
the date its withdrawal (or recorded expiry) takes effect. Withdrawal works "with effect from
then on" (§ 67b SGB X, Art. 7 (3) GDPR): on the effective day processing must already stop, so
that day is not covered; an expiry date is read the same way ("expires on" = no longer valid
that day), so one boundary rule serves both and nobody has to remember which end is open.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

_WORDS = re.compile(r"[\w]+", re.UNICODE)


def consent_active(granted_on: date, expires_on: date | None, ended_on: date | None, day: date) -> bool:
    """True if a consent granted on ``granted_on`` holds on ``day``."""
    if day < granted_on:
        return False
    if ended_on is not None and day >= ended_on:
        return False
    return expires_on is None or day < expires_on


@dataclass(frozen=True, slots=True)
class ConsentTerm:
    """The dates that decide a consent's validity, as a value the aggregates embed."""

    granted_on: date
    expires_on: date | None = None
    ended_on: date | None = None

    def active_on(self, day: date) -> bool:
        return consent_active(self.granted_on, self.expires_on, self.ended_on, day)

    def ended(self, on: date) -> ConsentTerm:
        """The same consent, ending (withdrawn or expired) with effect from ``on``."""
        return ConsentTerm(self.granted_on, self.expires_on, on)


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.casefold())


def names(scope: str | None, party: str) -> bool:
    """True if a consent's (or an objection's) ``scope`` names ``party`` (a doctor or clinic):
    the party's words appear in the scope as one run of whole words, case and punctuation
    ignored ("Dr. Weber" is named by "Dr. Weber, Hagen"; "Weber" is not named by "Webermann").
    An empty party is named by nothing."""
    wanted, given = _words(party), _words(scope or "")
    if not wanted:
        return False
    n = len(wanted)
    return any(given[i : i + n] == wanted for i in range(len(given) - n + 1))


# § 76 SGB X: an objection whose scope is this covers every piece of data that came from doctors.
ALL_MEDICAL_DATA = "all medical data"


def objection_holds(recorded_on: date, withdrawn_on: date | None, day: date) -> bool:
    """An objection holds from the day it was made up to, excluding, its withdrawal's day
    (the consent rule's boundaries, so both read the same)."""
    return consent_active(recorded_on, None, withdrawn_on, day)


def objection_covers(scope: str, source: str) -> bool:
    """True if an objection with ``scope`` covers data from ``source`` (a doctor or clinic):
    'all medical data' covers every source; otherwise the scope must name that source."""
    if _words(scope) == _words(ALL_MEDICAL_DATA):
        return True
    return names(scope, source) or names(source, scope)


# Keyed word digests ("blind index"): a sealed doctor's or clinic's name can still be matched by
# a service that cannot open it (casework matches a report's doctor against intake's sealed
# release or objection). The key is not in any database (settings ``name_index_key``), so a
# dump cannot be matched against a list of doctors' names.
_index_key = b"dev-only-name-index-change-me"


def install_index_key(key: str) -> None:
    global _index_key
    _index_key = key.encode()


def name_marks(text: str | None) -> list[str]:
    """The keyed digests of ``text``'s words, in order (case and punctuation ignored as in ``names``)."""
    return [hmac.new(_index_key, w.encode(), hashlib.sha256).hexdigest()[:32] for w in _words(text or "")]


def _run_in(given: Sequence[str], wanted: Sequence[str]) -> bool:
    n = len(wanted)
    return n > 0 and any(list(given[i : i + n]) == list(wanted) for i in range(len(given) - n + 1))


def marks_name(marks: Sequence[str], party: str) -> bool:
    """``names`` over a scope known only by its marks."""
    return _run_in(marks, name_marks(party))


def marks_cover(marks: Sequence[str], source: str) -> bool:
    """``objection_covers`` over a scope known only by its marks."""
    if list(marks) == name_marks(ALL_MEDICAL_DATA):
        return True
    return bool(marks) and (_run_in(marks, name_marks(source)) or _run_in(name_marks(source), marks))
