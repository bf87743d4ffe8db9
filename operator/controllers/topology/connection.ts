// Which RabbitMQ cluster a topology object lives in, and how to reach its management API: a
// RabbitCluster by name (its default user, its client Service) or a connection Secret (an external
// cluster). Pure over the lookups it is given, so every refusal is tested without an API server.
import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterReference, RabbitCluster } from "../../api/index.js";
import type { ManagementConnection } from "../../rabbitmq/management.js";
import { clusterNames, managementUrl, nodeHost, serviceHost } from "../../resources/names.js";
import { secretValue } from "../../resources/secrets.js";
import { Problem } from "./adapter.js";
import { connectionSecretKey, rabbitClusterKey } from "../cluster-keys.js";

/**
 * Annotation of a RabbitCluster listing the namespaces (comma-separated, or `*` for all) whose
 * topology objects may use it. Without it only objects in the cluster's own namespace may.
 */
export const ALLOWED_NAMESPACES_ANNOTATION = "rabbit.operator.dev/topology-allowed-namespaces";

export interface ClusterConnection {
  /** Objects with the same key are in the same cluster, seen by the same user: one bulk listing serves them all. */
  key: string;
  connection: ManagementConnection;
  /**
   * For stream declarations and deletions: the management API of the cluster's first disc node
   * (a RabbitCluster's; none for a connection Secret). RabbitMQ 3.10.0-3.10.10 mishandle a
   * stream command that reaches a node outside the stream coordinator (a node that joined after
   * the first stream was declared, until the coordinator adds it): it tries to start a second
   * coordinator, fails after 25 s, and a request given up meanwhile leaves that node broken for
   * every later stream command (fixed upstream in 3.10.11). The first disc node is in the
   * coordinator whenever a stream exists: the first stream command reached it, or it was running
   * when one did.
   */
  streamConnection?: ManagementConnection;
  /** For messages: `RabbitCluster messaging/demo`, `the cluster of Secret team-a/external`. */
  description: string;
}

export interface ConnectionLookups {
  cluster(namespace: string, name: string): RabbitCluster | undefined;
  secret(namespace: string, name: string): V1Secret | undefined;
  /** Base URL of a RabbitCluster's management API. */
  clusterEndpoint(cluster: RabbitCluster): string;
  /** Base URL of the management API of a RabbitCluster's first disc node (see streamConnection). */
  firstNodeEndpoint?(cluster: RabbitCluster): string;
  /** The namespaces the operator watches; undefined or empty: all. */
  watchedNamespaces?: readonly string[];
}

/** The client Service's DNS name: the operator runs inside the Kubernetes cluster. */
export function inClusterEndpoint(clusterDomain: string): (cluster: RabbitCluster) => string {
  return (cluster) => managementUrl(serviceHost(cluster, clusterDomain));
}

/** The first disc node's DNS name under the headless Service. */
export function inClusterFirstNodeEndpoint(clusterDomain: string): (cluster: RabbitCluster) => string {
  return (cluster) => managementUrl(nodeHost(cluster, "disc", 0, clusterDomain));
}

/** Whether the cluster lets objects of `namespace` use it. */
export function namespaceAllowed(cluster: RabbitCluster, namespace: string): boolean {
  if (cluster.metadata.namespace === namespace) return true;
  const allowed = cluster.metadata.annotations?.[ALLOWED_NAMESPACES_ANNOTATION];
  if (!allowed) return false;
  return allowed
    .split(",")
    .map((entry) => entry.trim())
    .some((entry) => entry === "*" || entry === namespace);
}

/** A normalized form of the reference: objects with equal keys name the same cluster. */
export function referenceKey(reference: ClusterReference, objectNamespace: string): string {
  if (reference.connectionSecret) return connectionSecretKey(objectNamespace, reference.connectionSecret.name);
  return rabbitClusterKey(reference.namespace ?? objectNamespace, reference.name ?? "");
}

