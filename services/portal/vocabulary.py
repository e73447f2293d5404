"""The staff's words for the services' codes (German msgids; English in the catalog).
``N_`` only marks a string for extraction; templates translate with ``_``."""

from __future__ import annotations

from shared.contracts import casework


def N_(text: str) -> str:
    return text


PHASES = {
    "einstieg": N_("Einstieg"),
    "clearing": N_("Clearing"),
    "stabilisierung": N_("Stabilisierung"),
    "produktionswerkstatt": N_("Produktionswerkstatt"),
    "stellensuche": N_("Stellensuche"),
    "nachbetreuung": N_("Nachbetreuung"),
}
STATUSES = {
    "referred": N_("zugewiesen"),
    "enrolled": N_("eingetreten"),
    "declined": N_("Eintritt abgelehnt"),
    "withdrawn": N_("Zuweisung zurückgezogen"),
    "erased": N_("gelöscht"),
    "open": N_("offen"),
    "interrupted": N_("unterbrochen"),
    "exited": N_("ausgetreten"),
}
PURPOSES = {
    "participation": N_("Teilnahme"),
    "drv-exchange": N_("Datenaustausch mit der DRV"),
    "medical-release": N_("Schweigepflichtentbindung"),
    "monitoring": N_("Monitoring (Evaluation)"),
    "employer-disclosure": N_("Weitergabe an Arbeitgeber"),
}
FORMS = {"written": N_("schriftlich"), "electronic": N_("elektronisch")}
CATEGORIES = {
    "diagnostic": N_("Diagnostik"),
    "therapeutic": N_("Therapie"),
    "rehabilitative": N_("Rehabilitation"),
    "employment-promotion": N_("Beschäftigungsförderung"),
    "debt-counselling": N_("Schuldnerberatung (§ 16a SGB II)"),
    "addiction-counselling": N_("Suchtberatung (§ 16a SGB II)"),
    "psychosocial-counselling": N_("Psychosoziale Betreuung (§ 16a SGB II)"),
}
# a project's budget lines: the intervention categories and the project's own lines (casework)
BUDGET = {
    **CATEGORIES,
    "wage-subsidies": N_("Lohnkostenzuschüsse (§ 16e, § 16i SGB II)"),
    "personnel": N_("Personal"),
    "other": N_("Sonstiges"),
}
ROLES = {
    "case-manager": N_("Fallmanagement"),
    "occupational-therapist": N_("Ergotherapie"),
    "psychologist": N_("Psychologie"),
    "financial-adviser": N_("Schuldner- und Finanzberatung"),
    "employer-acquisition-officer": N_("Arbeitgeberakquise"),
    "drv-adviser": N_("Reha-Beratung DRV"),
    "project-lead": N_("Projektleitung"),
    "auditor": N_("Prüfung"),
    "data-protection-officer": N_("Datenschutzbeauftragte/r"),
    "administrator": N_("Administration"),
}
SEXES = {"female": N_("weiblich"), "male": N_("männlich"), "diverse": N_("divers"), "unknown": N_("keine Angabe")}
EVENTS = {
    casework.CaseOpened.event_type: N_("Fall eröffnet"),
    casework.PhaseEntered.event_type: N_("Phase begonnen"),
    casework.PhaseCompleted.event_type: N_("Phase abgeschlossen"),
    casework.CaseManagerAssigned.event_type: N_("Fallmanagement zugewiesen"),
    casework.CaseHandedOver.event_type: N_("Fall übergeben"),
    casework.TeamMemberAdded.event_type: N_("Teammitglied hinzugefügt"),
    casework.TeamMemberRemoved.event_type: N_("Teammitglied entfernt"),
    casework.InterventionPlanned.event_type: N_("Maßnahme geplant"),
    casework.InterventionStarted.event_type: N_("Maßnahme begonnen"),
    casework.InterventionCompleted.event_type: N_("Maßnahme abgeschlossen"),
    casework.InterventionAborted.event_type: N_("Maßnahme abgebrochen"),
    casework.GoalSet.event_type: N_("Ziel vereinbart"),
    casework.GoalRevised.event_type: N_("Ziel angepasst"),
    casework.GoalAchieved.event_type: N_("Ziel erreicht"),
    casework.GoalDropped.event_type: N_("Ziel aufgegeben"),
    casework.CooperationPlanUpdated.event_type: N_("Kooperationsplan fortgeschrieben"),
    casework.AppointmentScheduled.event_type: N_("Termin vereinbart"),
    casework.AppointmentAttended.event_type: N_("Termin wahrgenommen"),
    casework.AppointmentMissed.event_type: N_("Termin versäumt"),
    casework.ContactLogged.event_type: N_("Kontakt vermerkt"),
    casework.CaseNoteAdded.event_type: N_("Vermerk angelegt"),
    casework.AssessmentCompleted.event_type: N_("Assessment abgeschlossen"),
    casework.CapacityProfileRecorded.event_type: N_("Fähigkeitsprofil erfasst"),
    casework.MedicalReportReceived.event_type: N_("Ärztlicher Bericht eingegangen"),
    casework.RehabApplicationFiled.event_type: N_("Reha-Antrag gestellt"),
    casework.RehabApplicationDecided.event_type: N_("Reha-Antrag entschieden"),
    casework.ParticipationInterrupted.event_type: N_("Teilnahme unterbrochen"),
    casework.ParticipationResumed.event_type: N_("Teilnahme fortgesetzt"),
    casework.ParticipantExited.event_type: N_("Austritt"),
    casework.CaseEmploymentRecorded.event_type: N_("Arbeitsaufnahme gemeldet"),
    casework.SelfFoundEmploymentRecorded.event_type: N_("Beschäftigung ohne Vermittlung erfasst"),
    casework.SelfFoundEmploymentVerified.event_type: N_("Nachhaltung der Beschäftigung erfasst"),
    casework.SelfFoundEmploymentEnded.event_type: N_("Beschäftigung beendet"),
    casework.CaseTransferred.event_type: N_("Fall an eine Partnerbehörde übergeben"),
    casework.RehabApplicationReceived.event_type: N_("Eingang des Reha-Antrags beim Träger"),
    casework.RehabInformationRequested.event_type: N_("Rückfrage des Reha-Trägers"),
    casework.RehabInformationProvided.event_type: N_("Rückfrage beantwortet"),
    casework.RehabMeasureStarted.event_type: N_("Reha-Maßnahme begonnen"),
    casework.RehabMeasureEnded.event_type: N_("Reha-Maßnahme beendet"),
}
TASKS = {
    "appointment-due": N_("Termin steht an"),
    "record-appointment-outcome": N_("Termin nachtragen: wahrgenommen oder versäumt?"),
    "consent-expiring": N_("Einwilligung läuft ab"),
    "enter-nachbetreuung": N_("Arbeitsaufnahme gemeldet: Nachbetreuung beginnen"),
    "employment-follow-up": N_("Nachhaltung der Beschäftigung fällig"),
}
EMPLOYMENT_TYPES = {
    "social-insurance": N_("sozialversicherungspflichtig"),
    "mini-job": N_("Minijob"),
    "vocational-training": N_("Ausbildung"),
    "self-employment": N_("Selbstständigkeit"),
}
SUBSIDIES = {"16e": N_("§ 16e SGB II"), "16i": N_("§ 16i SGB II")}
# why a self-found job ended (casework's EmploymentEndReason)
EMPLOYMENT_END_REASONS = {
    "resigned": N_("Eigenkündigung"),
    "dismissed": N_("Kündigung durch den Arbeitgeber"),
    "fixed-term-ended": N_("Befristung ausgelaufen"),
    "business-closed": N_("Betrieb geschlossen"),
    "other": N_("anderer Grund"),
}
REHAB_KINDS = {
    "medical": N_("medizinische Rehabilitation"),
    "vocational": N_("Leistungen zur Teilhabe am Arbeitsleben (LTA)"),
}
REHAB_STATES = {"filed": N_("gestellt"), "received": N_("beim Träger eingegangen")}
# a day on a production order: a fact for the team, never a consequence (no sanction wording)
ATTENDANCE = {"present": N_("anwesend"), "excused": N_("entschuldigt"), "absent": N_("unentschuldigt")}
PLACEMENT_STATES = {
    "open": N_("offen"),
    "trial": N_("in Erprobung"),
    "employed": N_("eingestellt"),
    "declined": N_("abgelehnt"),
    "running": N_("läuft"),
    "completed": N_("abgeschlossen"),
    "aborted": N_("abgebrochen"),
}
CRITERIA = {
    "hours": N_("Arbeitszeit"),
    "lifting": N_("Heben und Tragen"),
    "standing": N_("Stehen"),
    "mental_load": N_("psychische Belastung"),
    "shift_work": N_("Schichtarbeit"),
    "night_work": N_("Nachtarbeit"),
    "customer_contact": N_("Kundenkontakt"),
    "adaptations": N_("Arbeitsplatzanpassungen"),
}
VERDICTS = {"fits": N_("passt"), "partial": N_("teilweise"), "conflict": N_("Konflikt")}
# what an audited read read (intake's data-read audit, casework's health-read audit)
READS = {
    "identity": N_("Identität (Name, Anschrift, Geburtsdatum)"),
    "referral-reason": N_("Zuweisungsgrund"),
    "search": N_("Suchtreffer (Name, Geburtsdatum)"),
    "timeline": N_("Fallverlauf mit Gesundheitsdaten"),
    "health-records": N_("Gesundheitsakte"),
}
# employers and vacancies (placement's codes)
SIZES = {
    "micro": N_("Kleinstunternehmen (unter 10 Beschäftigte)"),
    "small": N_("Kleinunternehmen (unter 50 Beschäftigte)"),
    "medium": N_("mittleres Unternehmen (unter 250 Beschäftigte)"),
    "large": N_("Großunternehmen (250 Beschäftigte und mehr)"),
}
CHANNELS = {
    "visit": N_("Betriebsbesuch"),
    "phone": N_("Telefon"),
    "email": N_("E-Mail"),
    "job-fair": N_("Jobmesse"),
    "other": N_("sonstiger Kontakt"),
}
LEVELS = {"none": N_("keine"), "light": N_("leicht"), "moderate": N_("mittel"), "heavy": N_("schwer")}
VACANCY_STATES = {"open": N_("offen"), "closed": N_("geschlossen")}
CLOSE_REASONS = {
    "filled": N_("besetzt"),
    "withdrawn-by-employer": N_("vom Arbeitgeber zurückgezogen"),
    "expired": N_("abgelaufen"),
    "other": N_("anderer Grund"),
}
