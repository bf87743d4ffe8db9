// The RabbitCluster controller's node removal broken on purpose, against a real API server: the
// RabbitMQ side (pods/exec, the management API) is a scripted stand-in that fails or hangs where
// told, since this tier runs no kubelet. Pods are created and marked Ready by the test, as the
// StatefulSet controller and kubelet would. What is proven: a removal is recorded before the node
// is drained; after a failed step, or an operator stopped mid-drain and started again, it is
// finished; when the node is wanted again it is revived; a stopped controller writes nothing more.
import { PatchStrategy, setHeaderOptions, type V1StatefulSet } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { API_VERSION, type RabbitCluster } from "../../../operator/api/index.js";
import { addRabbitClusterController } from "../../../operator/controllers/rabbit-cluster/index.js";
import type { ClusterManagement } from "../../../operator/controllers/rabbit-cluster/management-port.js";
import type { NodeOperations } from "../../../operator/controllers/rabbit-cluster/node-operations-port.js";
import { nodeName } from "../../../operator/resources/names.js";
import { createLogger } from "../../../operator/runtime/logger.js";
import { Manager } from "../../../operator/runtime/manager.js";
import { waitFor } from "../../../dev/exec.js";
import { apply, createNamespace, installCrds, kubeClients, type KubeClients } from "../../../dev/kube.js";
import { writeRecorder } from "../runtime/helpers.js";

const DOMAIN = "cluster.local";
let clients: KubeClients;
let namespace: { name: string; remove(): Promise<void> };
let manager: Manager | undefined;
const recorder = writeRecorder();

/** The RabbitMQ side, as the test scripts it. */
class ScriptedRabbit {
  /** Erlang node name -> running. */
  readonly members = new Map<string, boolean>();
  readonly drained = new Set<string>();
  readonly calls: string[] = [];
  /** Failures to inject: operation name -> how many of its next calls fail. */
  readonly failures = new Map<string, number>();
  /** While set, drain hangs until its signal is aborted (the operator stops leading). */
  hangDrain = false;
  drainStarted = false;
  /** Quorum queue listings, and those made between a drain and the shrink that completes the node's way out. */
  /** Streams and the nodes of their replicas, changed by the stream replica commands. */
  readonly streams: { vhost: string; name: string; members: string[] }[] = [];
  quorumListings = 0;
  quorumListingsMidRemoval = 0;
  private midRemoval = false;

  private fail(operation: string): void {
    const left = this.failures.get(operation) ?? 0;
    if (left > 0) {
      this.failures.set(operation, left - 1);
      throw new Error(`${operation}: connection reset by peer (injected)`);
    }
  }

  operations(onDrained: (pod: string, drained: boolean) => Promise<void>): NodeOperations {
    return {
      quorumCritical: async (pod) => (this.calls.push(`quorumCritical ${pod}`), { critical: false, detail: "" }),
      localQueueMessages: async () => new Map(),
      drain: async (pod, _timeout, signal) => {
        this.calls.push(`drain ${pod}`);
        this.fail("drain");
        this.drainStarted = true;
        this.midRemoval = true;
        this.drained.add(pod);
        await onDrained(pod, true);
        if (this.hangDrain) {
          await new Promise<void>((resolve) => (signal?.aborted ? resolve() : signal?.addEventListener("abort", () => resolve(), { once: true })));
          throw new Error("drain: stopped");
        }
      },
      revive: async (pod) => {
        this.calls.push(`revive ${pod}`);
        this.fail("revive");
        this.drained.delete(pod);
        this.midRemoval = false;
        await onDrained(pod, false);
      },
      shrinkQuorumQueues: async (from, node) => {
        this.calls.push(`shrink ${node} from ${from}`);
        this.fail("shrink");
        this.midRemoval = false;
      },
      growQuorumQueues: async (from, node) => void this.calls.push(`grow ${node} from ${from}`),
      streams: async (_pod, vhost) => this.streams.filter((s) => s.vhost === vhost).map((s) => ({ ...s, members: [...s.members] })),
      availablePlugins: async (pod) => {
        this.calls.push(`plugins of ${pod}`);
        this.fail("plugins");
        return ["rabbitmq_management", "rabbitmq_prometheus", "rabbitmq_shovel"];
      },
      addStreamReplica: async (from, stream, node) => {
        this.calls.push(`add stream replica ${stream.name} on ${node} from ${from}`);
        const members = this.streams.find((s) => s.name === stream.name)!.members;
        if (!members.includes(node)) members.push(node);
      },
      deleteStreamReplica: async (from, stream, node) => {
        this.calls.push(`delete stream replica ${stream.name} on ${node} from ${from}`);
        const found = this.streams.find((s) => s.name === stream.name)!;
        found.members = found.members.filter((member) => member !== node);
      },
      // A stream runs on its replicas at once here; the wait for it is unit-tested (rabbit-cluster-steps).
      runningStreamReplicas: async (_from, stream) =>
        this.streams.find((s) => s.name === stream.name)!.members.map((node, i) => ({ node, role: i === 0 ? ("writer" as const) : ("replica" as const) })),
      forget: async (from, node) => {
        this.calls.push(`forget ${node} from ${from}`);
        this.members.delete(node);
      },
    };
  }

