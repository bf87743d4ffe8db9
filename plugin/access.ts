// The cluster a command works on, reached the way the controllers reach it (connection.ts's
// resolveConnection): a RabbitCluster by name, its default user, its management API (through a
// port-forward to a Ready node, since the plugin runs outside the cluster), or an external
// cluster given by a connection Secret. Every refusal says what to do.
import type { V1Pod } from "@kubernetes/client-node";
import type { RabbitCluster } from "../operator/api/index.js";
import { referenceKey, resolveConnection } from "../operator/controllers/topology/connection.js";
import { Problem } from "../operator/controllers/topology/adapter.js";
import { ManagementApiError, ManagementClient, type ManagementConnection } from "../operator/rabbitmq/management.js";
import { PORTS } from "../operator/rabbitmq/ports.js";
import { NODE_TYPE_LABEL, clusterNames, clusterSelector } from "../operator/resources/names.js";
import { PluginError } from "./errors.js";
import type { Kube } from "./kube.js";
import { podIsReady } from "./views.js";
import { forwardPort, type LocalForward } from "./port-forward.js";

export interface TargetSelection {
  /** A RabbitCluster's name (in namespace). */
  cluster?: string;
  /** Or a connection Secret's name (in namespace), as topology objects name an external cluster. */
  connectionSecret?: string;
  namespace: string;
}

export interface Target {
  /** "RabbitCluster ns/name" or "the cluster of Secret ns/name". */
  description: string;
  /** Undefined for an external cluster. */
  cluster?: RabbitCluster;
  /** referenceKey() of a reference to this cluster: topology objects with the same key declare things in it. */
  referenceKey: string;
  connection: ManagementConnection;
  management: ManagementClient;
  /** Runs a management request; a failure names its cause (the port-forward's, if it failed). */
  call<T>(what: string, request: (client: ManagementClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const CLUSTER_LIST_HINT = "kubectl rabbit list -A lists the clusters you can see; -n NAMESPACE selects the namespace";

/** Reads the RabbitCluster, or fails with what to do. */
export async function requireCluster(kube: Kube, namespace: string, name: string): Promise<RabbitCluster> {
  const cluster = await kube.getCluster(namespace, name);
  if (!cluster) throw new PluginError(`RabbitCluster ${namespace}/${name} not found`, CLUSTER_LIST_HINT);
  return cluster;
}

/** The cluster's pods, disc nodes first, each in order. */
export async function clusterPods(kube: Kube, cluster: RabbitCluster): Promise<V1Pod[]> {
  const pods = await kube.listPods(cluster.metadata.namespace ?? kube.namespace, clusterSelector(cluster));
  const rank = (pod: V1Pod) => (pod.metadata?.labels?.[NODE_TYPE_LABEL] === "ram" ? 1 : 0);
  return pods.sort((a, b) => rank(a) - rank(b) || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "", "en", { numeric: true }));
}

/** A Ready node to forward to, or a failure that says why there is none. */
export async function readyPod(kube: Kube, cluster: RabbitCluster): Promise<V1Pod> {
  const pods = await clusterPods(kube, cluster);
  const ready = pods.find(podIsReady);
  if (ready) return ready;
  const name = `${cluster.metadata.namespace}/${cluster.metadata.name}`;
  const condition = cluster.status?.conditions?.find((c) => c.type === "Ready");
  const why = condition ? ` (Ready=${condition.status}, ${condition.reason}: ${condition.message})` : "";
  throw new PluginError(
    `no node of RabbitCluster ${name} is Ready${why}; ${pods.length} pod(s) found`,
    `kubectl rabbit status ${cluster.metadata.name} -n ${cluster.metadata.namespace} shows the nodes; kubectl describe rabbitcluster ${cluster.metadata.name} -n ${cluster.metadata.namespace} their events`,
  );
}

export async function openTarget(kube: Kube, selection: TargetSelection): Promise<Target> {
  if (selection.connectionSecret) return openExternal(kube, selection.connectionSecret, selection.namespace);
  if (!selection.cluster) throw new PluginError("name a RabbitCluster (or --connection-secret NAME for an external cluster)", undefined, 2);
  const cluster = await requireCluster(kube, selection.namespace, selection.cluster);
  const namespace = selection.namespace;
  const reference = { name: selection.cluster };
  const secretReference = cluster.status?.defaultUser?.secretReference ?? { namespace, name: clusterNames(cluster).defaultUser };
  const secret = await kube.getSecret(secretReference.namespace, secretReference.name);
  const pod = await readyPod(kube, cluster);
  const forward = await forwardPort(kube.kubeConfig, namespace, pod.metadata!.name!, PORTS.management);
  const resolved = resolveConnection(reference, namespace, {
    cluster: () => cluster,
    secret: () => secret,
    clusterEndpoint: () => `http://${forward.address}:${forward.port}`,
  });
  if (resolved instanceof Problem) {
    await forward.close();
    throw new PluginError(`${resolved.message} (${resolved.reason})`);
  }
  return target(resolved.description, cluster, referenceKey(reference, namespace), resolved.connection, forward);
}

async function openExternal(kube: Kube, secretName: string, namespace: string): Promise<Target> {
  const reference = { connectionSecret: { name: secretName } };
  const secret = await kube.getSecret(namespace, secretName);
  const resolved = resolveConnection(reference, namespace, { cluster: () => undefined, secret: () => secret, clusterEndpoint: () => "" });
  if (resolved instanceof Problem) throw new PluginError(`${resolved.message} (${resolved.reason})`);
  return target(resolved.description, undefined, referenceKey(reference, namespace), resolved.connection, undefined);
}

function target(
  description: string,
  cluster: RabbitCluster | undefined,
  key: string,
  connection: ManagementConnection,
  forward: LocalForward | undefined,
): Target {
  // Two attempts at most: a person is waiting, and a refused forward would only be refused again.
  const management = new ManagementClient(connection, { retry: { maxAttempts: 2 } });
  return {
    description,
    cluster,
    referenceKey: key,
    connection,
    management,
    async call(what, request) {
      try {
        return await request(management);
      } catch (error) {
        throw forward?.lastFailure() ?? managementFailure(error, `${what} of ${description}`);
      }
    },
    close: async () => forward?.close(),
  };
}

export function managementFailure(error: unknown, what: string): PluginError {
  if (error instanceof PluginError) return error;
  if (error instanceof ManagementApiError) {
    if (error.status === 401) return new PluginError(`${what}: the management API refused the credentials (401)`, "is the default-user Secret current?");
    if (error.status === 403) return new PluginError(`${what}: the user may not do this (403): ${error.message}`);
    if (error.status === 404) return new PluginError(`${what}: not found: ${error.message}`);
    return new PluginError(`${what}: ${error.message}`);
  }
  return new PluginError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
}
