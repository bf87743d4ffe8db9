// The StatefulSet of one node type: <name>-disc or <name>-ram. Both share the headless Service, the
// configuration and the cookie, and so form ONE cluster; they differ in conf.d/20-node-type.conf.
import type {
  V1Container,
  V1ContainerPort,
  V1EnvVar,
  V1ResourceRequirements,
  V1StatefulSet,
  V1Volume,
  V1VolumeMount,
  V1VolumeProjection,
} from "@kubernetes/client-node";
import type { NodeType, RabbitCluster } from "../api/index.js";
import { PORTS } from "../rabbitmq/ports.js";
import { TLS_MOUNT, confDFiles } from "./rabbitmq-config.js";
import type { BuildContext } from "./context.js";
import { CONFIG_HASH_ANNOTATION, NODE_TYPE_LABEL, childMetadata, clusterLabels, clusterNames, clusterSelector, nodeTypeSelector } from "./names.js";
import { COOKIE_SOURCE, CONF_D, MNESIA_DIR, OPERATOR_FILES, PREPARE_SCRIPT, PRE_STOP_SCRIPT, RABBITMQ_HOME } from "./node-scripts.js";
import { mergeOverride } from "./override.js";
import { ERLANG_COOKIE_KEY } from "./secrets.js";
import { serverConfigHash } from "./server-config.js";

export const RABBITMQ_UID = 999;
export const PERSISTENCE_VOLUME = "persistence";

export function nodeCount(cluster: RabbitCluster, type: NodeType): number {
  return cluster.spec.nodes[type];
}

export function buildStatefulSet(cluster: RabbitCluster, type: NodeType, ctx: BuildContext): V1StatefulSet {
  const names = clusterNames(cluster);
  const podLabels = { ...clusterLabels(cluster), [NODE_TYPE_LABEL]: type };
  const spec = cluster.spec;

  const statefulSet: V1StatefulSet = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: childMetadata(cluster, names.statefulSet(type), { [NODE_TYPE_LABEL]: type }),
    spec: {
      replicas: nodeCount(cluster, type),
      serviceName: names.headlessService,
      selector: { matchLabels: nodeTypeSelector(cluster, type) },
      // Nodes of a stopped cluster must start together to find the last one that stopped.
      podManagementPolicy: "Parallel",
      // The operator restarts the pods itself, one at a time across both StatefulSets, each only
      // once the cluster is healthy again.
      updateStrategy: { type: "OnDelete" },
      // A node that leaves is forgotten by the cluster; its volume is removed by the operator after
      // `forget_cluster_node`, or the node crash-loops with inconsistent_cluster if it comes back.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: spec.persistence.whenDeleted, whenScaled: "Retain" },
      template: {
        metadata: { labels: podLabels, annotations: { [CONFIG_HASH_ANNOTATION]: serverConfigHash(cluster) } },
        spec: {
          serviceAccountName: names.serviceAccount,
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
          securityContext: {
            runAsUser: RABBITMQ_UID,
            runAsGroup: RABBITMQ_UID,
            fsGroup: RABBITMQ_UID,
            runAsNonRoot: true,
            seccompProfile: { type: "RuntimeDefault" },
          },
          ...(spec.imagePullSecrets ? { imagePullSecrets: spec.imagePullSecrets } : {}),
          ...(spec.affinity ? { affinity: spec.affinity } : {}),
          ...(spec.tolerations ? { tolerations: spec.tolerations } : {}),
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "kubernetes.io/hostname",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: clusterSelector(cluster) },
            },
          ],
          initContainers: [prepareContainer(cluster, type, ctx)],
          containers: [rabbitmqContainer(cluster, type, ctx)],
          volumes: volumes(cluster, type),
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: PERSISTENCE_VOLUME, labels: podLabels },
          spec: {
            accessModes: ["ReadWriteOnce"],
            ...(spec.persistence.storageClassName ? { storageClassName: spec.persistence.storageClassName } : {}),
            resources: { requests: { storage: String(spec.persistence.storage) } },
          },
        },
      ],
    },
  };
  return mergeOverride(statefulSet, spec.override?.statefulSet);
}

function nodeEnv(cluster: RabbitCluster, type: NodeType, ctx: BuildContext): V1EnvVar[] {
  return [
    { name: "MY_POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
    { name: "MY_POD_NAMESPACE", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } } },
    { name: "POD_ORDINAL", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } } },
    { name: "K8S_SERVICE_NAME", value: clusterNames(cluster).headlessService },
    { name: "NODE_TYPE", value: type },
    { name: "RABBITMQ_USE_LONGNAME", value: "true" },
    { name: "RABBITMQ_NODENAME", value: `rabbit@$(MY_POD_NAME).$(K8S_SERVICE_NAME).$(MY_POD_NAMESPACE).svc.${ctx.clusterDomain}` },
    { name: "K8S_HOSTNAME_SUFFIX", value: `.$(K8S_SERVICE_NAME).$(MY_POD_NAMESPACE).svc.${ctx.clusterDomain}` },
    { name: "HOME", value: RABBITMQ_HOME },
  ];
}

function prepareContainer(cluster: RabbitCluster, type: NodeType, ctx: BuildContext): V1Container {
  return {
    name: "prepare",
    image: cluster.spec.image,
    command: ["/bin/bash", "-c", PREPARE_SCRIPT],
    env: nodeEnv(cluster, type, ctx),
    securityContext: containerSecurityContext(),
    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } },
    volumeMounts: [
      { name: "rabbitmq-home", mountPath: RABBITMQ_HOME },
      { name: PERSISTENCE_VOLUME, mountPath: MNESIA_DIR },
      { name: "erlang-cookie", mountPath: COOKIE_SOURCE, readOnly: true },
      { name: "conf-d", mountPath: CONF_D, readOnly: true },
    ],
  };
}