  management(): ClusterManagement {
    return {
      nodes: async () => [...this.members].map(([name, running]) => ({ name, type: "disc" as const, running })),
      runtime: async () => ({ version: "3.10.8", metadataStore: "mnesia" }),
      durableClassicQueuesOn: async () => [],
      quorumQueues: async () => {
        this.quorumListings++;
        if (this.midRemoval) this.quorumListingsMidRemoval++;
        return [];
      },
      vhostsWithStreams: async () => [...new Set(this.streams.map((s) => s.vhost))],
      policies: async () => [],
      putPolicy: async () => undefined,
      deletePolicy: async () => undefined,
    };
  }
}

let rabbit: ScriptedRabbit;

beforeAll(async () => {
  clients = kubeClients(inject("kubeconfig"));
  await installCrds(clients);
  namespace = await createNamespace(clients, "rc-faults");
  // Pods need it, and no ServiceAccount controller runs in this tier to make it.
  await clients.core.createNamespacedServiceAccount({ namespace: namespace.name, body: { metadata: { name: "default" } } });
});

afterEach(async () => {
  await manager?.stop();
  manager = undefined;
});

afterAll(async () => {
  await namespace?.remove();
});

async function startOperator(): Promise<void> {
  manager = new Manager({
    kubeConfig: clients.kc,
    namespaces: [namespace.name],
    leaderElection: false,
    clientMiddleware: [recorder.middleware],
    logger: createLogger({ level: "warn" }),
  });
  addRabbitClusterController(manager, {
    kubeConfig: clients.kc,
    clusterDomain: DOMAIN,
    management: () => rabbit.management(),
    nodeOperations: () => rabbit.operations((pod, drained) => setPodReady(pod, !drained)),
  });
  await manager.start();
}

const clusterObject = (name: string, disc: number, spec: Record<string, unknown> = {}) => ({
  apiVersion: API_VERSION,
  kind: "RabbitCluster",
  metadata: { name, namespace: namespace.name },
  spec: { image: "localhost/rabbit-operator/rabbitmq:3.10.8", nodes: { disc, ram: 0 }, ...spec },
});

async function getCluster(name: string): Promise<RabbitCluster> {
  return (await clients.objects.read({
    apiVersion: API_VERSION,
    kind: "RabbitCluster",
    metadata: { name, namespace: namespace.name },
  })) as unknown as RabbitCluster;
}

async function discReplicas(name: string): Promise<number | undefined> {
  const sts = (await clients.objects.read({
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: `${name}-disc`, namespace: namespace.name },
  })) as V1StatefulSet;
  return sts.spec?.replicas;
}

