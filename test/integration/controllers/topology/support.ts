// Shared by the topology controllers' integration tests: a manager running the topology
// controllers against the test control plane, pointed at a local RabbitMQ cluster; a RabbitCluster
// object standing for that cluster; helpers to apply, read, wait for and delete topology objects.
import type { KubernetesObject } from "@kubernetes/client-node";
import { API_VERSION, type Condition } from "../../../../operator/api/index.js";
import { addTopologyControllers, type TopologyControllers } from "../../../../operator/controllers/topology/index.js";
import type { AttemptEvent } from "../../../../operator/rabbitmq/management.js";
import { createLogger } from "../../../../operator/runtime/logger.js";
import { Manager } from "../../../../operator/runtime/manager.js";
import { waitFor } from "../../../../dev/exec.js";
import { apply, createNamespace, installCrds, kubeClients, type KubeClients } from "../../../../dev/kube.js";
import type { LocalRabbitCluster, NodeRef } from "../../../../dev/rabbitmq-cluster.js";
import { writeRecorder, type RecordedRequest } from "../../runtime/helpers.js";

/** The RabbitCluster the tests' objects reference; its endpoint is the local cluster. */
export const CLUSTER = "local";

export interface TopologyObject extends KubernetesObject {
  spec: Record<string, unknown>;
  status?: { observedGeneration?: number; conditions?: Condition[]; username?: string; credentials?: { name: string } };
}

export interface TopologyEnvironment {
  clients: KubeClients;
  /** Namespaces the operator watches; the first holds the RabbitCluster. */
  namespaces: string[];
  manager: Manager;
  topology: TopologyControllers;
  /** Writes to the API server made by the operator (not by the tests). */
  kubeWrites: RecordedRequest[];
  /** Every line the operator logged, at its most verbose level. */
  logLines: string[];
  /** Every management API request the operator made. */
  managementRequests: AttemptEvent[];
  resetCounters(): void;
  stop(): Promise<void>;
}

export async function startTopologyEnvironment(
  kubeconfig: string,
  rabbit: LocalRabbitCluster,
  options: {
    namespaces?: number;
    driftPeriodMs?: number;
    prefix?: string;
    maxConcurrentReconciles?: number;
    maxConcurrentPerCluster?: number;
    /** The node that stands for a RabbitCluster's client Service (default the first); streams go to the first disc node. */
    serviceNode?: NodeRef;
  } = {},
): Promise<TopologyEnvironment> {
  const clients = kubeClients(kubeconfig);
  await installCrds(clients);
  const created = await Promise.all(Array.from({ length: options.namespaces ?? 1 }, () => createNamespace(clients, options.prefix ?? "topo")));
  const namespaces = created.map((ns) => ns.name);
  const home = namespaces[0]!;
  await apply(clients, {
    apiVersion: API_VERSION,
    kind: "RabbitCluster",
    metadata: { name: CLUSTER, namespace: home },
    spec: { image: "localhost/rabbit-operator/rabbitmq:3.10.8", nodes: { disc: 2, ram: 1 } },
  } as KubernetesObject);
  // What the RabbitCluster controller would have made: the default user, here the local cluster's admin.
  await clients.core.createNamespacedSecret({
    namespace: home,
    body: {
      metadata: {
        name: `${CLUSTER}-default-user`,
        namespace: home,
        labels: { "app.kubernetes.io/instance": CLUSTER, "app.kubernetes.io/managed-by": "rabbit-operator" },
      },
      stringData: { username: rabbit.admin.username, password: rabbit.admin.password },
    },
  });

  const recorder = writeRecorder();
  const managementRequests: AttemptEvent[] = [];
  const logLines: string[] = [];
  const manager = new Manager({
    kubeConfig: clients.kc,
    namespaces,
    leaderElection: false,
    clientMiddleware: [recorder.middleware],
    // Everything is kept (for the secret-leak check); TOPOLOGY_TEST_LOG_LEVEL=debug also prints it.
    logger: createLogger({
      level: "debug",
      write: (line) => {
        logLines.push(line);
        if (process.env.TOPOLOGY_TEST_LOG_LEVEL === "debug") process.stderr.write(`${line}\n`);
      },
    }),
  });
  const topology = addTopologyControllers(manager, {
    clusterDomain: "cluster.local",
    clusterEndpoint: () => rabbit.managementUrl(options.serviceNode),
    firstNodeEndpoint: () => rabbit.managementUrl(0),
    driftPeriodMs: options.driftPeriodMs ?? 2_000,
    managementClientOptions: { onAttempt: (attempt) => managementRequests.push(attempt) },
    watchedNamespaces: namespaces,
    maxConcurrentReconciles: options.maxConcurrentReconciles,
    maxConcurrentPerCluster: options.maxConcurrentPerCluster,
  });
  await manager.start();

  return {
    clients,
    namespaces,
    manager,
    topology,
    kubeWrites: recorder.writes,
    logLines,
    managementRequests,
    resetCounters() {
      recorder.reset();
      managementRequests.splice(0);
    },
    async stop() {
      // The operator stays up while the namespaces go, so that it releases its finalizers.
      await Promise.all(created.map((ns) => ns.remove()));
      try {
        await waitFor(
          "test namespaces to be deleted",
          async () => {
            const gone = await Promise.all(
              namespaces.map((name) =>
                clients.core.readNamespace({ name }).then(
                  () => false,
                  () => true,
                ),
              ),
            );
            return gone.every(Boolean);
          },
          { timeoutMs: 60_000, intervalMs: 500 },
        );
      } catch (error) {
        console.warn(`namespaces not deleted in time: ${error instanceof Error ? error.message : String(error)}`);
      }
      await manager.stop();
    },
  };
}