function rabbitmqContainer(cluster: RabbitCluster, type: NodeType, ctx: BuildContext): V1Container {
  const spec = cluster.spec;
  const mounts: V1VolumeMount[] = [
    { name: "rabbitmq-home", mountPath: RABBITMQ_HOME },
    { name: PERSISTENCE_VOLUME, mountPath: MNESIA_DIR },
    { name: "conf-d", mountPath: CONF_D, readOnly: true },
    { name: "operator-files", mountPath: OPERATOR_FILES, readOnly: true },
  ];
  if (spec.tls) mounts.push({ name: "tls", mountPath: TLS_MOUNT, readOnly: true });
  const ports: V1ContainerPort[] = [
    { name: "amqp", containerPort: PORTS.amqp, protocol: "TCP" },
    { name: "management", containerPort: PORTS.management, protocol: "TCP" },
    { name: "prometheus", containerPort: PORTS.prometheus, protocol: "TCP" },
    { name: "epmd", containerPort: PORTS.epmd, protocol: "TCP" },
    { name: "cluster-rpc", containerPort: PORTS.clustering, protocol: "TCP" },
  ];
  if (spec.tls) {
    ports.push({ name: "amqps", containerPort: PORTS.amqps, protocol: "TCP" }, { name: "management-tls", containerPort: PORTS.managementTls, protocol: "TCP" });
  }
  return {
    name: "rabbitmq",
    image: spec.image,
    env: [
      ...nodeEnv(cluster, type, ctx),
      { name: "RABBITMQ_ENABLED_PLUGINS_FILE", value: `${OPERATOR_FILES}/enabled_plugins` },
      { name: "RABBITMQ_ADVANCED_CONFIG_FILE", value: `${OPERATOR_FILES}/advanced.config` },
      { name: "RABBITMQ_CONF_ENV_FILE", value: `${OPERATOR_FILES}/rabbitmq-env.conf` },
      { name: "GRACE_SECONDS", value: String(spec.terminationGracePeriodSeconds) },
    ],
    ports,
    ...(spec.resources ? { resources: resourceRequirements(spec.resources) } : {}),
    securityContext: containerSecurityContext(),
    volumeMounts: mounts,
    // Booting, and after a full stop waiting for the other disc nodes, can take minutes.
    startupProbe: { tcpSocket: { port: "amqp" }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 90 },
    // A TCP check: every rabbitmq-diagnostics call boots an Erlang VM (1-1.5 s of CPU).
    readinessProbe: { tcpSocket: { port: "amqp" }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    lifecycle: { preStop: { exec: { command: ["/bin/bash", "-c", PRE_STOP_SCRIPT] } } },
    // A node that fails to boot leaves its last log lines in the pod status, for the condition
    // that stops a roll to show RabbitMQ's own words (a bad config key, an unknown plugin).
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
}

/** Quantities may be numbers in our schema (int-or-string); the Kubernetes types want strings. */
function resourceRequirements(resources: NonNullable<RabbitCluster["spec"]["resources"]>): V1ResourceRequirements {
  const asStrings = (list?: Record<string, string | number>) =>
    list ? Object.fromEntries(Object.entries(list).map(([name, quantity]) => [name, String(quantity)])) : undefined;
  const requests = asStrings(resources.requests);
  const limits = asStrings(resources.limits);
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}

function containerSecurityContext() {
  return { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, runAsNonRoot: true };
}

function volumes(cluster: RabbitCluster, type: NodeType): V1Volume[] {
  const names = clusterNames(cluster);
  const files = confDFiles(cluster, type);
  const configMapItems = files.flatMap((file) => ("configMapKey" in file ? [{ key: file.configMapKey, path: file.path }] : []));
  const secretSources: V1VolumeProjection[] = files.flatMap((file) =>
    "secret" in file ? [{ secret: { name: file.secret, items: [{ key: file.secretKey, path: file.path }] } }] : [],
  );
  const sources: V1VolumeProjection[] = [{ configMap: { name: names.serverConfig, items: configMapItems } }, ...secretSources];
  const list: V1Volume[] = [
    { name: "rabbitmq-home", emptyDir: {} },
    { name: "erlang-cookie", secret: { secretName: names.erlangCookie, defaultMode: 0o440, items: [{ key: ERLANG_COOKIE_KEY, path: ".erlang.cookie" }] } },
    { name: "conf-d", projected: { defaultMode: 0o444, sources } },
    {
      name: "operator-files",
      configMap: {
        name: names.serverConfig,
        defaultMode: 0o444,
        items: ["enabled_plugins", "advanced.config", "rabbitmq-env.conf"].map((key) => ({ key, path: key })),
      },
    },
  ];
  const tls = cluster.spec.tls;
  if (tls) {
    const sources: V1VolumeProjection[] = [
      {
        secret: {
          name: tls.secretName,
          items: [
            { key: "tls.crt", path: "tls.crt" },
            { key: "tls.key", path: "tls.key" },
          ],
        },
      },
    ];
    if (tls.caSecretName) sources.push({ secret: { name: tls.caSecretName, items: [{ key: "ca.crt", path: "ca.crt" }] } });
    list.push({ name: "tls", projected: { defaultMode: 0o440, sources } });
  }
  return list;
}
