{{/*
Names, labels and the values every template shares (the `helm create` / Bitnami helpers).
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "ledger.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The object name prefix: <release>-<name>, or the release name alone when it already contains the
name; fullnameOverride wins. Truncated to 63 characters (DNS label).
*/}}
{{- define "ledger.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart label value: name-version */}}
{{- define "ledger.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's labels that every object and pod of it carries. */}}
{{- define "ledger.instanceLabels" -}}
app.kubernetes.io/name: {{ include "ledger.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Selector labels of the serving pods: stable for the life of a release (a Deployment's selector is
immutable). `component: server` keeps the migration Job's and the helm test's pods out of the
Service, the PodDisruptionBudget and the anti-affinity.
*/}}
{{- define "ledger.selectorLabels" -}}
{{ include "ledger.instanceLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{/* Kubernetes recommended labels, plus commonLabels (component is added per object). */}}
{{- define "ledger.labels" -}}
helm.sh/chart: {{ include "ledger.chart" . }}
{{ include "ledger.instanceLabels" . }}
app.kubernetes.io/version: {{ include "ledger.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ledger
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* metadata.annotations of every object: commonAnnotations merged with the object's own (a dict). */}}
{{- define "ledger.annotations" -}}
{{- $merged := merge (deepCopy (default (dict) .annotations)) (deepCopy .context.Values.commonAnnotations) }}
{{- with $merged }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "ledger.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ledger.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ledger.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest is given. */}}
{{- define "ledger.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "ledger.imageTag" .) }}
{{- end }}
{{- end }}

{{/* userinfo escaping: urlquery writes a space as "+", which a URL's userinfo would keep as "+". */}}
{{- define "ledger.userinfo" -}}
{{- urlquery . | replace "+" "%20" }}
{{- end }}

{{- define "ledger.databaseUrl" -}}
{{- $pg := .Values.postgres }}
{{- $url := printf "postgres://%s:%s@%s:%d/%s" (include "ledger.userinfo" $pg.username) (include "ledger.userinfo" $pg.password) $pg.host (int $pg.port) $pg.database }}
{{- if $pg.sslmode }}{{ $url = printf "%s?sslmode=%s" $url $pg.sslmode }}{{ end }}
{{- $url }}
{{- end }}

{{- define "ledger.redisUrl" -}}
{{- $r := .Values.redis }}
{{- $auth := "" }}
{{- if $r.password }}
{{- $auth = printf "%s:%s@" (include "ledger.userinfo" $r.username) (include "ledger.userinfo" $r.password) }}
{{- end }}
{{- printf "%s://%s%s:%d/%d" (ternary "rediss" "redis" $r.tls) $auth $r.host (int $r.port) (int $r.database) }}
{{- end }}

{{/* The chart's own Secret: rendered unless both URLs come from existing Secrets. */}}
{{- define "ledger.secretName" -}}
{{- printf "%s-credentials" (include "ledger.fullname" .) }}
{{- end }}

{{- define "ledger.needsSecret" -}}
{{- if or (not .Values.postgres.existingSecret) (not .Values.redis.existingSecret) }}true{{ end }}
{{- end }}

{{/* env entries of the two credential URLs, from the chart's Secret or the existing ones. */}}
{{- define "ledger.credentialEnv" -}}
- name: LEDGER_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.postgres.existingSecret | default (include "ledger.secretName" .) }}
      key: {{ ternary .Values.postgres.existingSecretKey "database-url" (ne .Values.postgres.existingSecret "") }}
- name: LEDGER_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret | default (include "ledger.secretName" .) }}
      key: {{ ternary .Values.redis.existingSecretKey "redis-url" (ne .Values.redis.existingSecret "") }}
{{- end }}
