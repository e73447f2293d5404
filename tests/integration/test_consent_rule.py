"""The consent-validity rule: one definition in Python and the same in SQL, on the boundary days."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import product

import asyncpg

from shared.consent import ConsentTerm, consent_active

GRANTED = date(2026, 3, 1)
EXPIRES = date(2026, 6, 1)
ENDED = date(2026, 5, 1)


def test_active_from_the_grant_day_up_to_excluding_expiry_or_withdrawal() -> None:
    assert not consent_active(GRANTED, EXPIRES, None, GRANTED - timedelta(days=1))
    assert consent_active(GRANTED, EXPIRES, None, GRANTED)
    assert consent_active(GRANTED, EXPIRES, None, EXPIRES - timedelta(days=1))
    assert not consent_active(GRANTED, EXPIRES, None, EXPIRES)  # "expires on" = no longer valid that day
    assert not consent_active(GRANTED, None, ENDED, ENDED)  # withdrawal works from its effective day on
    assert consent_active(GRANTED, None, None, date(2099, 1, 1))
    term = ConsentTerm(GRANTED, EXPIRES)
    assert term.active_on(ENDED)
    assert not term.ended(ENDED).active_on(ENDED)


async def test_the_sql_function_agrees_with_python_on_every_boundary(pool: asyncpg.Pool) -> None:
    days = [GRANTED + timedelta(days=d) for d in (-1, 0, 1)] + [
        x + timedelta(days=d) for x in (ENDED, EXPIRES) for d in (-1, 0, 1)
    ]
    cases = list(product([EXPIRES, None], [ENDED, None], days))
    rows = await pool.fetch(
        "SELECT consent_active($1, e, w, d) AS a"
        " FROM unnest($2::date[], $3::date[], $4::date[]) WITH ORDINALITY AS t(e, w, d, i) ORDER BY i",
        GRANTED,
        [c[0] for c in cases],
        [c[1] for c in cases],
        [c[2] for c in cases],
    )
    assert [r["a"] for r in rows] == [consent_active(GRANTED, e, w, d) for e, w, d in cases]