export function resolveConnection(reference: ClusterReference, objectNamespace: string, lookups: ConnectionLookups): ClusterConnection | Problem {
  if (reference.connectionSecret) return viaConnectionSecret(reference.connectionSecret.name, objectNamespace, lookups);
  if (!reference.name) return new Problem("InvalidClusterReference", "rabbitmqClusterReference needs a name or a connectionSecret");
  return viaRabbitCluster(reference.name, reference.namespace ?? objectNamespace, objectNamespace, lookups);
}

function viaRabbitCluster(name: string, namespace: string, objectNamespace: string, lookups: ConnectionLookups): ClusterConnection | Problem {
  const watched = lookups.watchedNamespaces ?? [];
  if (watched.length > 0 && !watched.includes(namespace)) {
    return new Problem(
      "ClusterNotWatched",
      `RabbitCluster ${namespace}/${name} is in a namespace the operator does not watch (it watches ${watched.join(", ")})`,
    );
  }
  const cluster = lookups.cluster(namespace, name);
  if (!cluster) return new Problem("ClusterNotFound", `RabbitCluster ${namespace}/${name} does not exist`, true);
  if (cluster.metadata.deletionTimestamp) return new Problem("ClusterDeleting", `RabbitCluster ${namespace}/${name} is being deleted`, true);
  if (!namespaceAllowed(cluster, objectNamespace)) {
    return new Problem(
      "ClusterNamespaceNotAllowed",
      `RabbitCluster ${namespace}/${name} does not allow topology objects from namespace ${objectNamespace}: list it in the cluster's ${ALLOWED_NAMESPACES_ANNOTATION} annotation`,
    );
  }
  const secretName = clusterNames(cluster).defaultUser;
  const secret = lookups.secret(namespace, secretName);
  const username = secretValue(secret, "username");
  const password = secretValue(secret, "password");
  if (!username || !password) {
    return new Problem("ClusterNotReady", `RabbitCluster ${namespace}/${name} has no default user yet (Secret ${namespace}/${secretName})`);
  }
  const url = lookups.clusterEndpoint(cluster);
  const firstNode = lookups.firstNodeEndpoint?.(cluster);
  return {
    key: `${url}\u0000${username}`,
    connection: { url, username, password },
    ...(firstNode ? { streamConnection: { url: firstNode, username, password } } : {}),
    description: `RabbitCluster ${namespace}/${name}`,
  };
}

function viaConnectionSecret(secretName: string, namespace: string, lookups: ConnectionLookups): ClusterConnection | Problem {
  const secret = lookups.secret(namespace, secretName);
  if (!secret) return new Problem("ConnectionSecretNotFound", `connection Secret ${namespace}/${secretName} does not exist`, true);
  const missing = ["uri", "username", "password"].filter((key) => !secretValue(secret, key));
  if (missing.length > 0) {
    return new Problem("InvalidConnectionSecret", `connection Secret ${namespace}/${secretName} lacks ${missing.join(", ")}`);
  }
  const uri = secretValue(secret, "uri")!;
  const url = normalizeUri(uri);
  if (url === undefined) {
    return new Problem(
      "InvalidConnectionSecret",
      `connection Secret ${namespace}/${secretName}: uri must be an http(s) URL of the management API, e.g. http://host:15672`,
    );
  }
  const username = secretValue(secret, "username")!;
  return {
    key: `${url}\u0000${username}`,
    connection: { url, username, password: secretValue(secret, "password")! },
    description: `the cluster of Secret ${namespace}/${secretName}`,
  };
}

/** http(s) URLs as they are; a bare host[:port] gets http:// (the official operator accepts both). */
function normalizeUri(uri: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(uri) ? uri : `http://${uri}`;
  try {
    const parsed = new URL(withScheme);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return undefined;
    return withScheme.replace(/\/+$/, "");
  } catch {
    return undefined;
  }
}