export function topologyObject(kind: string, name: string, namespace: string, spec: Record<string, unknown>): TopologyObject {
  return { apiVersion: API_VERSION, kind, metadata: { name, namespace }, spec: { rabbitmqClusterReference: { name: CLUSTER }, ...spec } };
}

export async function read(clients: KubeClients, kind: string, name: string, namespace: string): Promise<TopologyObject | undefined> {
  try {
    return (await clients.objects.read({ apiVersion: API_VERSION, kind, metadata: { name, namespace } })) as TopologyObject;
  } catch {
    return undefined;
  }
}

export function readyOf(object: TopologyObject | undefined): Condition | undefined {
  return object?.status?.conditions?.find((condition) => condition.type === "Ready");
}

/** Waits until Ready=True for the object's current generation; returns the object. */
export async function waitReady(clients: KubeClients, kind: string, name: string, namespace: string, timeoutMs = 30_000): Promise<TopologyObject> {
  let last: TopologyObject | undefined;
  try {
    await waitFor(
      `${kind} ${name} Ready`,
      async () => {
        last = await read(clients, kind, name, namespace);
        return readyOf(last)?.status === "True" && last?.status?.observedGeneration === last?.metadata?.generation;
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}; last status: ${JSON.stringify(last?.status)}`);
  }
  return last!;
}

/** Waits until the Ready condition matches; returns it. */
export async function waitCondition(
  clients: KubeClients,
  kind: string,
  name: string,
  namespace: string,
  expected: { status: "True" | "False"; reason?: string; messageContaining?: string },
  timeoutMs = 30_000,
): Promise<Condition> {
  let last: TopologyObject | undefined;
  try {
    await waitFor(
      `${kind} ${name} Ready=${expected.status} ${expected.reason ?? ""} ${expected.messageContaining ?? ""}`,
      async () => {
        last = await read(clients, kind, name, namespace);
        const ready = readyOf(last);
        return (
          ready?.status === expected.status &&
          (expected.reason === undefined || ready.reason === expected.reason) &&
          (expected.messageContaining === undefined || (ready.message ?? "").includes(expected.messageContaining))
        );
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}; last status: ${JSON.stringify(last?.status)}`);
  }
  return readyOf(last)!;
}

export async function remove(clients: KubeClients, kind: string, name: string, namespace: string): Promise<void> {
  await clients.objects.delete({ apiVersion: API_VERSION, kind, metadata: { name, namespace } });
  await waitFor(`${kind} ${name} to be gone`, async () => (await read(clients, kind, name, namespace)) === undefined, { timeoutMs: 30_000, intervalMs: 100 });
}

/** Writes to the API server about the topology objects and their Secrets (not leases, not the tests' own). */
export function writesIn(writes: readonly RecordedRequest[], namespaces: readonly string[]): RecordedRequest[] {
  return writes.filter((write) => namespaces.some((ns) => write.path.includes(`/namespaces/${ns}/`)));
}

export const managementWrites = (requests: readonly AttemptEvent[]) => requests.filter((request) => request.method !== "GET");
