"""Demo data for placement (run after `make up`): employers, contacts, vacancies and production
orders in every Jobcenter, and for whatever candidates the pool holds, proposals, work trials,
jobs, aftercare and follow-ups. Uses the placement API only; safe to run again (idempotency
keys, and 409s on repeated transitions are accepted)."""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import date, timedelta
from typing import Any

import httpx

from shared.auth import issue_token, signing_keys
from shared.settings import load_settings
from shared.vocabulary import Role

PLACEMENT = os.environ.get("PLACEMENT_URL", "http://127.0.0.1:8003")
WAIT_S = 120.0  # how long to wait for placement's read models to catch up before giving up

EMPLOYERS: dict[str, list[dict[str, Any]]] = {
    "jc-en": [
        {"company": "Hagener Metallbau GmbH", "sector": "metal", "size": "small", "region": "Hagen"},
        {"company": "Ennepetal Logistik KG", "sector": "logistics", "size": "medium", "region": "Ennepetal"},
        {"company": "Witten Gartenbau e.K.", "sector": "horticulture", "size": "micro", "region": "Witten"},
    ],
    "jc-mk": [
        {"company": "Lüdenscheider Kunststofftechnik GmbH", "sector": "plastics", "size": "medium",
         "region": "Lüdenscheid"},
        {"company": "Iserlohner Bürodienste GmbH", "sector": "office services", "size": "small", "region": "Iserlohn"},
    ],
    "jc-unna": [
        {"company": "Unnaer Versandhandel GmbH", "sector": "e-commerce", "size": "large", "region": "Unna"},
        {"company": "Kamener Kantine gGmbH", "sector": "catering", "size": "small", "region": "Kamen"},
        {"company": "Schwerter Holzwerkstatt", "sector": "carpentry", "size": "micro", "region": "Schwerte"},
    ],
}  # fmt: skip

VACANCIES: list[dict[str, Any]] = [
    {"title": "Lagerhelfer/in Kommissionierung", "tasks": "picking, packing, scanning", "hours_per_week": 25,
     "flexible_hours": True, "demands": {"lifting": "light", "standing": "moderate", "mental_load": "light"},
     "possible_adaptations": ["height-adjustable desk", "seating aid"]},
    {"title": "Bürokraft Empfang", "tasks": "reception, phone, post", "hours_per_week": 20,
     "demands": {"lifting": "none", "standing": "light", "mental_load": "moderate", "customer_contact": True},
     "possible_adaptations": ["quiet workplace"]},
    {"title": "Maschinenbediener/in Schicht", "tasks": "operating injection moulding machines", "hours_per_week": 38,
     "demands": {"lifting": "moderate", "standing": "heavy", "mental_load": "moderate", "shift_work": True}},
    {"title": "Küchenhilfe", "tasks": "preparation, dishwashing", "hours_per_week": 15, "flexible_hours": True,
     "demands": {"lifting": "light", "standing": "moderate", "mental_load": "light", "customer_contact": True}},
]  # fmt: skip


def token(role: Role, agency: str, subject: str) -> dict[str, str]:
    s = load_settings("demo")
    return {"Authorization": "Bearer " + issue_token(subject=subject, role=role, agency=agency, keys=signing_keys(s))}


def post(http: httpx.Client, path: str, body: dict[str, Any], headers: dict[str, str], key: str) -> dict[str, Any]:
    """POST with an idempotency key; a 409 (already done on an earlier run) is not an error."""
    r = http.post(path, json=body, headers=headers | {"Idempotency-Key": key})
    if r.status_code == 409:
        return {}
    if r.status_code >= 400:
        raise SystemExit(f"POST {path} failed: {r.status_code} {r.text}")
    return r.json()  # type: ignore[no-any-return]


def employers_and_vacancies(http: httpx.Client, rng: random.Random, agency: str) -> list[str]:
    officer = token(Role.EMPLOYER_ACQUISITION, agency, f"demo-bak-{agency}")
    vacancies: list[str] = []
    for i, company in enumerate(EMPLOYERS[agency]):
        body = company | {
            "contact_persons": [{"name": f"Ansprechpartner/in {i + 1}", "position": "HR", "phone": "0000 000000"}],
            "offers_work_trials": True,
            "offers_adapted_workplaces": rng.random() < 0.6,
            "acquired_on": (date(2026, 1, 12) + timedelta(days=7 * i)).isoformat(),
        }
        employer_id = post(http, "/employers", body, officer, f"demo-employer-{agency}-{i}").get("employer_id")
        if employer_id is None:
            continue
        contact = {
            "contacted_on": (date(2026, 2, 2) + timedelta(days=3 * i)).isoformat(),
            "channel": rng.choice(["visit", "phone", "job-fair"]),
            "topic": "work trial places and adapted workplaces",
            "notes": "first visit, open to trials",
            "next_contact_on": (date.today() + timedelta(days=rng.randint(0, 10))).isoformat(),
        }
        post(http, f"/employers/{employer_id}/contacts", contact, officer, f"demo-contact-{agency}-{i}")
        for j, template in enumerate(rng.sample(VACANCIES, 2)):
            body = template | {"employer_id": employer_id, "recorded_on": "2026-02-16"}
            made = post(http, "/vacancies", body, officer, f"demo-vacancy-{agency}-{i}-{j}")
            if made:
                vacancies.append(made["vacancy_id"])
        if i == 0:
            order = {
                "employer_id": employer_id,
                "description": "assembly of 500 cable sets for the Produktionswerkstatt",
                "quantity": 500,
                "accepted_on": "2026-02-20",
                "due_on": "2026-04-30",
            }
            post(http, "/production-orders", order, officer, f"demo-order-{agency}")
    return vacancies


