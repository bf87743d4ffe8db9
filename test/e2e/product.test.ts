// The whole product as a user gets it: the chart installs the operator; a 3 disc + 2 ram
// RabbitCluster and its topology (every kind: exchanges of each type, bindings to queues and
// exchanges, policies on each, classic, quorum and stream queues) are declared as objects;
// messages are routed through all of it; the classic workloads run through the
// cluster's Service with the operator-generated credentials; the kubectl plugin (kubectl rabbit)
// is run by kubectl against it and checked against RabbitMQ; a disc replica, the leader and a ram
// replica of a quorum queue are each SIGKILLed under a confirmed publish of 10,000 messages
// (100,000 with npm run test:faults:e2e); and everything uninstalls without anything stuck.
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { API_VERSION, GROUP, TOPOLOGY_KINDS } from "../../operator/api/index.js";
import amqp from "amqplib";
import { parse as parseYaml } from "yaml";
import type { ManagementClient } from "../../operator/rabbitmq/management.js";
import { atLeast, formatVersion, parseVersion } from "../../operator/rabbitmq/versions.js";
import { sleep, systemClock } from "../../operator/runtime/clock.js";
import type { ConsumedMessage } from "../../plugin/commands/messages.js";
import { BUILT_IN, UNDECLARED } from "../../plugin/ownership.js";
import type { ClusterRow, NodeRow, PodRow, QueueRow, QuorumCriticalRow } from "../../plugin/views.js";
import { imageVersion } from "../../operator/resources/validation.js";
import { CommandError, run, waitFor } from "../../dev/exec.js";
import { REPO_ROOT } from "../../dev/paths.js";
import { engine } from "../../dev/kind.js";
import {
  consumeAndVerify,
  drainQueues,
  fairDispatch,
  helloWorld,
  manualAckRedelivery,
  publishConfirmed,
  publishPersistent,
  publishRouted,
  readStream,
  workQueue,
} from "../../dev/workloads.js";
import { printDiagnostics } from "./support/diagnostics.js";
import { kubectl, kubectlJson } from "./support/kubectl.js";
import { installOperator, type InstalledOperator } from "./support/operator.js";
import { portForward, type PortForward } from "./support/port-forward.js";
import { failureOf, installPlugin, type PluginInstall } from "./support/plugin.js";
import { localAmqpUrl, localManagement, podReady, readCredentials, readyOf, type Credentials, type Resource } from "./support/rabbitmq.js";

const e2e = inject("e2eCluster");
const namespace = "e2e-product";
const cluster = "shop";
const vhost = "shop";

const reference = { rabbitmqClusterReference: { name: cluster } };
const queue = (name: string, type: "classic" | "quorum" | "stream", durable = true) => ({
  apiVersion: API_VERSION,
  kind: "Queue",
  metadata: { name },
  spec: { name, vhost, type, durable, ...reference },
});
// Where the routing test's messages end up: one queue behind each exchange type and binding.
const ROUTED_QUEUES = [
  queue("routed.direct", "quorum"),
  queue("routed.fanout-a", "classic"),
  queue("routed.fanout-b", "quorum"),
  queue("routed.topic", "classic"),
  queue("routed.headers", "classic"),
];
const QUEUES = [
  queue("hello", "classic", false),
  queue("tasks", "quorum"),
  queue("acked", "classic"),
  queue("fair", "classic"),
  queue("durable-jobs", "classic"),
  queue("confirms", "quorum"),
  queue("audit", "stream"),
  ...ROUTED_QUEUES,
];
const exchange = (name: string, type: string) => ({ apiVersion: API_VERSION, kind: "Exchange", metadata: { name }, spec: { name, vhost, type, ...reference } });
const EXCHANGES = [exchange("shop.direct", "direct"), exchange("shop.fanout", "fanout"), exchange("shop.topic", "topic"), exchange("shop.headers", "headers")];
interface BindingFields {
  source: string;
  destination: string;
  destinationType?: "queue" | "exchange";
  routingKey?: string;
  arguments?: Record<string, string>;
}
const binding = (name: string, fields: BindingFields) => ({
  apiVersion: API_VERSION,
  kind: "Binding",
  metadata: { name },
  spec: { vhost, ...fields, ...reference },
});
const BINDINGS = [
  binding("direct-payment", { source: "shop.direct", destination: "routed.direct", routingKey: "payment" }),
  binding("fanout-a", { source: "shop.fanout", destination: "routed.fanout-a" }),
  binding("fanout-b", { source: "shop.fanout", destination: "routed.fanout-b" }),
  binding("topic-created", { source: "shop.topic", destination: "routed.topic", routingKey: "order.*.created" }),
  binding("topic-broadcast", { source: "shop.topic", destination: "shop.fanout", destinationType: "exchange", routingKey: "broadcast.#" }),
  binding("headers-eu-orders", { source: "shop.headers", destination: "routed.headers", arguments: { "x-match": "all", region: "eu", kind: "order" } }),
];
const policy = (name: string, fields: { pattern: string; applyTo: string; definition: Record<string, unknown> }) => ({
  apiVersion: API_VERSION,
  kind: "Policy",
  metadata: { name },
  spec: { name, vhost, ...fields, ...reference },
});
const POLICIES = [
  // Unroutable messages of the direct exchange go to the fanout one.
  policy("shop-alternate", { pattern: "^shop\\.direct$", applyTo: "exchanges", definition: { "alternate-exchange": "shop.fanout" } }),
  // The topic queue keeps the last three messages.
  policy("shop-limits", { pattern: "^routed\\.topic$", applyTo: "queues", definition: { "max-length": 3 } }),
];
const TOPOLOGY = [
  { apiVersion: API_VERSION, kind: "Vhost", metadata: { name: vhost }, spec: { name: vhost, ...reference } },
  { apiVersion: API_VERSION, kind: "User", metadata: { name: "app" }, spec: { tags: [], ...reference } },
  {
    apiVersion: API_VERSION,
    kind: "Permission",
    metadata: { name: "app-in-shop" },
    // The application may use the queues but not declare any: they come from these objects.
    spec: { vhost, userReference: { name: "app" }, permissions: { configure: "", write: ".*", read: ".*" }, ...reference },
  },
  ...QUEUES,
  ...EXCHANGES,
  ...BINDINGS,
  ...POLICIES,
];
// Qualified: a bare `bindings` is core/v1 Binding, which cannot be listed.
const TOPOLOGY_PLURALS = TOPOLOGY_KINDS.map((k) => `${k.plural}.${GROUP}`).join(",");
const RABBIT_CLUSTERS = `rabbitclusters.${GROUP}`;
/** kubectl arguments that get the cluster's pods. */
const GET_CLUSTER_PODS = ["-n", namespace, "get", "pods", "-l", `app.kubernetes.io/instance=${cluster}`];

let operator: InstalledOperator;
let logDir: string;
let forwards: PortForward[] = [];
let amqpUrl: string;

