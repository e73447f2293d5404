{{/* Every object's name starts with the release, so two releases can share a namespace. */}}
{{- define "rehapro.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "rehapro.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: rehapro
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Pods of one component (a service, or a service's migration job). Arguments: (list $ component). */}}
{{- define "rehapro.selector" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ $.Chart.Name }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "rehapro.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}
{{- end -}}

{{- define "rehapro.kafkaCluster" -}}{{ include "rehapro.fullname" . }}-kafka{{- end -}}
{{- define "rehapro.kafkaUser" -}}{{ include "rehapro.fullname" (index . 0) }}-{{ index . 1 }}{{- end -}}
{{- define "rehapro.dbCluster" -}}{{ include "rehapro.fullname" (index . 0) }}-{{ index . 1 }}-db{{- end -}}

{{/* A service's own topic: always <topicPrefix><service>.events. Arguments: (list $ service). */}}
{{- define "rehapro.ownTopic" -}}
{{ (index . 0).Values.kafka.topicPrefix }}{{ index . 1 }}.events
{{- end -}}

{{/* A service's audit topic: prefix + <service>.audit (its published read records). */}}
{{- define "rehapro.auditTopic" -}}
{{ (index . 0).Values.kafka.topicPrefix }}{{ index . 1 }}.audit
{{- end -}}

{{/* The topic a service reads from another source service: its override in kafka.sourceTopics, else prefix + <source>.events. */}}
{{- define "rehapro.topicName" -}}
{{- $ := index . 0 -}}{{- $source := index . 1 -}}
{{- $override := index $.Values.kafka.sourceTopics $source | default "" -}}
{{- if $override -}}{{ $override }}{{- else -}}{{ $.Values.kafka.topicPrefix }}{{ $source }}.events{{- end -}}
{{- end -}}

{{- define "rehapro.groupPrefix" -}}
{{- .Values.kafka.groupPrefix | default .Values.kafka.topicPrefix -}}
{{- end -}}

{{- define "rehapro.bootstrap" -}}
{{- if .Values.kafka.create -}}
{{ include "rehapro.kafkaCluster" . }}-kafka-bootstrap:9093
{{- else -}}
{{ .Values.kafka.bootstrap }}
{{- end -}}
{{- end -}}

{{- define "rehapro.dbSecret" -}}
{{- $ := index . 0 -}}{{- $name := index . 1 -}}
{{- if $.Values.postgres.create -}}
{{ include "rehapro.dbCluster" (list $ $name) }}-app
{{- else -}}
{{ index $.Values.postgres.existingSecrets $name }}
{{- end -}}
{{- end -}}

{{/* Hardened security context of every container of the chart. */}}
{{- define "rehapro.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "rehapro.podSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Environment of a service's pods and its migration job. Arguments: (list $ name). */}}
{{- define "rehapro.env" -}}
{{- $ := index . 0 -}}{{- $name := index . 1 -}}
- { name: REHAPRO_HTTP_HOST, value: "0.0.0.0" }
- { name: REHAPRO_HTTP_PORT, value: "8000" }
- { name: REHAPRO_KAFKA_BOOTSTRAP, value: {{ include "rehapro.bootstrap" $ | quote }} }
- { name: REHAPRO_TOPIC_PREFIX, value: {{ $.Values.kafka.topicPrefix | quote }} }
- { name: REHAPRO_GROUP_PREFIX, value: {{ include "rehapro.groupPrefix" $ | quote }} }
{{- range $source, $topic := $.Values.kafka.sourceTopics }}
{{- if $topic }}
- { name: REHAPRO_TOPIC_{{ upper $source }}, value: {{ $topic | quote }} }
{{- end }}
{{- end }}
- { name: REHAPRO_INTAKE_URL, value: "http://{{ include "rehapro.fullname" $ }}-intake:8000" }
- { name: REHAPRO_LOG_LEVEL, value: {{ $.Values.logLevel | quote }} }
- { name: REHAPRO_READY_MAX_LAG, value: {{ $.Values.readyMaxLag | quote }} }
- { name: REHAPRO_MIGRATE_ON_START, value: {{ not $.Values.migrations.enabled | quote }} }
{{ include "rehapro.authEnv" (list $ $name) }}
- name: REHAPRO_NAME_INDEX_KEY
  valueFrom: { secretKeyRef: { name: {{ $.Values.keys.nameIndexSecret }}, key: key } }
{{- if has $name (include "rehapro.keyHolders" $ | splitList " ") }}
{{- $k := $.Values.keys }}
- { name: REHAPRO_KEK_PROVIDER, value: {{ $k.provider }} }
{{- if eq $k.provider "file" }}
- { name: REHAPRO_KEK_FILE, value: /etc/rehapro/kek/kek.json }
{{- else if eq $k.provider "env" }}
- name: REHAPRO_KEK
  valueFrom: { secretKeyRef: { name: {{ index $k.kekSecrets $name }}, key: kek.json } }
{{- else }}
- { name: REHAPRO_PKCS11_MODULE, value: {{ $k.pkcs11.module | quote }} }
- { name: REHAPRO_PKCS11_TOKEN, value: {{ $k.pkcs11.token | quote }} }
- { name: REHAPRO_PKCS11_KEY, value: {{ index $k.pkcs11.keyLabels $name | quote }} }
- name: REHAPRO_PKCS11_PIN
  valueFrom: { secretKeyRef: { name: {{ $k.pkcs11.pinSecret }}, key: pin } }
{{- end }}
{{- end }}
- name: {{ upper $name }}_DATABASE_URL
  valueFrom: { secretKeyRef: { name: {{ include "rehapro.dbSecret" (list $ $name) }}, key: uri } }
{{- if $.Values.kafka.create }}
- { name: REHAPRO_KAFKA_SECURITY_PROTOCOL, value: SASL_SSL }
- { name: REHAPRO_KAFKA_SASL_MECHANISM, value: SCRAM-SHA-512 }
- { name: REHAPRO_KAFKA_SASL_USERNAME, value: {{ include "rehapro.kafkaUser" (list $ $name) | quote }} }
- name: REHAPRO_KAFKA_SASL_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ include "rehapro.kafkaUser" (list $ $name) }}, key: password } }
- { name: REHAPRO_KAFKA_SSL_CAFILE, value: /etc/rehapro/kafka-ca/ca.crt }
{{- else }}
- { name: REHAPRO_KAFKA_SECURITY_PROTOCOL, value: {{ $.Values.kafka.securityProtocol | quote }} }
{{- with $.Values.kafka.existingUserSecrets }}
- { name: REHAPRO_KAFKA_SASL_MECHANISM, value: SCRAM-SHA-512 }
- { name: REHAPRO_KAFKA_SASL_USERNAME, value: {{ index . $name | quote }} }
- name: REHAPRO_KAFKA_SASL_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ index . $name }}, key: password } }
{{- end }}
{{- end }}
{{- end -}}