def place_candidates(http: httpx.Client, agency: str) -> int:
    """Walk the pool's candidates along the journey, each one step further than the last."""
    officer = token(Role.EMPLOYER_ACQUISITION, agency, f"demo-bak-{agency}")
    candidates = http.get("/candidates", headers=officer).json()
    steps = 0
    for n, cand in enumerate(candidates):
        pid = cand["participant_id"]
        options = http.get(f"/candidates/{pid}/vacancies", headers=officer).json()["vacancies"]
        fitting = [v for v in options if not v["blocked"]]
        if not fitting or any(v["already_proposed"] for v in options):  # placed on an earlier run
            continue
        best = fitting[0]
        post(http, f"/candidates/{pid}/proposals", {"vacancy_id": best["vacancy_id"], "proposed_on": "2026-03-02"},
             officer, f"demo-proposal-{pid}")  # fmt: skip
        steps += 1
        if n % 3 == 1:
            continue  # stays an open proposal
        vacancy = http.get(f"/vacancies/{best['vacancy_id']}", headers=officer).json()
        trial = post(http, f"/candidates/{pid}/work-trials",
                     {"employer_id": vacancy["employer_id"], "vacancy_id": best["vacancy_id"],
                      "started_on": "2026-03-09", "planned_end": "2026-04-03"},
                     officer, f"demo-trial-{pid}")  # fmt: skip
        if n % 3 == 2 or not trial:
            continue  # trial still running
        post(http, f"/candidates/{pid}/work-trials/{trial['trial_id']}/complete",
             {"completed_on": "2026-04-03", "outcome": "offer"}, officer, f"demo-trial-done-{pid}")  # fmt: skip
        # the first candidate of each agency gets a job (a K2 integration), alternating the type
        kind = ("social-insurance", "vocational-training")[(n // 3) % 2]
        job = post(http, f"/candidates/{pid}/employments",
                   {"employer_id": vacancy["employer_id"], "started_on": "2026-04-06", "type": kind,
                    "subsidised": kind == "social-insurance", "fully_qualifying": kind == "vocational-training",
                    "hours_per_week": vacancy["hours_per_week"]},
                   officer, f"demo-job-{pid}")  # fmt: skip
        if not job:
            continue
        base = f"/candidates/{pid}/employments/{job['employment_id']}"
        if kind == "social-insurance":
            post(http, f"{base}/wage-subsidies",
                 {"instrument": "16e", "granted_on": "2026-04-06", "months": 24, "percent_first_year": 75},
                 officer, f"demo-subsidy-{pid}")  # fmt: skip
        post(http, f"{base}/aftercare", {"started_on": "2026-04-06"}, officer, f"demo-aftercare-{pid}")
        # six months on, the follow-up found the person still employed (sustainability)
        post(http, f"{base}/follow-ups", {"months_after_start": 6, "verified_on": "2026-10-08", "still_employed": True},
             officer, f"demo-follow-up-6-{pid}")  # fmt: skip
        steps += 5
    return steps


def wait_for_staff(http: httpx.Client) -> None:
    """Until placement knows the demo officers (demo.py registered them in intake; placement
    learns them from intake's events): with the staff directory required, 401 before that."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        officers = [token(Role.EMPLOYER_ACQUISITION, a, f"demo-bak-{a}") for a in EMPLOYERS]
        if all(http.get("/employers", headers=h).status_code == 200 for h in officers):
            return
        time.sleep(0.1)
    raise SystemExit("placement does not know the demo staff")


def wait_for_vacancies(http: httpx.Client, agency: str, made: list[str]) -> None:
    """Until placement's board lists the vacancies just recorded (its read model follows the
    topic): the matching reads it, so a candidate would otherwise see none of them."""
    officer = token(Role.EMPLOYER_ACQUISITION, agency, f"demo-bak-{agency}")
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        listed = {v["vacancy_id"] for v in http.get("/vacancies", headers=officer).json()}
        if set(made) <= listed:
            return
        time.sleep(0.1)
    raise SystemExit(f"placement does not list the vacancies of {agency}")


def main() -> int:
    rng = random.Random(2026)
    with httpx.Client(base_url=PLACEMENT, timeout=10) as http:
        wait_for_staff(http)
        vacancies = {agency: employers_and_vacancies(http, rng, agency) for agency in EMPLOYERS}
        for agency, made in vacancies.items():
            wait_for_vacancies(http, agency, made)
        placed = {agency: place_candidates(http, agency) for agency in EMPLOYERS}
    made = sum(len(v) for v in vacancies.values())
    print(f"placement demo: {sum(len(e) for e in EMPLOYERS.values())} employers, {made} vacancies; steps {placed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
