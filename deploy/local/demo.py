"""Demo data for `make up`: a few referrals and enrolments in every agency, through the APIs."""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import date, timedelta

import httpx

from shared.auth import issue_token
from shared.settings import load_settings
from shared.vocabulary import PROJECTS, Role

INTAKE = os.environ.get("INTAKE_URL", "http://127.0.0.1:8001")
FIRST = ["Anna", "Mehmet", "Katarzyna", "Jonas", "Fatma", "Dirk", "Olena", "Sven", "Ayse", "Petra"]
LAST = ["Schulte", "Yilmaz", "Nowak", "Becker", "Demir", "Hoffmann", "Kovalenko", "Krüger", "Arslan", "Wagner"]
REASONS = [
    "chronic back pain, long absence from work",
    "depressive episode, social withdrawal",
    "addiction history, stabilised for 6 months",
    "anxiety disorder, panic attacks in crowded places",
]


def token(role: Role, agency: str, subject: str) -> dict[str, str]:
    s = load_settings("demo")
    return {
        "Authorization": "Bearer "
        + issue_token(s.jwt_secret, subject=subject, role=role, agency=agency, issuer=s.jwt_issuer)
    }


def main() -> int:
    rng = random.Random(2026)
    made = 0
    with httpx.Client(base_url=INTAKE, timeout=10) as http:
        for project, agencies in PROJECTS.items():
            for agency in agencies:
                headers = token(Role.CASE_MANAGER, agency, f"demo-cm-{agency}")
                for i in range(4):
                    received = date(2026, 1, 5) + timedelta(days=rng.randint(0, 200))
                    body = {
                        "project": project,
                        "received_on": received.isoformat(),
                        "sex": rng.choice(["female", "male", "diverse"]),
                        "identity": {
                            "first_name": rng.choice(FIRST),
                            "last_name": rng.choice(LAST),
                            "birth_date": date(
                                rng.randint(1966, 2003), rng.randint(1, 12), rng.randint(1, 28)
                            ).isoformat(),
                        },
                        "reason": rng.choice(REASONS),
                    }
                    key = {"Idempotency-Key": f"demo-{agency}-{project}-{i}"}
                    r = http.post("/referrals", json=body, headers=headers | key)
                    r.raise_for_status()
                    pid = r.json()["participant_id"]
                    if i < 3:
                        e = http.post(
                            f"/participants/{pid}/enrolment",
                            json={"start_date": (received + timedelta(days=14)).isoformat()},
                            headers=headers | key,
                        )
                        if e.status_code not in (200, 409):
                            e.raise_for_status()
                    made += 1
    print(f"demo data: {made} referrals posted")
    time.sleep(1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
