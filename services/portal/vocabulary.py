"""The staff's words for the services' codes (German msgids; English in the catalog).
``N_`` only marks a string for extraction; templates translate with ``_``."""

from __future__ import annotations

from shared.contracts.casework import (
    AppointmentAttended,
    AppointmentMissed,
    AppointmentScheduled,
    AssessmentCompleted,
    CapacityProfileRecorded,
    CaseEmploymentRecorded,
    CaseHandedOver,
    CaseManagerAssigned,
    CaseNoteAdded,
    CaseOpened,
    ContactLogged,
    CooperationPlanUpdated,
    GoalAchieved,
    GoalDropped,
    GoalRevised,
    GoalSet,
    InterventionAborted,
    InterventionCompleted,
    InterventionPlanned,
    InterventionStarted,
    MedicalReportReceived,
    ParticipantExited,
    ParticipationInterrupted,
    ParticipationResumed,
    PhaseCompleted,
    PhaseEntered,
    RehabApplicationDecided,
    RehabApplicationFiled,
    TeamMemberAdded,
    TeamMemberRemoved,
)


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
    CaseOpened.event_type: N_("Fall eröffnet"),
    PhaseEntered.event_type: N_("Phase begonnen"),
    PhaseCompleted.event_type: N_("Phase abgeschlossen"),
    CaseManagerAssigned.event_type: N_("Fallmanagement zugewiesen"),
    CaseHandedOver.event_type: N_("Fall übergeben"),
    TeamMemberAdded.event_type: N_("Teammitglied hinzugefügt"),
    TeamMemberRemoved.event_type: N_("Teammitglied entfernt"),
    InterventionPlanned.event_type: N_("Maßnahme geplant"),
    InterventionStarted.event_type: N_("Maßnahme begonnen"),
    InterventionCompleted.event_type: N_("Maßnahme abgeschlossen"),
    InterventionAborted.event_type: N_("Maßnahme abgebrochen"),
    GoalSet.event_type: N_("Ziel vereinbart"),
    GoalRevised.event_type: N_("Ziel angepasst"),
    GoalAchieved.event_type: N_("Ziel erreicht"),
    GoalDropped.event_type: N_("Ziel aufgegeben"),
    CooperationPlanUpdated.event_type: N_("Kooperationsplan fortgeschrieben"),
    AppointmentScheduled.event_type: N_("Termin vereinbart"),
    AppointmentAttended.event_type: N_("Termin wahrgenommen"),
    AppointmentMissed.event_type: N_("Termin versäumt"),
    ContactLogged.event_type: N_("Kontakt vermerkt"),
    CaseNoteAdded.event_type: N_("Vermerk angelegt"),
    AssessmentCompleted.event_type: N_("Assessment abgeschlossen"),
    CapacityProfileRecorded.event_type: N_("Fähigkeitsprofil erfasst"),
    MedicalReportReceived.event_type: N_("Ärztlicher Bericht eingegangen"),
    RehabApplicationFiled.event_type: N_("Reha-Antrag gestellt"),
    RehabApplicationDecided.event_type: N_("Reha-Antrag entschieden"),
    ParticipationInterrupted.event_type: N_("Teilnahme unterbrochen"),
    ParticipationResumed.event_type: N_("Teilnahme fortgesetzt"),
    ParticipantExited.event_type: N_("Austritt"),
    CaseEmploymentRecorded.event_type: N_("Arbeitsaufnahme gemeldet"),
}
TASKS = {
    "appointment-due": N_("Termin steht an"),
    "record-appointment-outcome": N_("Termin nachtragen: wahrgenommen oder versäumt?"),
    "consent-expiring": N_("Einwilligung läuft ab"),
    "enter-nachbetreuung": N_("Arbeitsaufnahme gemeldet: Nachbetreuung beginnen"),
}
EMPLOYMENT_TYPES = {
    "social-insurance": N_("sozialversicherungspflichtig"),
    "mini-job": N_("Minijob"),
    "vocational-training": N_("Ausbildung"),
    "self-employment": N_("Selbstständigkeit"),
}
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
