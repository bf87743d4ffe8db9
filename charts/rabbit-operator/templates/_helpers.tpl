{{- define "rabbit-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rabbit-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "rabbit-operator.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "rabbit-operator.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "rabbit-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rabbit-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "rabbit-operator.labels" -}}
{{ include "rabbit-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The permissions the operator needs in a namespace it manages. */}}
{{- define "rabbit-operator.managerRules" -}}
- apiGroups: [rabbit.operator.dev]
  resources: [rabbitclusters, vhosts, users, permissions, queues, exchanges, bindings, policies]
  verbs: [get, list, watch, update, patch]
- apiGroups: [rabbit.operator.dev]
  resources: [rabbitclusters/status, vhosts/status, users/status, permissions/status, queues/status, exchanges/status, bindings/status, policies/status, rabbitclusters/finalizers, vhosts/finalizers, users/finalizers, permissions/finalizers, queues/finalizers, exchanges/finalizers, bindings/finalizers, policies/finalizers]
  verbs: [get, update, patch]
- apiGroups: [apps]
  resources: [statefulsets]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [services, configmaps, secrets, serviceaccounts]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, delete]
{{- /* Exec over WebSocket (client-node) is a GET upgrade: Kubernetes up to 1.34 authorizes it as
   get, 1.35+ as create (as for SPDY). Both, so that it works across the supported versions. */}}
- apiGroups: [""]
  resources: [pods/exec]
  verbs: [get, create]
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [get, list, watch, delete]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}
