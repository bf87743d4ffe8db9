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
{{- /* Exactly what the code does: reads through informers (get, list, watch); writes by server-side
   apply (patch, and create for a new object) or merge patch; deletes only pods (rolling restarts)
   and the volumes of removed nodes; reads a failing node's log. No update (PUT) and no delete of what the garbage collector
   removes. finalizers/update: owner references with blockOwnerDeletion on our children. */}}
- apiGroups: [rabbit.operator.dev]
  resources: [rabbitclusters, vhosts, users, permissions, queues, exchanges, bindings, policies]
  verbs: [get, list, watch, patch]
- apiGroups: [rabbit.operator.dev]
  resources: [rabbitclusters/status, vhosts/status, users/status, permissions/status, queues/status, exchanges/status, bindings/status, policies/status]
  verbs: [patch]
- apiGroups: [rabbit.operator.dev]
  resources: [rabbitclusters/finalizers, users/finalizers]
  verbs: [update]
- apiGroups: [apps]
  resources: [statefulsets]
  verbs: [get, list, watch, create, patch]
- apiGroups: [""]
  resources: [services, configmaps, secrets, serviceaccounts]
  verbs: [get, list, watch, create, patch]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, delete]
{{- /* Exec over WebSocket (client-node) is a GET upgrade: Kubernetes up to 1.34 authorizes it as
   get, 1.35+ as create (as for SPDY). Both, so that it works across the supported versions. */}}
- apiGroups: [""]
  resources: [pods/exec]
  verbs: [get, create]
{{- /* The previous log of a RabbitMQ container that fails to boot: its error lines go in a condition. */}}
- apiGroups: [""]
  resources: [pods/log]
  verbs: [get]
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [get, list, watch, delete]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}