{{/* The services that hold per-subject data keys wrapped by a KEK (ServiceDefinition.subject_keys). */}}
{{- define "rehapro.keyHolders" -}}intake casework placement{{- end -}}

{{/* Pods that sign tokens themselves: reporting (to intake), the portal's demo login. Arguments: (list $ component). */}}
{{- define "rehapro.signs" -}}
{{- $ := index . 0 -}}{{- $name := index . 1 -}}
{{- if or (eq $name "reporting") (and (eq $name "portal") $.Values.portal.devLogin) -}}true{{- end -}}
{{- end -}}

{{- define "rehapro.trustConfigMap" -}}{{ include "rehapro.fullname" . }}-jwt-trust{{- end -}}

{{/* Token trust of every pod (services, migrations, portal): the trust file, and the signing key where the pod signs. */}}
{{- define "rehapro.authEnv" -}}
{{- $ := index . 0 -}}{{- $name := index . 1 -}}
- { name: REHAPRO_JWT_TRUST_FILE, value: /etc/rehapro/trust/{{ $.Values.auth.trust.key }} }
{{- if include "rehapro.signs" . }}
- { name: REHAPRO_JWT_SIGNING_KEY_FILE, value: /etc/rehapro/signing/signing-key.json }
{{- end }}
{{- end -}}

{{/* Volumes of every pod running the image: a writable /tmp, the token trust, the signing key
(where the pod signs), the KEK (file provider), the Kafka cluster CA. Arguments: (list $ component). */}}
{{- define "rehapro.volumes" -}}
{{- $ := index . 0 -}}{{- $name := index . 1 -}}
{{- $trust := $.Values.auth.trust -}}
- name: tmp
  emptyDir: { sizeLimit: 64Mi }
# file modes in decimal: 292 = 0444 (public trust), 288 = 0440 (private keys, group = fsGroup)
- name: jwt-trust
{{- if eq $trust.from "Secret" }}
  secret: { secretName: {{ $trust.name }}, defaultMode: 292 }
{{- else if eq $trust.from "ConfigMap" }}
  configMap: { name: {{ $trust.name }}, defaultMode: 292 }
{{- else }}
  configMap: { name: {{ include "rehapro.trustConfigMap" $ }}, defaultMode: 292 }
{{- end }}
{{- if include "rehapro.signs" . }}
- name: signing-key
  secret:
    secretName: {{ $.Values.auth.signingKeySecret }}
    defaultMode: 288
    items: [{ key: signing-key.json, path: signing-key.json }, { key: jwks.json, path: jwks.json }]
{{- end }}
{{- if and (eq $.Values.keys.provider "file") (has $name (include "rehapro.keyHolders" $ | splitList " ")) }}
- name: kek
  secret: { secretName: {{ index $.Values.keys.kekSecrets $name }}, defaultMode: 288, items: [{ key: kek.json, path: kek.json }] }
{{- end }}
{{- if and $.Values.kafka.create (ne $name "portal") }}
- name: kafka-ca
  secret: { secretName: {{ include "rehapro.kafkaCluster" $ }}-cluster-ca-cert, items: [{ key: ca.crt, path: ca.crt }] }
{{- end }}
{{- end -}}

{{- define "rehapro.volumeMounts" -}}
{{- $ := index . 0 -}}{{- $name := index . 1 -}}
- { name: tmp, mountPath: /tmp }
- { name: jwt-trust, mountPath: /etc/rehapro/trust, readOnly: true }
{{- if include "rehapro.signs" . }}
- { name: signing-key, mountPath: /etc/rehapro/signing, readOnly: true }
{{- end }}
{{- if and (eq $.Values.keys.provider "file") (has $name (include "rehapro.keyHolders" $ | splitList " ")) }}
- { name: kek, mountPath: /etc/rehapro/kek, readOnly: true }
{{- end }}
{{- if and $.Values.kafka.create (ne $name "portal") }}
- { name: kafka-ca, mountPath: /etc/rehapro/kafka-ca, readOnly: true }
{{- end }}
{{- end -}}
