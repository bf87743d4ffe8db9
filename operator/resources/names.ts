// Names and labels of everything the operator makes (a RabbitCluster's children, a User's
// credentials Secret): one place, so builders, controllers and the Pulumi components agree.
import type { V1OwnerReference } from "@kubernetes/client-node";
import type { CustomResource, NodeType, RabbitCluster, User } from "../api/index.js";
import { PORTS } from "../rabbitmq/ports.js";

export const MANAGED_BY = "rabbit-operator";
/** Label selector of every object the operator makes (the caches of what it owns). */
export const MANAGED_SELECTOR = `app.kubernetes.io/managed-by=${MANAGED_BY}`;
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

/**
 * The controller reference of an object we make for one of our custom resources (a RabbitCluster's
 * children, a User's credentials Secret): the garbage collector deletes it with its owner.
 */
export function ownerReference(owner: CustomResource<string, unknown, unknown>): V1OwnerReference {
  if (!owner.metadata.uid) throw new Error(`${owner.kind} ${owner.metadata.name} has no uid`);
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
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

/** The Secret the operator keeps a User's credentials in; named here so the Pulumi components can report it. */
export function credentialsSecretName(user: User): string {
  return `${user.metadata.name}-user-credentials`;
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

/**
 * Base URL of a management API: plain HTTP (TLS, when configured, is a second listener the
 * operator does not use), by default on the port RabbitMQ's pods listen on.
 */
export function managementUrl(host: string, port: number = PORTS.management): string {
  return `http://${host}:${port}`;
}

/** Where clients reach the cluster, through its client Service: status.endpoints and the Pulumi component's output. */
export function clusterEndpoints(cluster: RabbitCluster, clusterDomain: string): { amqp: string; management: string } {
  const host = serviceHost(cluster, clusterDomain);
  return { amqp: `amqp://${host}:${PORTS.amqp}`, management: managementUrl(host) };
}
