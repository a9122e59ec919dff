{{/* Name of the chart, for labels. */}}
{{- define "campaignbot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every object name: release-chart, or fullnameOverride. */}}
{{- define "campaignbot.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "campaignbot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "campaignbot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: campaignbot
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: include "campaignbot.selector" (list $ "server"). */}}
{{- define "campaignbot.selector" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "campaignbot.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* The image reference: repository@digest, else repository:tag (tag defaults to appVersion). */}}
{{- define "campaignbot.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the secret settings. */}}
{{- define "campaignbot.secretName" -}}
{{- default (printf "%s-env" (include "campaignbot.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The server's Service name (the artifact proxy's host for Jobs). */}}
{{- define "campaignbot.serverService" -}}
{{- printf "%s-server" (include "campaignbot.fullname" .) -}}
{{- end -}}

{{/* The worker's ServiceAccount, bound to the runner Role in jobs.namespace. */}}
{{- define "campaignbot.workerServiceAccount" -}}
{{- printf "%s-worker" (include "campaignbot.fullname" .) -}}
{{- end -}}

{{/* A setting as the string the binary parses: Helm reads YAML numbers as
floats, so whole numbers are printed without an exponent. */}}
{{- define "campaignbot.str" -}}
{{- if kindIs "float64" . -}}
{{- if eq . (floor .) -}}{{- int64 . -}}{{- else -}}{{- . -}}{{- end -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* The non-secret settings: what the chart derives, overridden by every
non-empty entry of .Values.config. A dict rendered as YAML. */}}
{{- define "campaignbot.config" -}}
{{- $c := dict "CAMPAIGN_HTTP_ADDR" (printf "0.0.0.0:%v" (include "campaignbot.str" .Values.server.port)) -}}
{{- $_ := set $c "CAMPAIGN_WORKER_HTTP_ADDR" (printf "0.0.0.0:%v" (include "campaignbot.str" .Values.worker.port)) -}}
{{- if .Values.jobs.enabled -}}
{{- $_ := set $c "RUNNER_EXECUTOR" "kube" -}}
{{- $_ := set $c "RUNNER_ARTIFACT_URL" (printf "http://%s.%s.svc:%v/artifacts/v1" (include "campaignbot.serverService" .) .Release.Namespace (include "campaignbot.str" .Values.server.port)) -}}
{{- $_ := set $c "CAMPAIGN_KUBE_NAMESPACE" .Values.jobs.namespace -}}
{{- $_ := set $c "CAMPAIGN_KUBE_AGENT_IMAGE" (include "campaignbot.image" .) -}}
{{- $_ := set $c "CAMPAIGN_KUBE_IMAGE_PULL_POLICY" .Values.image.pullPolicy -}}
{{- $_ := set $c "CAMPAIGN_KUBE_SERVICE_ACCOUNT" .Values.jobs.taskServiceAccountName -}}
{{- end -}}
{{- if .Values.artifacts.persistence.enabled -}}
{{- $_ := set $c "RUNNER_ARTIFACT_DIR" "/var/lib/campaignbot/artifacts" -}}
{{- end -}}
{{- range $k, $v := .Values.config -}}
{{- if not (kindIs "invalid" $v) -}}
{{- $s := include "campaignbot.str" $v -}}
{{- if ne $s "" -}}
{{- $_ := set $c $k $s -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $c -}}
{{- end -}}

{{/* Volumes and mounts every campaignbot pod has: a writable /tmp and, when
enabled, the shared artifact volume. */}}
{{- define "campaignbot.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSize }}
{{- if .Values.artifacts.persistence.enabled }}
- name: artifacts
  persistentVolumeClaim:
    claimName: {{ default (printf "%s-artifacts" (include "campaignbot.fullname" .)) .Values.artifacts.persistence.existingClaim }}
{{- end }}
{{- end -}}

{{- define "campaignbot.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.artifacts.persistence.enabled }}
- name: artifacts
  mountPath: /var/lib/campaignbot/artifacts
{{- end }}
{{- end -}}

{{/* envFrom of every campaignbot container: the ConfigMap and the Secret. */}}
{{- define "campaignbot.envFrom" -}}
- configMapRef:
    name: {{ include "campaignbot.fullname" . }}-env
- secretRef:
    name: {{ include "campaignbot.secretName" . }}
{{- end -}}