/** The replicas of a quorum queue as the management API lists them. */
interface QueueReplicas {
  leader: string;
  members: string[];
}

async function waitUntilEverythingReady(what: string, timeoutMs = 600_000): Promise<void> {
  let waiting: string[] = [];
  try {
    await waitFor(
      what,
      async () => {
        const list = await kubectlJson<{ items: Resource[] }>(["-n", namespace, "get", `${RABBIT_CLUSTERS},${TOPOLOGY_PLURALS}`]);
        waiting = list.items
          .filter((r) => !readyOf(r))
          .map((r) => `${r.kind}/${r.metadata.name}: ${r.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "no status"}`);
        return list.items.length === TOPOLOGY.length + 1 && waiting.length === 0;
      },
      { timeoutMs, intervalMs: 2000 },
    );
  } catch (error) {
    throw new Error(
      `${String(error)}\nnot Ready:\n  ${waiting.join("\n  ")}\noperator log (tail):\n${(await operator.logs()).split("\n").slice(-30).join("\n")}`,
    );
  }
}

/** The operator-generated credentials of the User object "app". */
const appCredentials = () => readCredentials(namespace, "app-user-credentials");

/** An AMQP URL through a fresh port-forward to the client Service, as the app user. */
async function connectThroughService(): Promise<string> {
  const forward = await portForward(namespace, `service/${cluster}`, 5672, join(logDir, `amqp-${forwards.length}.log`));
  forwards.push(forward);
  return localAmqpUrl(await appCredentials(), forward.localPort, vhost);
}

async function stopForwards(): Promise<void> {
  for (const forward of forwards) await forward.stop();
  forwards = [];
}

