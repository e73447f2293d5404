"""The staff's words for the services' codes (German msgids; English in the catalog).
``N_`` only marks a string for extraction; templates translate with ``_``."""

from __future__ import annotations


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
    "CaseOpened": N_("Fall eröffnet"),
    "PhaseEntered": N_("Phase begonnen"),
    "PhaseCompleted": N_("Phase abgeschlossen"),
    "CaseManagerAssigned": N_("Fallmanagement zugewiesen"),
    "CaseHandedOver": N_("Fall übergeben"),
    "TeamMemberAdded": N_("Teammitglied hinzugefügt"),
    "TeamMemberRemoved": N_("Teammitglied entfernt"),
    "InterventionPlanned": N_("Maßnahme geplant"),
    "InterventionStarted": N_("Maßnahme begonnen"),
    "InterventionCompleted": N_("Maßnahme abgeschlossen"),
    "InterventionAborted": N_("Maßnahme abgebrochen"),
    "GoalSet": N_("Ziel vereinbart"),
    "GoalRevised": N_("Ziel angepasst"),
    "GoalAchieved": N_("Ziel erreicht"),
    "GoalDropped": N_("Ziel aufgegeben"),
    "CooperationPlanUpdated": N_("Kooperationsplan fortgeschrieben"),
    "AppointmentScheduled": N_("Termin vereinbart"),
    "AppointmentAttended": N_("Termin wahrgenommen"),
    "AppointmentMissed": N_("Termin versäumt"),
    "ContactLogged": N_("Kontakt vermerkt"),
    "CaseNoteAdded": N_("Vermerk angelegt"),
    "AssessmentCompleted": N_("Assessment abgeschlossen"),
    "CapacityProfileRecorded": N_("Fähigkeitsprofil erfasst"),
    "MedicalReportReceived": N_("Ärztlicher Bericht eingegangen"),
    "RehabApplicationFiled": N_("Reha-Antrag gestellt"),
    "RehabApplicationDecided": N_("Reha-Antrag entschieden"),
    "ParticipationInterrupted": N_("Teilnahme unterbrochen"),
    "ParticipationResumed": N_("Teilnahme fortgesetzt"),
    "ParticipantExited": N_("Austritt"),
    "CaseEmploymentRecorded": N_("Arbeitsaufnahme gemeldet"),
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
