{{/*
What each service reads and which projections its one consumer group (<groups><service>.projections)
feeds: facts of the code (the ServiceDefinition in each services/NAME/app.py definitions), not
settings. `python -m pytest tests/deploy/test_helm_chart.py` checks this table against the
services' definitions, so a new projection cannot ship without its dead-letter topic, nor a new
source without its ACL.
*/}}
{{- define "rehapro.topology" -}}
intake:
  consumes: [casework, intake]
  projections: [projects, register, retention, staff, transfers]
casework:
  consumes: [casework, intake, placement]
  projections: [cases, consents, employment, enrolments, staff]
placement:
  consumes: [casework, intake, placement]
  projections: [access, board, pool, projects, staff, workshop]
reporting:
  consumes: [casework, intake, placement]
  projections: [counts, facts, plans, staff]
{{- end -}}