/** What the StatefulSet controller and kubelet would do: a running, Ready pod for each ordinal. */
async function createPods(cluster: string, count: number): Promise<void> {
  for (let ordinal = 0; ordinal < count; ordinal++) {
    const name = `${cluster}-disc-${ordinal}`;
    await clients.core.createNamespacedPod({
      namespace: namespace.name,
      body: {
        metadata: {
          name,
          labels: { "app.kubernetes.io/name": "rabbitmq", "app.kubernetes.io/instance": cluster, "app.kubernetes.io/managed-by": "rabbit-operator" },
        },
        spec: { containers: [{ name: "rabbitmq", image: "localhost/rabbit-operator/rabbitmq:3.10.8" }] },
      },
    });
    await setPodReady(name, true);
    rabbit.members.set(nodeName({ metadata: { name: cluster, namespace: namespace.name } } as RabbitCluster, "disc", ordinal, DOMAIN), true);
  }
}

/** A drained node stops listening for clients, so its readiness probe fails. */
async function setPodReady(pod: string, ready: boolean): Promise<void> {
  const status = ready ? "True" : "False";
  await clients.core.patchNamespacedPodStatus(
    {
      name: pod,
      namespace: namespace.name,
      body: {
        status: {
          phase: "Running",
          conditions: [
            { type: "Ready", status },
            { type: "ContainersReady", status },
          ],
        },
      },
    },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
}

async function deletePod(pod: string): Promise<void> {
  await clients.core.deleteNamespacedPod({ name: pod, namespace: namespace.name, gracePeriodSeconds: 0 });
}

const eventsOf = async (cluster: string) =>
  (await clients.objects.list("events.k8s.io/v1", "Event", namespace.name)).items
    .map((e) => e as { reason?: string; note?: string; regarding?: { name?: string } })
    .filter((e) => e.regarding?.name === cluster);
const events = async (cluster: string) => (await eventsOf(cluster)).map((e) => e.reason);

/** A fresh stand-in RabbitMQ and operator, and a 3 disc node cluster Ready in them. */
async function readyClusterOfThree(name: string): Promise<void> {
  rabbit = new ScriptedRabbit();
  await startOperator();
  await apply(clients, clusterObject(name, 3));
  await waitFor("the disc StatefulSet", async () => (await discReplicas(name).catch(() => undefined)) === 3, { timeoutMs: 30_000 });
  await createPods(name, 3);
  await waitFor(`${name} Ready`, async () => condition(await getCluster(name), "Ready")?.status === "True", { timeoutMs: 30_000 });
}

const condition = (cluster: RabbitCluster, type: string) => cluster.status?.conditions?.find((c) => c.type === type);

describe("RabbitCluster node removal under faults", () => {
  it("records the removal before draining, reports a failed step, and finishes it on the next attempt", async () => {
    await readyClusterOfThree("alpha");
    const node = async (ordinal: number) => nodeName(await getCluster("alpha"), "disc", ordinal, DOMAIN);
    rabbit.streams.push(
      { vhost: "/", name: "everywhere", members: [await node(0), await node(1), await node(2)] },
      { vhost: "/", name: "only-there", members: [await node(2)] },
    );

    rabbit.failures.set("shrink", 3);
    await apply(clients, clusterObject("alpha", 2));
    // Each retry runs though the drained node is not ready: drained again (idempotent), then shrunk.
    await waitFor("one replica less", async () => (await discReplicas("alpha")) === 2, { timeoutMs: 60_000 });
    expect(rabbit.calls.filter((call) => call === "drain alpha-disc-2")).toHaveLength(4);
    expect(rabbit.calls.filter((call) => call.startsWith("shrink"))).toHaveLength(4);
    const interrupted = (await eventsOf("alpha")).find((event) => event.reason === "NodeRemovalInterrupted");
    expect(interrupted?.note).toContain("shrink");
    expect(interrupted?.note).toContain("the removal of rabbit@alpha-disc-2");
    // Its stream replicas went before its replica was lowered, each stream keeping one on a node that stays.
    expect(rabbit.calls).toEqual(
      expect.arrayContaining([
        `add stream replica only-there on ${await node(0)} from alpha-disc-0`,
        `delete stream replica only-there on ${await node(2)} from alpha-disc-0`,
        `delete stream replica everywhere on ${await node(2)} from alpha-disc-0`,
      ]),
    );
    expect(rabbit.streams).toEqual([
      { vhost: "/", name: "everywhere", members: [await node(0), await node(1)] },
      { vhost: "/", name: "only-there", members: [await node(0)] },
    ]);
    expect(await events("alpha")).toContain("StreamReplicasMoved");
    await deletePod("alpha-disc-2");
    rabbit.members.set(nodeName(await getCluster("alpha"), "disc", 2, DOMAIN), false);
    await waitFor(
      "the node forgotten and the record dropped",
      async () => {
        const cluster = await getCluster("alpha");
        return rabbit.members.size === 2 && cluster.status?.nodeRemoval === undefined && condition(cluster, "Ready")?.status === "True";
      },
      { timeoutMs: 30_000 },
    );
    expect(await events("alpha")).toEqual(expect.arrayContaining(["RemovingNode", "NodeRemovalInterrupted", "ResumingNodeRemoval", "NodeForgotten"]));
    // Quorum queues are listed for growth only from a settled cluster, not on every retry of a removal.
    expect(rabbit.quorumListings).toBeGreaterThan(0);
    expect(rabbit.quorumListingsMidRemoval).toBe(0);
  });

  it("revives a drained node when the spec wants it again before the removal finished", async () => {
    await readyClusterOfThree("beta");

    rabbit.failures.set("shrink", 1_000);
    await apply(clients, clusterObject("beta", 2));
    await waitFor(
      "beta-disc-2 drained and the removal stuck",
      async () => rabbit.drained.has("beta-disc-2") && condition(await getCluster("beta"), "ReconcileSuccess")?.reason === "NodeRemovalInterrupted",
      { timeoutMs: 30_000 },
    );
    await apply(clients, clusterObject("beta", 3));
    await waitFor(
      "beta-disc-2 revived and beta Ready",
      async () => {
        const cluster = await getCluster("beta");
        return !rabbit.drained.has("beta-disc-2") && cluster.status?.nodeRemoval === undefined && condition(cluster, "Ready")?.status === "True";
      },
      { timeoutMs: 30_000 },
    );
    expect(await discReplicas("beta")).toBe(3);
    expect(rabbit.calls).toContain("revive beta-disc-2");
    expect(await events("beta")).toContain("NodeRevived");
  });

  it("stops a drain when the operator stops leading, writes nothing more, and the next operator finishes the removal", async () => {
    await readyClusterOfThree("gamma");

    rabbit.hangDrain = true;
    await apply(clients, clusterObject("gamma", 2));
    await waitFor("the drain to start", async () => rabbit.drainStarted, { timeoutMs: 30_000 });
    expect((await getCluster("gamma")).status?.nodeRemoval).toMatchObject({ pod: "gamma-disc-2" });
    recorder.reset();
    await manager!.stop();
    manager = undefined;
    // The stopped reconcile made no write after its drain was cut off: no replica lowered, no status.
    expect(recorder.writes.filter((write) => write.path.includes(`/namespaces/${namespace.name}/`) && !write.path.includes("/events"))).toEqual([]);
    expect(await discReplicas("gamma")).toBe(3);
    expect(rabbit.calls.some((call) => call.startsWith("shrink"))).toBe(false);

    rabbit.hangDrain = false;
    await startOperator();
    await waitFor("the removal finished by the next operator", async () => (await discReplicas("gamma")) === 2, { timeoutMs: 30_000 });
    expect(rabbit.calls.filter((call) => call === "drain gamma-disc-2")).toHaveLength(2);
  });
});

describe("RabbitCluster configuration its image cannot run", () => {
  it("refuses a plugin the image lacks before anything rolls: a condition and an Event naming it, the configuration and pods untouched; a plugin it has goes out", async () => {
    await readyClusterOfThree("delta");
    const serverConfig = async () =>
      ((await clients.core.readNamespacedConfigMap({ name: "delta-server-conf", namespace: namespace.name })).data ?? {})["enabled_plugins"];
    const statefulSetTemplate = async () =>
      JSON.stringify(
        (
          (await clients.objects.read({
            apiVersion: "apps/v1",
            kind: "StatefulSet",
            metadata: { name: "delta-disc", namespace: namespace.name },
          })) as V1StatefulSet
        ).spec?.template,
      );
    const [pluginsBefore, templateBefore] = [await serverConfig(), await statefulSetTemplate()];

    await apply(clients, clusterObject("delta", 3, { rabbitmq: { additionalPlugins: ["rabbitmq_shovel", "rabbitmq_no_such_plugin"] } }));
    await waitFor("ReconcileSuccess=False UnknownPlugins", async () => condition(await getCluster("delta"), "ReconcileSuccess")?.reason === "UnknownPlugins", {
      timeoutMs: 30_000,
    });
    const refused = condition(await getCluster("delta"), "ReconcileSuccess")!;
    expect(refused.message).toContain("has no plugin rabbitmq_no_such_plugin:");
    expect(refused.message).not.toContain("has no plugin rabbitmq_shovel");
    expect(await events("delta")).toContain("UnknownPlugins");
    expect(await serverConfig()).toBe(pluginsBefore);
    expect(await statefulSetTemplate()).toBe(templateBefore);
    // The image was asked once, of a pod that runs it, for every cluster that runs it (the earlier tests' too).
    expect(rabbit.calls.filter((call) => call.startsWith("plugins of "))).toHaveLength(1);

    await apply(clients, clusterObject("delta", 3, { rabbitmq: { additionalPlugins: ["rabbitmq_shovel"] } }));
    await waitFor("the plugin in the configuration", async () => (await serverConfig())?.includes("rabbitmq_shovel") ?? false, { timeoutMs: 30_000 });
    expect(await serverConfig()).not.toContain("rabbitmq_no_such_plugin");
  });
});

describe("RabbitCluster whose image cannot be asked for its plugins", () => {
  it("says so in ReconcileSuccess with the command's words, rolls nothing out, and goes on once the image answers", async () => {
    rabbit = new ScriptedRabbit();
    // Until told otherwise: the clusters of earlier tests run the same image, and one answer serves them all.
    rabbit.failures.set("plugins", Number.POSITIVE_INFINITY);
    await startOperator();
    await apply(clients, clusterObject("echo", 3));
    await waitFor("the disc StatefulSet", async () => (await discReplicas("echo").catch(() => undefined)) === 3, { timeoutMs: 30_000 });
    await createPods("echo", 3);
    await waitFor(
      "ReconcileSuccess=False PluginCheckFailed",
      async () => condition(await getCluster("echo"), "ReconcileSuccess")?.reason === "PluginCheckFailed",
      { timeoutMs: 30_000 },
    );
    const failed = condition(await getCluster("echo"), "ReconcileSuccess")!;
    expect(failed.message).toContain("could not list the plugins of image localhost/rabbit-operator/rabbitmq:3.10.8");
    expect(failed.message).toContain("plugins: connection reset by peer (injected)");
    expect(condition(await getCluster("echo"), "Ready")?.status).toBe("False");
    expect(await events("echo")).toContain("PluginCheckFailed");
    // Asked again (with backoff) until it answers, then Ready.
    rabbit.failures.delete("plugins");
    await waitFor("Ready once the image answers", async () => condition(await getCluster("echo"), "Ready")?.status === "True", { timeoutMs: 60_000 });
    expect(rabbit.calls.filter((call) => call.startsWith("plugins of ")).length).toBeGreaterThanOrEqual(3);
  });
});
