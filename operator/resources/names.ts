// Names and labels of everything a RabbitCluster owns: one place, so builders and controllers agree.
import type { V1OwnerReference } from "@kubernetes/client-node";
import type { NodeType, RabbitCluster } from "../api/index.js";

export const MANAGED_BY = "rabbit-operator";
export const NODE_TYPE_LABEL = "rabbit.operator.dev/node-type";
export const CONFIG_HASH_ANNOTATION = "rabbit.operator.dev/config-hash";

export interface ClusterNames {
  headlessService: string;
  clientService: string;
  serverConfig: string;
  erlangCookie: string;
  defaultUser: string;
  serviceAccount: string;
  podDisruptionBudget: string;
  statefulSet: (type: NodeType) => string;
}

export function clusterNames(cluster: RabbitCluster): ClusterNames {
  const name = cluster.metadata.name;
  return {
    headlessService: `${name}-nodes`,
    clientService: name,
    serverConfig: `${name}-server-conf`,
    erlangCookie: `${name}-erlang-cookie`,
    defaultUser: `${name}-default-user`,
    serviceAccount: `${name}-server`,
    podDisruptionBudget: `${name}-server`,
    statefulSet: (type) => `${name}-${type}`,
  };
}

export function namespaceOf(cluster: RabbitCluster): string {
  if (!cluster.metadata.namespace) throw new Error(`RabbitCluster ${cluster.metadata.name} has no namespace`);
  return cluster.metadata.namespace;
}

/** Selects every RabbitMQ pod of the cluster, disc and ram. */
export function clusterSelector(cluster: RabbitCluster): Record<string, string> {
  return { "app.kubernetes.io/name": "rabbitmq", "app.kubernetes.io/instance": cluster.metadata.name };
}

/** Selects the pods of one StatefulSet. */
export function nodeTypeSelector(cluster: RabbitCluster, type: NodeType): Record<string, string> {
  return { ...clusterSelector(cluster), [NODE_TYPE_LABEL]: type };
}

export function clusterLabels(cluster: RabbitCluster): Record<string, string> {
  return {
    ...clusterSelector(cluster),
    "app.kubernetes.io/component": "rabbitmq",
    "app.kubernetes.io/part-of": "rabbitmq",
    "app.kubernetes.io/managed-by": MANAGED_BY,
  };
}

export function ownerReference(cluster: RabbitCluster): V1OwnerReference {
  if (!cluster.metadata.uid) throw new Error(`RabbitCluster ${cluster.metadata.name} has no uid`);
  return {
    apiVersion: cluster.apiVersion,
    kind: cluster.kind,
    name: cluster.metadata.name,
    uid: cluster.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Metadata of a child object: name, namespace, labels, owner. */
export function childMetadata(cluster: RabbitCluster, name: string, extraLabels: Record<string, string> = {}) {
  return {
    name,
    namespace: namespaceOf(cluster),
    labels: { ...clusterLabels(cluster), ...extraLabels },
    ownerReferences: [ownerReference(cluster)],
  };
}

/** Erlang long node name of a pod, stable across restarts thanks to the headless Service. */
export function nodeHost(cluster: RabbitCluster, type: NodeType, ordinal: number, clusterDomain: string): string {
  const names = clusterNames(cluster);
  return `${names.statefulSet(type)}-${ordinal}.${names.headlessService}.${namespaceOf(cluster)}.svc.${clusterDomain}`;
}

export function nodeName(cluster: RabbitCluster, type: NodeType, ordinal: number, clusterDomain: string): string {
  return `rabbit@${nodeHost(cluster, type, ordinal, clusterDomain)}`;
}

export function serviceHost(cluster: RabbitCluster, clusterDomain: string): string {
  return `${clusterNames(cluster).clientService}.${namespaceOf(cluster)}.svc.${clusterDomain}`;
}