const timed = async <T>(what: string, body: () => Promise<T>): Promise<T> => {
  const started = Date.now();
  try {
    return await body();
  } finally {
    console.log(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
};

beforeAll(async () => {
  logDir = await mkdtemp(join(tmpdir(), "rabbit-operator-e2e-product-"));
  await kubectl(["create", "namespace", namespace]);
  operator = await timed("operator installed with the chart", () =>
    installOperator({ release: "rabbit-operator", namespace: "e2e-product-operator", image: e2e.operatorImage, watchNamespaces: [namespace] }),
  );
}, 600_000);

// A failed test prints the pods, their logs and the Events before the next test changes them.
afterEach(async ({ task }) => {
  if (task.result?.state === "fail" && operator) await printDiagnostics([namespace, "e2e-product-operator"]);
}, 120_000);

afterAll(async () => {
  await stopForwards();
  // Topology first, while the operator still runs to release the finalizers.
  await kubectl(["-n", namespace, "delete", TOPOLOGY_PLURALS, "--all", "--timeout=120s"], { timeoutMs: 150_000 }).catch(() => undefined);
  await kubectl(["delete", "namespace", namespace, "--timeout=180s"], { timeoutMs: 200_000 }).catch(() => undefined);
  await operator?.uninstall().catch(() => undefined);
  await rm(logDir, { recursive: true, force: true });
}, 900_000);

describe("the product, installed with the chart, declared as objects, used with amqplib", () => {
  it("brings up a 3 disc + 2 ram cluster from an image pinned by digest, and its topology, all Ready", async () => {
    // By digest, as production pins images: the tag says nothing, the running nodes say what they are.
    const image = e2e.rabbitmqImagePinned ?? e2e.rabbitmqImage;
    if (!e2e.rabbitmqImagePinned) console.log(`no digest of ${e2e.rabbitmqImage} known (a cluster this run did not load): by tag`);
    const rabbitCluster = {
      apiVersion: API_VERSION,
      kind: "RabbitCluster",
      metadata: { name: cluster },
      spec: {
        image,
        nodes: { disc: 3, ram: 2 },
        resources: { requests: { cpu: "10m", memory: "200Mi" }, limits: { memory: "1Gi" } },
        persistence: { storage: "1Gi", whenDeleted: "Delete" },
        terminationGracePeriodSeconds: 30,
      },
    };
    await timed("cluster and topology Ready", async () => {
      await kubectl(["apply", "-n", namespace, "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: [rabbitCluster, ...TOPOLOGY] }) });
      await waitUntilEverythingReady("the cluster and every topology object Ready");
    });
    // What RabbitMQ itself has, asked on a node.
    const queues = JSON.parse(
      await kubectl([
        "-n",
        namespace,
        "exec",
        `${cluster}-disc-0`,
        "-c",
        "rabbitmq",
        "--",
        "rabbitmqctl",
        "list_queues",
        "-q",
        "-p",
        vhost,
        "name",
        "type",
        "durable",
        "--formatter",
        "json",
      ]),
    ) as {
      name: string;
      type: string;
      durable: boolean;
    }[];
    expect(queues.map((q) => [q.name, q.type, q.durable]).sort()).toEqual(QUEUES.map((o) => [o.spec.name, o.spec.type, o.spec.durable]).sort());
    // Ram nodes judged by what the nodes report, not by the image's name.
    const stored = await kubectlJson<Resource & { spec: { image: string }; status?: { rabbitmq?: { version?: string; metadataStore?: string } } }>([
      "-n",
      namespace,
      "get",
      RABBIT_CLUSTERS,
      cluster,
    ]);
    expect(stored.spec.image).toBe(image);
    expect(stored.status?.rabbitmq).toMatchObject({ version: formatVersion(imageVersion(e2e.rabbitmqImage)!), metadataStore: "mnesia" });
    const membership = JSON.parse(
      await kubectl(["-n", namespace, "exec", `${cluster}-disc-0`, "-c", "rabbitmq", "--", "rabbitmqctl", "cluster_status", "--formatter", "json"]),
    ) as { disk_nodes: string[]; ram_nodes: string[]; running_nodes: string[] };
    console.log(
      `rabbitmqctl cluster_status on RabbitMQ ${stored.status?.rabbitmq?.version} (image ${image}): disc nodes ${membership.disk_nodes.join(", ")}; ram nodes ${membership.ram_nodes.join(", ")}; running ${membership.running_nodes.length}`,
    );
    expect([membership.disk_nodes.length, membership.ram_nodes.length, membership.running_nodes.length]).toEqual([3, 2, 5]);
    const podImages = await kubectl([...GET_CLUSTER_PODS, "-o", "jsonpath={.items[*].spec.containers[0].image}"]);
    expect(new Set(podImages.trim().split(/\s+/))).toEqual(new Set([image]));
    // The node runs as the image's unprivileged user and logs to stdout.
    expect((await kubectl(["-n", namespace, "exec", `${cluster}-ram-0`, "-c", "rabbitmq", "--", "id", "-u"])).trim()).toBe("999");
    expect(await kubectl(["-n", namespace, "logs", `${cluster}-ram-0`, "-c", "rabbitmq"])).toContain("Server startup complete");
  }, 900_000);

  it("runs the classic workloads through the cluster's Service with the generated credentials", async () => {
    amqpUrl = await connectThroughService();
    const hello = await helloWorld(amqpUrl, "hello");
    expect(hello.received.map((d) => d.content)).toEqual(["Hello World!"]);

    const work = await workQueue(amqpUrl, "tasks", { tasks: 8 });
    const shares = [work.byWorker["worker-1"], work.byWorker["worker-2"]].map((tasks) => [...tasks].sort());
    expect(shares).toEqual(
      expect.arrayContaining([
        ["task-1", "task-3", "task-5", "task-7"],
        ["task-2", "task-4", "task-6", "task-8"],
      ]),
    );

    const redelivery = await manualAckRedelivery(amqpUrl, "acked");
    expect(redelivery.second).toMatchObject({ consumer: "survivor", content: redelivery.message, redelivered: true });
    expect(redelivery.messagesLeftAfterAck).toBe(0);

    const fair = await fairDispatch(amqpUrl, "fair", { messages: 6 });
    expect(fair.busyWhileHolding).toEqual(["hold-me"]);
    expect(fair.quickWhileBusyHeld).toEqual(["work-1", "work-2", "work-3", "work-4", "work-5"]);
  }, 300_000);

  it("routes through every exchange type, binding and policy, published through a ram node and read through a disc node", async () => {
    const admin = await readCredentials(namespace, `${cluster}-default-user`);
    const management = await portForward(namespace, `pod/${cluster}-disc-1`, 15672, join(logDir, "management-disc-1.log"));
    forwards.push(management);
    const client = localManagement(admin, management.localPort);
    // RabbitMQ has what the objects declare.
    const exchanges = (await client.listExchanges(vhost)).filter((e) => e.name.startsWith("shop."));
    expect(exchanges.map((e) => [e.name, e.type, e.durable]).sort()).toEqual(EXCHANGES.map((e) => [e.spec.name, e.spec.type, true]).sort());
    for (const { spec } of BINDINGS) {
      const found = await client.findBinding(vhost, {
        source: spec.source,
        destination: spec.destination,
        destinationType: spec.destinationType ?? "queue",
        routingKey: spec.routingKey ?? "",
        arguments: spec.arguments ?? {},
      });
      expect(found, `binding ${spec.source} -> ${spec.destination}`).toBeDefined();
    }
    for (const { spec } of POLICIES)
      expect(await client.getPolicy(vhost, spec.name)).toMatchObject({ pattern: spec.pattern, applyTo: spec.applyTo, definition: spec.definition });
    expect((await client.getQueue(vhost, "routed.topic"))?.policy).toBe("shop-limits");

    const ram = await portForward(namespace, `pod/${cluster}-ram-1`, 5672, join(logDir, "amqp-ram-1.log"));
    const disc = await portForward(namespace, `pod/${cluster}-disc-2`, 5672, join(logDir, "amqp-disc-2.log"));
    forwards.push(ram, disc);
    const credentials = await appCredentials();
    await publishRouted(localAmqpUrl(credentials, ram.localPort, vhost), [
      { exchange: "shop.direct", routingKey: "payment", content: "direct-1" },
      { exchange: "shop.direct", routingKey: "nobody", content: "unroutable-1" },
      { exchange: "shop.fanout", routingKey: "", content: "fanout-1" },
      { exchange: "shop.topic", routingKey: "order.eu.shipped", content: "topic-unmatched" },
      { exchange: "shop.topic", routingKey: "broadcast.news", content: "broadcast-1" },
      ...[1, 2, 3, 4, 5].map((i) => ({ exchange: "shop.topic", routingKey: `order.eu${i}.created`, content: `topic-${i}` })),
      { exchange: "shop.headers", routingKey: "", headers: { region: "eu", kind: "order" }, content: "headers-eu-order" },
      { exchange: "shop.headers", routingKey: "", headers: { region: "us", kind: "order" }, content: "headers-us-order" },
    ]);
    const drained = await drainQueues(
      localAmqpUrl(credentials, disc.localPort, vhost),
      ROUTED_QUEUES.map((q) => q.spec.name),
    );
    expect(drained).toEqual({
      "routed.direct": ["direct-1"],
      // The alternate exchange (a policy) and the exchange-to-exchange binding both feed the fanout.
      "routed.fanout-a": ["unroutable-1", "fanout-1", "broadcast-1"],
      "routed.fanout-b": ["unroutable-1", "fanout-1", "broadcast-1"],
      // max-length 3 (a policy) dropped the two oldest.
      "routed.topic": ["topic-3", "topic-4", "topic-5"],
      "routed.headers": ["headers-eu-order"],
    });
  }, 300_000);

  it("applies a policy for quorum queues only where RabbitMQ has them (3.12+), and refuses it naming the version where not", async () => {
    const { status } = await kubectlJson<Resource & { status?: { rabbitmq?: { version?: string } } }>(["-n", namespace, "get", RABBIT_CLUSTERS, cluster]);
    const version = parseVersion(status?.rabbitmq?.version ?? "");
    expect(version, "status.rabbitmq.version").toBeDefined();
    const quorumOnly = policy("quorum-delivery-limit", { pattern: "^routed\\.direct$", applyTo: "quorum_queues", definition: { "delivery-limit": 5 } });
    await kubectl(["apply", "-n", namespace, "-f", "-"], { input: JSON.stringify(quorumOnly) });
    const admin = await readCredentials(namespace, `${cluster}-default-user`);
    const management = await portForward(namespace, `pod/${cluster}-disc-0`, 15672, join(logDir, "management-disc-0.log"));
    forwards.push(management);
    const client = localManagement(admin, management.localPort);
    const condition = async () =>
      (await kubectlJson<Resource>(["-n", namespace, "get", `policies.${GROUP}`, quorumOnly.metadata.name])).status?.conditions?.find(
        (c) => c.type === "Ready",
      );
    if (atLeast(version!, 3, 12)) {
      await waitFor("the quorum-only policy Ready", async () => (await condition())?.status === "True", { timeoutMs: 60_000 });
      expect(await client.getPolicy(vhost, "quorum-delivery-limit")).toMatchObject({ applyTo: "quorum_queues" });
      await waitFor("routed.direct under the policy", async () => (await client.getQueue(vhost, "routed.direct"))?.policy === "quorum-delivery-limit", {
        timeoutMs: 30_000,
      });
    } else {
      await waitFor("the quorum-only policy refused", async () => (await condition())?.reason === "UnsupportedByRabbitMQVersion", { timeoutMs: 60_000 });
      expect((await condition())?.message).toContain(
        `applyTo: quorum_queues needs RabbitMQ 3.12 or later and this cluster runs RabbitMQ ${status!.rabbitmq!.version}`,
      );
      expect(await client.getPolicy(vhost, "quorum-delivery-limit")).toBeUndefined();
    }
    await kubectl(["-n", namespace, "delete", `policies.${GROUP}`, quorumOnly.metadata.name, "--timeout=60s"], { timeoutMs: 90_000 });
  }, 300_000);

  // The kubectl plugin against this cluster: each command's output checked against what RabbitMQ
  // itself reports (its management API, rabbitmqctl, AMQP), as kubectl runs it.
  describe("kubectl rabbit, the plugin, found by kubectl and checked against RabbitMQ", () => {
    let plugin: PluginInstall;
    let admin: Credentials;
    let management: ManagementClient;
    /** One quorum queue with a single replica: quorum-critical on its node. */
    const SINGLE = "plugin.single";
    const singleReplica = {
      apiVersion: API_VERSION,
      kind: "Queue",
      metadata: { name: "plugin-single" },
      spec: { name: SINGLE, vhost, type: "quorum", arguments: { "x-quorum-initial-group-size": 1 }, ...reference },
    };
    const inNamespace = ["-n", namespace];
    const json = async <T>(args: string[]): Promise<T> => JSON.parse((await plugin.rabbit([...args, ...inNamespace, "-o", "json"])).stdout) as T;
    /** Messages in a queue as AMQP reports them (the management API's counts lag by seconds). */
    const messageCount = async (queue: string): Promise<number> => {
      const forward = await portForward(namespace, `pod/${cluster}-disc-0`, 5672, join(logDir, "amqp-plugin-count.log"));
      try {
        const connection = await amqp.connect(localAmqpUrl(admin, forward.localPort, vhost));
        try {
          return (await (await connection.createChannel()).checkQueue(queue)).messageCount;
        } finally {
          await connection.close();
        }
      } finally {
        await forward.stop();
      }
    };

    beforeAll(async () => {
      plugin = await timed("plugin built and installed", () => installPlugin(inject("kubeconfig"), join(REPO_ROOT, ".cache", `e2e-plugin-${process.pid}`)));
      admin = await readCredentials(namespace, `${cluster}-default-user`);
      const forward = await portForward(namespace, `pod/${cluster}-disc-0`, 15672, join(logDir, "management-plugin.log"));
      forwards.push(forward);
      management = localManagement(admin, forward.localPort);
      await kubectl(["-n", namespace, "apply", "-f", "-"], { input: JSON.stringify(singleReplica) });
      // Objects no resource declares: made by hand, as applications do.
      await management.declareQueue(vhost, "hand.made", { durable: true });
      await management.declareExchange(vhost, "hand.made", { type: "fanout" });
      await waitFor(
        "Queue plugin-single Ready",
        async () => readyOf(await kubectlJson<Resource>(["-n", namespace, "get", "queues.rabbit.operator.dev", "plugin-single"])),
        {
          timeoutMs: 120_000,
        },
      );
    }, 600_000);

    afterAll(async () => {
      await kubectl(["-n", namespace, "delete", "queues.rabbit.operator.dev", "plugin-single", "--ignore-not-found", "--timeout=120s"]).catch(() => undefined);
      await management?.deleteQueue(vhost, "hand.made").catch(() => undefined);
      await management?.deleteExchange(vhost, "hand.made").catch(() => undefined);
      await plugin?.remove();
    }, 300_000);

    it("is found by kubectl itself: kubectl plugin list names it, kubectl rabbit runs it, kubectl completes its commands and cluster names", async () => {
      expect(await plugin.kubectl(["plugin", "list"])).toContain(join(plugin.binDir, "kubectl-rabbit"));
      expect((await plugin.rabbit(["--help"])).stdout).toMatch(/Usage: kubectl rabbit \[options\] \[command\]/);
      // kubectl's own completion asks kubectl_complete-rabbit (Cobra's __complete protocol).
      expect(await plugin.kubectl(["__complete", "rabbit", "sta"])).toMatch(/^status\t.*\n:4\n/);
      expect(await plugin.kubectl(["__complete", "rabbit", "-n", namespace, "queues", ""])).toMatch(new RegExp(`^${cluster}\\n:4\\n`));
    });

    it("list and status show the 3 disc and 2 ram nodes with the types, running state and version RabbitMQ reports, and the quorum-critical queues RabbitMQ's own health check names", async () => {
      const [row] = await json<ClusterRow[]>(["list"]);
      // Every namespace's, as YAML: this cluster among them, the same row.
      const everywhere = parseYaml((await plugin.rabbit(["list", "-A", "-o", "yaml"])).stdout) as ClusterRow[];
      // (Its age may have ticked between the two calls.)
      expect({ ...everywhere.find((c) => c.namespace === namespace && c.name === cluster), age: undefined }).toEqual({ ...row, age: undefined });
      const overview = await management.overview();
      expect(row).toMatchObject({
        name: cluster,
        disc: { running: 3, desired: 3 },
        ram: { running: 2, desired: 2 },
        ready: "True",
        version: overview.rabbitmqVersion,
      });
      const table = (await plugin.rabbit(["list", ...inNamespace])).stdout;
      expect(table).toMatch(
        new RegExp(`^NAME +DISC +RAM +READY +VERSION +CONDITIONS +AGE\\n${cluster} +3/3 +2/2 +True +${overview.rabbitmqVersion.replace(/\./g, "\\.")} `),
      );

      const status = await json<{ rabbitmqVersion: string; nodes: NodeRow[]; quorumCriticalQueues: QuorumCriticalRow[] }>(["status", cluster]);
      const membership = JSON.parse(
        await kubectl(["-n", namespace, "exec", `${cluster}-disc-0`, "-c", "rabbitmq", "--", "rabbitmqctl", "cluster_status", "--formatter", "json"]),
      ) as { disk_nodes: string[]; ram_nodes: string[]; running_nodes: string[] };
      expect(status.rabbitmqVersion).toBe(overview.rabbitmqVersion);
      expect(status.nodes.filter((n) => n.type === "disc").map((n) => n.node)).toEqual([...membership.disk_nodes].sort());
      expect(status.nodes.filter((n) => n.type === "ram").map((n) => n.node)).toEqual([...membership.ram_nodes].sort());
      expect(status.nodes.every((n) => n.running && n.podReady && !n.memoryAlarm && !n.diskFreeAlarm && n.partitions.length === 0)).toBe(true);
      expect(status.nodes.filter((n) => membership.running_nodes.includes(n.node))).toHaveLength(5);

      // RabbitMQ's own check, asked on every node: which quorum queues would lose their majority if it stopped.
      const critical = new Set<string>();
      for (const row of status.nodes) {
        const forward = await portForward(namespace, `pod/${row.pod}`, 15672, join(logDir, `management-${row.pod}.log`));
        try {
          const response = await fetch(`http://127.0.0.1:${forward.localPort}/api/health/checks/node-is-quorum-critical`, {
            headers: { authorization: `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString("base64")}` },
          });
          const body = (await response.json()) as { status: string; queues?: { name: string; virtual_host?: string; vhost?: string }[] };
          // RabbitMQ 4.0 names its stream coordinator too (vhost "(not applicable)"): not a queue, left out.
          for (const queue of body.queues ?? []) {
            const queueVhost = queue.virtual_host ?? queue.vhost;
            if (queueVhost !== "(not applicable)") critical.add(`${queueVhost}/${queue.name}@${row.pod}`);
          }
        } finally {
          await forward.stop();
        }
      }
      const pairs = (types: string[]) =>
        status.quorumCriticalQueues.filter((q) => types.includes(q.type)).flatMap((q) => q.criticalNodes.map((node) => `${q.vhost}/${q.queue}@${node}`));
      expect(
        [...critical].some((entry) => entry.startsWith(`${vhost}/${SINGLE}@`)),
        "the single-replica quorum queue is critical on its node",
      ).toBe(true);
      // RabbitMQ's check covers quorum queues (3.10) or quorum queues and streams (later): ours covers both.
      expect([...critical].sort()).toEqual(expect.arrayContaining(pairs(["quorum"])));
      expect(pairs(["quorum", "stream"])).toEqual(expect.arrayContaining([...critical]));
      console.log(
        `kubectl rabbit status: 5 nodes as rabbitmqctl reports them; quorum-critical as RabbitMQ's health check on each node: ${[...critical].join(", ")}`,
      );
    }, 300_000);

    it("lists the queues, vhosts, users, permissions, policies, exchanges and bindings the management API has, each with the resource that declares it, hand-made ones undeclared", async () => {
      interface Row {
        vhost?: string;
        name?: string;
        user?: string;
        source?: string;
        destination?: string;
        destinationType?: string;
        routingKey?: string;
        arguments?: Record<string, unknown>;
        declaredBy: string;
      }
      const rows = async (listing: string) => json<Row[]>([listing, cluster, "-p", vhost]);
      // RabbitMQ answers a binding's arguments in an order of its own.
      const sameArguments = (a: Record<string, unknown> = {}, b: Record<string, unknown> = {}) =>
        JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
      const declared = (kind: string, name: string) => `${kind}/${namespace}/${name}`;

      const queues = await rows("queues");
      expect(queues.map((q) => q.name).sort()).toEqual((await management.listQueues({ vhost })).map((q) => q.name).sort());
      for (const q of [...QUEUES, singleReplica])
        expect(queues.find((row) => row.name === q.spec.name)?.declaredBy, q.spec.name).toBe(declared("Queue", q.metadata.name));
      expect(queues.find((q) => q.name === "hand.made")?.declaredBy).toBe(UNDECLARED);

      const exchanges = await rows("exchanges");
      expect(exchanges.map((e) => e.name).sort()).toEqual((await management.listExchanges(vhost)).map((e) => e.name).sort());
      for (const e of EXCHANGES) expect(exchanges.find((row) => row.name === e.spec.name)?.declaredBy).toBe(declared("Exchange", e.metadata.name));
      expect(exchanges.find((e) => e.name === "hand.made")?.declaredBy).toBe(UNDECLARED);
      expect(exchanges.find((e) => e.name === "amq.topic")?.declaredBy).toBe(BUILT_IN);

      const bindings = await rows("bindings");
      expect(bindings).toHaveLength((await management.listBindings(vhost)).length);
      for (const b of BINDINGS) {
        const row = bindings.find(
          (r) =>
            r.source === b.spec.source &&
            r.destination === b.spec.destination &&
            r.destinationType === (b.spec.destinationType ?? "queue") &&
            r.routingKey === (b.spec.routingKey ?? "") &&
            sameArguments(r.arguments, b.spec.arguments),
        );
        expect(row?.declaredBy, b.metadata.name).toBe(declared("Binding", b.metadata.name));
      }

      const policies = await rows("policies");
      expect(policies.map((p) => p.name).sort()).toEqual((await management.listPolicies(vhost)).map((p) => p.name).sort());
      for (const p of POLICIES) expect(policies.find((row) => row.name === p.spec.name)?.declaredBy).toBe(declared("Policy", p.metadata.name));

      const vhosts = await json<Row[]>(["vhosts", cluster]);
      expect(vhosts.map((v) => v.name).sort()).toEqual((await management.listVhosts()).map((v) => v.name).sort());
      expect(vhosts.find((v) => v.name === vhost)?.declaredBy).toBe(declared("Vhost", vhost));
      expect(vhosts.find((v) => v.name === "/")?.declaredBy).toBe(BUILT_IN);

      const app = await appCredentials();
      const users = await json<Row[]>(["users", cluster]);
      expect(users.map((u) => u.name).sort()).toEqual((await management.listUsers()).map((u) => u.name).sort());
      expect(users.find((u) => u.name === app.username)?.declaredBy).toBe(declared("User", "app"));
      expect(users.find((u) => u.name === admin.username)?.declaredBy).toBe(`RabbitCluster/${namespace}/${cluster}`);

      const permissions = await rows("permissions");
      expect(permissions).toHaveLength((await management.listPermissions(vhost)).length);
      expect(permissions.find((p) => p.user === app.username)?.declaredBy).toBe(declared("Permission", "app-in-shop"));
      // The operator made the vhost as the default user, and RabbitMQ gave that user all permissions on it.
      expect(permissions.find((p) => p.user === admin.username)?.declaredBy).toBe(declared("Vhost", vhost));

      // The tables say the same, the marks included.
      const table = (await plugin.rabbit(["queues", cluster, "-p", vhost, ...inNamespace])).stdout;
      expect(table).toMatch(/^VHOST +NAME +TYPE +DURABLE +READY +UNACKED +CONSUMERS +DECLARED BY\n/);
      expect(table).toMatch(new RegExp(`\\n${vhost} +hand\\.made +classic +true +0 +0 +0 +${UNDECLARED}\\n`));
    }, 300_000);

    it("publish puts confirmed persistent messages in a queue, queues counts them, consume takes some, purge asks and then empties the queue", async () => {
      const queue = "fair";
      expect(await messageCount(queue), "the queue is empty before").toBe(0);
      const published = await plugin.rabbit(["publish", cluster, ...inNamespace, "-p", vhost, "--queue", queue, "--count", "25"]);
      expect(published.stdout).toContain("published 25 persistent messages to queue fair in vhost shop");
      expect(await messageCount(queue)).toBe(25);
      // The management API's counts follow within its statistics interval.
      await waitFor(
        "queues to count 25 ready",
        async () => (await json<QueueRow[]>(["queues", cluster, "-p", vhost])).find((q) => q.name === queue)?.messagesReady === 25,
        {
          timeoutMs: 30_000,
          intervalMs: 2000,
        },
      );

      const consumed = await json<ConsumedMessage[]>(["consume", cluster, queue, "-p", vhost, "--count", "5"]);
      expect(consumed.map((m) => m.body.replace(/ at .*/, ""))).toEqual([1, 2, 3, 4, 5].map((i) => `kubectl-rabbit test message ${i}/25`));
      expect(await messageCount(queue)).toBe(20);

      const refused = await failureOf(plugin.rabbit(["purge", cluster, queue, ...inNamespace, "-p", vhost], { input: "n\n" }));
      expect(refused.exitCode).toBe(1);
      // The count asked about is exact (AMQP's), not the management API's lagging statistics.
      expect(refused.stderr).toBe(
        `Purge queue fair in vhost shop of RabbitCluster ${namespace}/${cluster} (20 ready messages)? [y/N] error: not purged\n  answer y, or pass --yes\n`,
      );
      expect(await messageCount(queue)).toBe(20);
      const purged = await plugin.rabbit(["purge", cluster, queue, ...inNamespace, "-p", vhost], { input: "y\n" });
      expect(purged.stdout).toBe(`purged queue fair in vhost shop of RabbitCluster ${namespace}/${cluster}: 20 messages\n`);
      expect(await messageCount(queue)).toBe(0);

      const unroutable = await failureOf(plugin.rabbit(["publish", cluster, ...inNamespace, "-p", vhost, "--queue", "no.such.queue"]));
      expect(unroutable.stderr).toContain("1 of 1 messages to queue no.such.queue in vhost shop");
    }, 300_000);

    it("manage forwards the management UI and says how to log in without the password unless --show-password; secrets gives the default user", async () => {
      const secrets = await json<{ username: string; password: string; connectionString?: string }>(["secrets", cluster]);
      expect({ username: secrets.username, password: secrets.password }).toEqual(admin);
      expect(secrets.connectionString).toMatch(/^amqp:\/\//);

      for (const showPassword of [false, true]) {
        const logFile = join(logDir, `manage-${showPassword}.log`);
        const manage = plugin.start(["manage", cluster, ...inNamespace, "--port", "0", ...(showPassword ? ["--show-password"] : [])], logFile);
        try {
          let url = "";
          await waitFor("kubectl rabbit manage to print its URL", async () => {
            url = /http:\/\/127\.0\.0\.1:\d+\//.exec(await readFile(logFile, "utf8"))?.[0] ?? "";
            return url !== "";
          });
          const whoami = await fetch(`${url}api/whoami`, {
            headers: { authorization: `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString("base64")}` },
          });
          expect(((await whoami.json()) as { name: string }).name).toBe(admin.username);
          expect((await fetch(url)).status, "the UI's page").toBe(200);
          const printed = await readFile(logFile, "utf8");
          expect(printed).toContain(`Log in as ${admin.username}`);
          expect(printed.includes(admin.password), `password printed with showPassword=${showPassword}`).toBe(showPassword);
          // Ctrl-C ends it, and the port with it.
          process.kill(manage.pid, "SIGINT");
          expect(await manage.exited).toBe(0);
          await expect(fetch(url)).rejects.toThrow();
        } finally {
          await manage.stop();
        }
      }
    }, 300_000);

    it("logs interleaves every node's lines in time order, each prefixed with its pod, and -f shows a new line from the node it happened on", async () => {
      const { stdout } = await plugin.rabbit(["logs", cluster, ...inNamespace, "--timestamps", "--since", "2h"], { timeoutMs: 120_000 });
      const lines = stdout.trimEnd().split("\n");
      const pods = [0, 1, 2].map((i) => `${cluster}-disc-${i}`).concat([0, 1].map((i) => `${cluster}-ram-${i}`));
      for (const pod of pods)
        expect(
          lines.some((line) => line.startsWith(`[${pod}]`)),
          pod,
        ).toBe(true);
      const times = lines.map((line) => /^\[[^\]]+\] +(\S+Z) /.exec(line)?.[1] ?? "");
      expect(
        times.every((t) => t !== ""),
        "every line has its pod and time",
      ).toBe(true);
      expect(times).toEqual([...times].sort());

      const logFile = join(logDir, "logs-follow.log");
      const follow = plugin.start(["logs", cluster, ...inNamespace, "-f", "--tail", "0"], logFile);
      try {
        await sleep(systemClock, 3000);
        // An AMQP connection makes its node log "accepting AMQP connection".
        await plugin.rabbit(["publish", cluster, ...inNamespace, "-p", vhost, "--queue", "hello"]);
        // publish forwards to the first Ready node: disc-0.
        await waitFor(
          "the new connection's line in logs -f",
          async () => new RegExp(`^\\[${cluster}-disc-0\\] +.*accepting AMQP connection`, "m").test(await readFile(logFile, "utf8")),
          {
            timeoutMs: 30_000,
          },
        );
      } finally {
        await follow.stop();
      }
      await management.purgeQueue(vhost, "hello").catch(() => undefined);
    }, 300_000);

    it("status of a cluster with no Ready node shows its conditions and pods as Kubernetes reports them, and says why RabbitMQ cannot be asked", async () => {
      const broken = "plugin-broken";
      // An image no node has and none may pull: the pod never starts.
      await kubectl(["-n", namespace, "apply", "-f", "-"], {
        input: JSON.stringify({
          apiVersion: API_VERSION,
          kind: "RabbitCluster",
          metadata: { name: broken },
          spec: { image: "localhost/rabbit-operator/no-such-image:1", nodes: { disc: 1, ram: 0 } },
        }),
      });
      try {
        let failure: { exitCode: number | null; stderr: string; stdout?: string } = { exitCode: 0, stderr: "" };
        await waitFor(
          "the broken cluster's pod to wait on its image",
          async () => {
            try {
              await plugin.rabbit(["status", broken, ...inNamespace, "-o", "json"]);
            } catch (error) {
              if (!(error instanceof CommandError)) throw error;
              failure = { exitCode: error.exitCode, stderr: error.stderr, stdout: error.stdout };
              const report = JSON.parse(error.stdout || "{}") as { pods?: PodRow[] };
              return (report.pods ?? []).some((p) => p.waiting !== undefined && /Image/.test(p.waiting));
            }
            return false;
          },
          { timeoutMs: 120_000, intervalMs: 3000 },
        );
        expect(failure.exitCode).toBe(1);
        const report = JSON.parse(failure.stdout!) as { conditions: { type: string; status: string }[]; pods: PodRow[] };
        expect(report.pods).toEqual([expect.objectContaining({ pod: `${broken}-disc-0`, type: "disc", ready: false })]);
        expect(report.conditions.find((c) => c.type === "Ready")?.status).toBe("False");
        expect(failure.stderr).toMatch(new RegExp(`^error: no node of RabbitCluster ${namespace}/${broken} is Ready \\(Ready=False, `));
        expect(failure.stderr).toContain(`kubectl describe rabbitcluster ${broken} -n ${namespace}`);
      } finally {
        await kubectl(["-n", namespace, "delete", RABBIT_CLUSTERS, broken, "--wait=true", "--timeout=120s"], { timeoutMs: 150_000 }).catch(() => undefined);
      }
    }, 300_000);

    it("works for a user who may read the cluster and port-forward but not exec, and names the permission a user lacks", async () => {
      const viewer = "plugin-viewer";
      const rules = (portForward: boolean) => [
        { apiGroups: [GROUP], resources: ["rabbitclusters", ...TOPOLOGY_KINDS.map((k) => k.plural)], verbs: ["get", "list"] },
        { apiGroups: [""], resources: ["pods", "pods/log", "secrets"], verbs: ["get", "list"] },
        ...(portForward ? [{ apiGroups: [""], resources: ["pods/portforward"], verbs: ["create", "get"] }] : []),
      ];
      const apply = (portForward: boolean) =>
        kubectl(["-n", namespace, "apply", "-f", "-"], {
          input: JSON.stringify({
            apiVersion: "v1",
            kind: "List",
            items: [
              { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: viewer } },
              { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: viewer }, rules: rules(portForward) },
              {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "RoleBinding",
                metadata: { name: viewer },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: viewer },
                subjects: [{ kind: "ServiceAccount", name: viewer, namespace }],
              },
            ],
          }),
        });
      await apply(true);
      const token = (await kubectl(["-n", namespace, "create", "token", viewer, "--duration=10m"])).trim();
      const kubeconfig = join(logDir, "viewer.kubeconfig");
      await copyFile(inject("kubeconfig"), kubeconfig);
      const config = ["--kubeconfig", kubeconfig];
      await kubectl([...config, "config", "set-credentials", viewer, `--token=${token}`]);
      await kubectl([...config, "config", "set-context", "--current", `--user=${viewer}`, `--namespace=${namespace}`]);
      const asViewer = { env: { KUBECONFIG: kubeconfig } };
      try {
        expect(await kubectl([...config, "auth", "can-i", "create", "pods/exec"]).catch((e: CommandError) => e.stdout)).toMatch(/^no/);
        const status = JSON.parse((await plugin.rabbit(["status", cluster, "-o", "json"], asViewer)).stdout) as { nodes: NodeRow[] };
        expect(status.nodes).toHaveLength(5);

        await apply(false);
        await waitFor("the Role to lose pods/portforward", async () =>
          (await kubectl([...config, "auth", "can-i", "create", "pods/portforward"]).catch((e: CommandError) => e.stdout)).startsWith("no"),
        );
        const refused = await failureOf(plugin.rabbit(["queues", cluster], asViewer));
        expect(refused.exitCode).toBe(1);
        expect(refused.stderr).toMatch(/forbidden \(403\)/);
        expect(refused.stderr).toContain("your user needs RBAC permission to create pods/portforward");

        const missing = await failureOf(plugin.rabbit(["status", "no-such-cluster"], asViewer));
        expect(missing.stderr).toBe(
          `error: RabbitCluster ${namespace}/no-such-cluster not found\n  kubectl rabbit list -A lists the clusters you can see; -n NAMESPACE selects the namespace\n`,
        );
      } finally {
        await kubectl(["-n", namespace, "delete", "rolebinding,role,serviceaccount", viewer, "--ignore-not-found"]);
      }
    }, 300_000);
  });

  it("keeps a stream's messages for every reader: two readers from the first offset each read all of them, in order", async () => {
    const published = await publishConfirmed(amqpUrl, "audit", { count: 1_000, prefix: "audit" });
    expect(published.confirmed).toHaveLength(1_000);
    const read = await readStream(amqpUrl, "audit", published.confirmed, { readers: 2, timeoutMs: 60_000 });
    expect(read.byReader["reader-1"]).toEqual(published.confirmed);
    expect(read.byReader["reader-2"]).toEqual(published.confirmed);
  }, 300_000);

  it("keeps persistent messages of a durable queue through a restart of every node", async () => {
    const { messages } = await publishPersistent(amqpUrl, "durable-jobs", { count: 200, prefix: "job" });
    await stopForwards();
    const before = new Map(
      (await kubectlJson<{ items: { metadata: { name: string; uid: string } }[] }>(GET_CLUSTER_PODS)).items.map((p) => [p.metadata.name, p.metadata.uid]),
    );
    await timed("every node restarted and the cluster Ready again", async () => {
      await kubectl(["-n", namespace, "delete", "pods", "-l", `app.kubernetes.io/instance=${cluster}`, "--wait=false"]);
      await waitFor(
        "five new pods, all Ready",
        async () => {
          const pods = (
            await kubectlJson<{
              items: { metadata: { name: string; uid: string; deletionTimestamp?: string }; status: { conditions?: { type: string; status: string }[] } }[];
            }>(["-n", namespace, "get", "pods", "-l", `app.kubernetes.io/instance=${cluster}`])
          ).items;
          return pods.length === 5 && pods.every((p) => before.get(p.metadata.name) !== p.metadata.uid && podReady(p));
        },
        { timeoutMs: 600_000, intervalMs: 2000 },
      );
      await waitUntilEverythingReady("everything Ready after the restart");
    });
    amqpUrl = await connectThroughService();
    const result = await consumeAndVerify(amqpUrl, "durable-jobs", messages, { timeoutMs: 60_000 });
    expect({ missing: result.missing, left: result.messagesLeft }).toEqual({ missing: [], left: 0 });
    expect(result.received.every((d) => d.persistent)).toBe(true);
  }, 900_000);

  /**
   * Broker data safety: a node that holds a replica of the quorum queue (and, in one variant, its
   * leader) SIGKILLed while a publisher with confirms sends persistent messages, once at least
   * 20% and before 80% of them are confirmed. Nacked and unanswered messages are published again
   * (counted); every confirmed message must then be consumed, none lost. E2E_CONFIRMS sets the
   * count (10,000 in npm test, 100,000 in npm run test:faults:e2e).
   */
  const CONFIRMS = Number(process.env.E2E_CONFIRMS ?? 10_000);
  const victims = [
    { title: "a disc node holding a replica, not the leader", pick: (q: QueueReplicas) => q.members.find((m) => m.includes("-disc-") && m !== q.leader) },
    { title: "the leader", pick: (q: QueueReplicas) => q.leader },
    // A ram node may hold no replica (the queue was declared before it joined, and replicas are
    // kept on disc nodes): one is added to a ram node that does not lead, so that it holds one.
    {
      title: "a ram node holding a replica, not the leader",
      pick: (q: QueueReplicas) => q.members.find((m) => m.includes("-ram-") && m !== q.leader),
      ram: true,
    },
  ];
  for (const victim of victims) {
    it(`loses no confirmed message of ${CONFIRMS.toLocaleString("en")} when ${victim.title} of the quorum queue is SIGKILLed mid-stream`, async () => {
      await stopForwards();
      const admin = await readCredentials(namespace, `${cluster}-default-user`);
      const management = await portForward(namespace, `pod/${cluster}-disc-0`, 15672, join(logDir, "management-disc-0.log"));
      forwards.push(management);
      const client = localManagement(admin, management.localPort);
      const replicasNow = async (): Promise<QueueReplicas> => {
        const info = await client.getQueue(vhost, "confirms");
        return { leader: info?.node ?? "", members: info?.members ?? [] };
      };
      let replicas = await replicasNow();
      if ("ram" in victim && !victim.pick(replicas)) {
        const ramNode = (await client.listNodes()).map((n) => n.name).find((n) => n.includes("-ram-") && n !== replicas.leader)!;
        await kubectl(
          ["-n", namespace, "exec", `${cluster}-disc-0`, "-c", "rabbitmq", "--", "rabbitmq-queues", "add_member", "-p", vhost, "confirms", ramNode],
          { timeoutMs: 120_000 },
        );
        await waitFor(`a replica of confirms on ${ramNode}`, async () => (replicas = await replicasNow()).members.includes(ramNode), { timeoutMs: 60_000 });
        console.log(`added a replica of confirms on ${ramNode}`);
      }
      const node = victim.pick(replicas);
      expect(node, `the victim among ${JSON.stringify(replicas)}`).toBeDefined();
      const pod = /^rabbit@([^.]+)\./.exec(node!)![1]!;
      // The publisher's own connection goes to a disc node that stays up.
      const publisherPod = [0, 1, 2].map((i) => `${cluster}-disc-${i}`).find((p) => p !== pod)!;
      const forward = await portForward(namespace, `pod/${publisherPod}`, 5672, join(logDir, `amqp-${publisherPod}.log`));
      forwards.push(forward);
      const url = localAmqpUrl(await appCredentials(), forward.localPort, vhost);

      const podInfo = () =>
        kubectlJson<{ spec: { nodeName: string }; status: { containerStatuses?: { name: string; restartCount: number }[] } }>([
          "-n",
          namespace,
          "get",
          "pod",
          pod,
        ]);
      const restarts = async () => (await podInfo()).status.containerStatuses?.find((c) => c.name === "rabbitmq")?.restartCount ?? 0;
      const restartsBefore = await restarts();
      const kindNode = (await podInfo()).spec.nodeName;
      // SIGKILL of the RabbitMQ container's process, found through the kind node's CRI (a forced
      // pod deletion would let it run on for seconds); the command fails when nothing was killed.
      const container = `crictl ps -q --name '^rabbitmq$' --label io.kubernetes.pod.name=${pod} --label io.kubernetes.pod.namespace=${namespace}`;
      const kill = () =>
        run(engine(e2e.provider), [
          "exec",
          kindNode,
          "sh",
          "-ec",
          `id=$(${container}); test -n "$id"; kill -9 "$(crictl inspect -o go-template --template '{{.info.pid}}' $id)"`,
        ]);

      let confirmedSoFar = 0;
      let confirmedWhenKilled: number | undefined;
      let killing: Promise<void> | undefined;
      const started = Date.now();
      const published = await publishConfirmed(url, "confirms", {
        count: CONFIRMS,
        prefix: `confirms-${pod}`,
        window: 50,
        timeoutMs: 300_000,
        onConfirmed: (confirmed) => {
          confirmedSoFar = confirmed;
          if (killing === undefined && confirmed >= CONFIRMS * 0.3) {
            killing = kill().then(() => {
              confirmedWhenKilled = confirmedSoFar;
            });
          }
        },
      });
      await killing;
      const publishSeconds = (Date.now() - started) / 1000;
      // Nacked or unanswered: the broker did not promise to keep them; a publisher sends them again.
      let again = [...published.nacked, ...published.unanswered];
      const confirmed = [...published.confirmed];
      let republished = 0;
      for (let round = 1; again.length > 0 && round <= 5; round++) {
        republished += again.length;
        const retry = await publishConfirmed(url, "confirms", { count: again.length, contents: again, window: 50, timeoutMs: 120_000 });
        confirmed.push(...retry.confirmed);
        again = [...retry.nacked, ...retry.unanswered];
      }
      console.log(
        `${victim.title} (${pod}) SIGKILLed at ${confirmedWhenKilled} of ${CONFIRMS} confirmed: published ${CONFIRMS} in ${publishSeconds.toFixed(1)} s, ` +
          `confirmed ${published.confirmed.length}, nacked ${published.nacked.length}, unanswered ${published.unanswered.length}, published again ${republished}${published.interruptedBy ? `, interrupted by ${published.interruptedBy}` : ""}`,
      );
      // The kill landed mid-stream, on the node chosen, which then restarted.
      expect(confirmedWhenKilled).toBeGreaterThanOrEqual(CONFIRMS * 0.2);
      expect(confirmedWhenKilled).toBeLessThan(CONFIRMS * 0.8);
      await waitFor(`${pod} restarted after the kill`, async () => (await restarts()) > restartsBefore, { timeoutMs: 120_000 });
      expect(published.interruptedBy).toBeUndefined();
      expect(again).toEqual([]);
      expect(new Set(confirmed).size).toBe(CONFIRMS);

      const started2 = Date.now();
      const consumed = await consumeAndVerify(url, "confirms", confirmed, { timeoutMs: 300_000 });
      console.log(
        `consumed ${consumed.received.length} in ${((Date.now() - started2) / 1000).toFixed(1)} s: missing ${consumed.missing.length}, redelivered ${consumed.received.filter((d) => d.redelivered).length}, unexpected ${consumed.unexpected.length}`,
      );
      expect(consumed.missing).toEqual([]);
      expect(consumed.messagesLeft).toBe(0);
      await waitUntilEverythingReady(`the cluster Ready again with ${pod} back`);
    }, 1_200_000);
  }

  it("uninstalls cleanly: objects first, nothing stuck on a finalizer, then the chart", async () => {
    await stopForwards();
    await timed("topology and cluster deleted", async () => {
      await kubectl(["-n", namespace, "delete", TOPOLOGY_PLURALS, "--all", "--timeout=120s"], { timeoutMs: 150_000 });
      await kubectl(["-n", namespace, "delete", RABBIT_CLUSTERS, cluster, "--timeout=120s"], { timeoutMs: 150_000 });
    });
    const left = await kubectlJson<{ items: Resource[] }>(["-n", namespace, "get", `${RABBIT_CLUSTERS},${TOPOLOGY_PLURALS}`]);
    expect(left.items.map((r) => `${r.kind}/${r.metadata.name} finalizers=${r.metadata.finalizers?.join(",") ?? ""}`)).toEqual([]);
    await timed("chart uninstalled", () => operator.uninstall());
    const operatorObjects = await kubectl(["get", "clusterroles,clusterrolebindings", "-l", "app.kubernetes.io/instance=rabbit-operator", "-o", "name"]);
    expect(operatorObjects.trim()).toBe("");
  }, 600_000);
});
