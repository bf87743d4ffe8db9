// The example stack pulumi/examples/rabbitmq-platform for real: the real Pulumi engine (CLI and
// Kubernetes provider built from pinned Go modules) drives its program through the Automation API
// against the kind cluster. The stack installs the operator (our image, with the chart), a 3 disc +
// 2 ram RabbitCluster that runs, and topology of every kind; an application then does the
// work-queue round trip with a generated User's credentials found through the stack's outputs.
// Then a queue added (one create), a preview with nothing to do, and destroy leaving nothing.
//
// The configuration is the dev stack's shape for RabbitMQ 3.10 (the image built here): no vhost
// default queue type (3.11+), no applyTo quorum_queues or streams (3.12+).
import { join } from "node:path";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation/index.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { API_VERSION } from "../../operator/api/index.js";
import type { JsonObject } from "../../operator/rabbitmq/management-types.js";
import {
  rabbitmqPlatform,
  type ClusterConfig,
  type OperatorConfig,
  type PermissionConfig,
  type UserConfig,
} from "../../pulumi/examples/rabbitmq-platform/program.js";
import type { WrittenBindingSpec, WrittenExchangeSpec, WrittenPolicySpec, WrittenQueueSpec, WrittenVhostSpec } from "../../pulumi/index.js";
import { waitFor } from "../../dev/exec.js";
import { kubeClients, type KubeClients } from "../../dev/kube.js";
import { preparePulumiEngine, type PulumiEngine } from "../../dev/pulumi.js";
import { drainQueues, publishRouted, workQueue } from "../../dev/workloads.js";
import { changesBesides, readyOf, slowestSteps, topologyObjects, type StateResource } from "../support/pulumi-stack.js";
import { printDiagnostics } from "./support/diagnostics.js";
import { kubectl } from "./support/kubectl.js";
import { portForward, type PortForward } from "./support/port-forward.js";
import { localAmqpUrl, localManagement, readCredentials } from "./support/rabbitmq.js";

const e2e = inject("e2eCluster");
const STEP_TIMEOUT_MS = 900_000;
/** A cold machine builds the Pulumi CLI and the provider first; seconds when cached. */
const SETUP_TIMEOUT_MS = 3_600_000;
const APP_NAMESPACE = "e2e-pulumi";
const OPERATOR_NAMESPACE = "e2e-pulumi-operator";
const STACK = "e2e";

const [imageRepository, imageTag] = [
  e2e.operatorImage.slice(0, e2e.operatorImage.lastIndexOf(":")),
  e2e.operatorImage.slice(e2e.operatorImage.lastIndexOf(":") + 1),
];
const operator: OperatorConfig = {
  namespace: OPERATOR_NAMESPACE,
  // The image was loaded into the kind node, never pushed.
  values: { image: { repository: imageRepository, tag: imageTag, pullPolicy: "Never" }, logLevel: "debug" },
};
const cluster: ClusterConfig = {
  name: "shop",
  image: e2e.rabbitmqImage,
  nodes: { disc: 3, ram: 2 },
  resources: { requests: { cpu: "10m", memory: "200Mi" }, limits: { memory: "1Gi" } },
  persistence: { storage: "1Gi", whenDeleted: "Delete" },
  terminationGracePeriodSeconds: 30,
};
const vhosts: WrittenVhostSpec[] = [{ name: "orders" }];
const users: UserConfig[] = [{ username: "orders-service" }, { username: "ops", tags: ["administrator"] }];
const permissions: PermissionConfig[] = [
  { user: "orders-service", vhost: "orders", permissions: { configure: "", write: ".*", read: ".*" } },
  { user: "ops", vhost: "orders", permissions: { configure: ".*", write: ".*", read: ".*" } },
];
const queues: WrittenQueueSpec[] = [
  { name: "orders.created", vhost: "orders", type: "quorum" },
  { name: "orders.audit", vhost: "orders", type: "stream" },
  { name: "orders.invoices", vhost: "orders", type: "classic" },
];
const addedQueue: WrittenQueueSpec = { name: "orders.cancelled", vhost: "orders", type: "quorum" };
const exchanges: WrittenExchangeSpec[] = [
  { name: "orders", vhost: "orders", type: "topic" },
  { name: "orders.direct", vhost: "orders", type: "direct" },
  { name: "orders.all", vhost: "orders", type: "fanout" },
  { name: "orders.by-headers", vhost: "orders", type: "headers" },
];
const bindings: WrittenBindingSpec[] = [
  { vhost: "orders", source: "orders", destination: "orders.created", routingKey: "order.created" },
  { vhost: "orders", source: "orders.all", destination: "orders.audit" },
  { vhost: "orders", source: "orders", destination: "orders.all", destinationType: "exchange", routingKey: "order.#" },
  { vhost: "orders", source: "orders.by-headers", destination: "orders.invoices", arguments: { "x-match": "all", kind: "invoice" } },
];
const policies: WrittenPolicySpec[] = [
  { name: "orders-limits", vhost: "orders", pattern: "^orders\\.created$", applyTo: "queues", definition: { "max-length": 10000 } },
  { name: "orders-alternate", vhost: "orders", pattern: "^orders\\.direct$", applyTo: "exchanges", definition: { "alternate-exchange": "orders.all" } },
];
/** Objects of our kinds the stack declares: the cluster and each topology object. */
const DECLARED =
  1 + vhosts.length + 2 * users.length - users.length + permissions.length + queues.length + exchanges.length + bindings.length + policies.length;

describe("pulumi/examples/rabbitmq-platform on kind, through the Automation API", () => {
  let clients: KubeClients;
  let engine: PulumiEngine | undefined;
  let stack: Stack | undefined;
  let destroyed = false;
  let logDir: string;
  const forwards: PortForward[] = [];
  const timings: [string, number][] = [];
  const timed = async <T>(step: string, body: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await body();
    } catch (error) {
      await printDiagnostics([APP_NAMESPACE, OPERATOR_NAMESPACE]).catch(() => undefined);
      throw error;
    } finally {
      timings.push([step, Date.now() - started]);
      console.log(`pulumi step "${step}": ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  };
  const stackConfig = (queueList: WrittenQueueSpec[]) => ({
    "kubernetes:kubeconfig": { value: inject("kubeconfig") },
    "rabbitmq-platform:operator": { value: JSON.stringify(operator) },
    "rabbitmq-platform:namespace": { value: APP_NAMESPACE },
    "rabbitmq-platform:cluster": { value: JSON.stringify(cluster) },
    "rabbitmq-platform:vhosts": { value: JSON.stringify(vhosts) },
    "rabbitmq-platform:users": { value: JSON.stringify(users) },
    "rabbitmq-platform:permissions": { value: JSON.stringify(permissions) },
    "rabbitmq-platform:queues": { value: JSON.stringify(queueList) },
    "rabbitmq-platform:exchanges": { value: JSON.stringify(exchanges) },
    "rabbitmq-platform:bindings": { value: JSON.stringify(bindings) },
    "rabbitmq-platform:policies": { value: JSON.stringify(policies) },
  });
  /** The management API of the stack's cluster, as its default user, through a port-forward to a disc node. */
  const management = async () => {
    const forward = await portForward(APP_NAMESPACE, "pod/shop-disc-0", 15672, join(logDir, `management-${forwards.length}.log`));
    forwards.push(forward);
    return localManagement(await readCredentials(APP_NAMESPACE, "shop-default-user"), forward.localPort);
  };

  beforeAll(async () => {
    clients = kubeClients(inject("kubeconfig"));
    logDir = await mkdtemp(join(tmpdir(), "rabbit-operator-e2e-pulumi-"));
    engine = await timed("prepare engine (CLI and provider from the cache)", () => preparePulumiEngine("rabbitmq-platform-e2e"));
    stack = await timed("create stack", () =>
      engine!.inlineStack({ projectName: "rabbitmq-platform", stackName: STACK, program: rabbitmqPlatform, config: stackConfig(queues) }),
    );
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    try {
      for (const forward of forwards) await forward.stop();
      if (stack && !destroyed)
        await stack.destroy({ onOutput: () => undefined }).catch((error: unknown) => console.warn(`cleanup destroy failed: ${String(error)}`));
    } finally {
      await engine?.cleanup();
      await rm(logDir, { recursive: true, force: true });
      console.log(`pulumi step timings:\n${timings.map(([step, ms]) => `  ${step.padEnd(60)} ${(ms / 1000).toFixed(1).padStart(7)} s`).join("\n")}`);
    }
  }, STEP_TIMEOUT_MS);

  it(
    "up: the operator installed with our image, a 3 disc + 2 ram cluster Ready, topology of every kind Ready and in RabbitMQ",
    async () => {
      const events: EngineEvent[] = [];
      const result = await timed("up (operator, cluster, topology)", () => stack!.up({ onOutput: () => undefined, onEvent: (event) => events.push(event) }));
      expect(result.summary.result).toBe("succeeded");
      console.log(`up, slowest steps:\n${slowestSteps(events, 8)}`);
      expect(result.outputs.topologyTarget?.value).toBe("RabbitCluster shop");

      // The operator runs our image.
      const deployment = JSON.parse(await kubectl(["-n", OPERATOR_NAMESPACE, "get", "deployments", "-o", "json"])) as {
        items: { spec: { template: { spec: { containers: { image: string }[] } } }; status: { readyReplicas?: number } }[];
      };
      expect(deployment.items.map((d) => [d.spec.template.spec.containers[0]!.image, d.status.readyReplicas])).toEqual([[e2e.operatorImage, 1]]);

      // Pulumi waited for every object of ours to be Ready (pulumi.com/waitFor).
      const rabbitCluster = (await clients.objects.read({
        apiVersion: API_VERSION,
        kind: "RabbitCluster",
        metadata: { name: "shop", namespace: APP_NAMESPACE },
      })) as {
        status?: { conditions?: { type: string; status: string }[]; nodes?: unknown };
      };
      expect(rabbitCluster.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
      const pods = JSON.parse(await kubectl(["-n", APP_NAMESPACE, "get", "pods", "-l", "app.kubernetes.io/instance=shop", "-o", "json"])) as {
        items: { metadata: { name: string } }[];
      };
      expect(pods.items.map((p) => p.metadata.name).sort()).toEqual(["shop-disc-0", "shop-disc-1", "shop-disc-2", "shop-ram-0", "shop-ram-1"]);
      const topology = await topologyObjects(clients, APP_NAMESPACE);
      expect(topology).toHaveLength(DECLARED - 1);
      expect(topology.filter((object) => readyOf(object) !== "True").map((object) => `${object.kind}/${object.metadata?.name}`)).toEqual([]);

      const client = await management();
      const nodes = await client.listNodes();
      expect(nodes.map((n) => n.type).sort()).toEqual(["disc", "disc", "disc", "ram", "ram"]);
      expect((await client.listVhosts()).map((v) => v.name).sort()).toEqual(["/", "orders"]);
      const rabbitUsers = await client.listUsers();
      expect(rabbitUsers.find((user) => user.name === "ops")?.tags).toEqual(["administrator"]);
      expect(rabbitUsers.map((user) => user.name)).toContain("orders-service");
      expect(await client.getPermission("orders", "orders-service")).toMatchObject({ configure: "", write: ".*", read: ".*" });
      for (const queue of queues) expect(await client.getQueue("orders", queue.name), queue.name).toMatchObject({ type: queue.type, durable: true });
      for (const exchange of exchanges) expect(await client.getExchange("orders", exchange.name), exchange.name).toMatchObject({ type: exchange.type });
      for (const binding of bindings) {
        const found = await client.findBinding("orders", {
          source: binding.source,
          destination: binding.destination,
          destinationType: binding.destinationType ?? "queue",
          routingKey: binding.routingKey ?? "",
          arguments: (binding.arguments ?? {}) as JsonObject,
        });
        expect(found, `${binding.source} -> ${binding.destination}`).toBeDefined();
      }
      for (const policy of policies)
        expect(await client.getPolicy("orders", policy.name)).toMatchObject({
          pattern: policy.pattern,
          applyTo: policy.applyTo,
          definition: policy.definition,
        });

      // In Pulumi's state every object of ours depends on the operator's Helm release, so that
      // destroy deletes it while the operator still runs.
      const state = (await stack!.exportStack()).deployment as { resources: StateResource[] };
      const release = state.resources.find((resource) => resource.type === "kubernetes:helm.sh/v3:Release")!.urn;
      const ours = state.resources.filter((resource) => resource.type.startsWith("kubernetes:rabbit.operator.dev/"));
      expect(ours).toHaveLength(DECLARED);
      for (const resource of ours) expect(resource.dependencies, resource.urn).toContain(release);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "an application does the work-queue round trip with a generated User's credentials, found through the stack's outputs",
    async () => {
      const outputs = await stack!.outputs();
      const secretName = (outputs.userCredentialsSecrets?.value as Record<string, string>)["orders-service"]!;
      const endpoint = outputs.endpoints?.value as { amqp: string };
      // The in-cluster endpoint names the client Service: reached from here through a port-forward.
      const service = /^amqp:\/\/([^.]+)\./.exec(endpoint.amqp)![1]!;
      const forward = await portForward(APP_NAMESPACE, `service/${service}`, 5672, join(logDir, "amqp.log"));
      forwards.push(forward);
      const url = localAmqpUrl(await readCredentials(APP_NAMESPACE, secretName), forward.localPort, "orders");
      const work = await workQueue(url, "orders.created", { tasks: 8 });
      expect(work.deliveries).toHaveLength(8);
      expect([work.byWorker["worker-1"].length, work.byWorker["worker-2"].length]).toEqual([4, 4]);
      // Through the stack's exchanges, bindings and the alternate-exchange policy.
      await publishRouted(url, [
        { exchange: "orders", routingKey: "order.created", content: "created-1" },
        { exchange: "orders.direct", routingKey: "nobody", content: "unroutable-1" },
        { exchange: "orders.by-headers", routingKey: "", headers: { kind: "invoice" }, content: "invoice-1" },
      ]);
      expect(await drainQueues(url, ["orders.created", "orders.invoices"])).toEqual({ "orders.created": ["created-1"], "orders.invoices": ["invoice-1"] });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "preview after up: no changes",
    async () => {
      const result = await timed("preview (expectNoChanges)", () => stack!.preview({ expectNoChanges: true, onOutput: () => undefined }));
      expect(changesBesides(result.changeSummary)).toEqual([]);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "a queue added to the configuration: one Queue more, nothing else touched, and the queue in RabbitMQ",
    async () => {
      await stack!.setConfig("rabbitmq-platform:queues", { value: JSON.stringify([...queues, addedQueue]) });
      const result = await timed("up (a queue added)", () => stack!.up({ onOutput: () => undefined }));
      // The Queue component and its custom resource.
      expect(result.summary.resourceChanges).toMatchObject({ create: 2 });
      expect(changesBesides(result.summary.resourceChanges, "create")).toEqual([]);
      expect(await (await management()).getQueue("orders", addedQueue.name)).toMatchObject({ type: "quorum" });
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "destroy: nothing of the stack left in Kubernetes, the cluster's data deleted, the CRDs kept",
    async () => {
      for (const forward of forwards.splice(0)) await forward.stop();
      const claims = JSON.parse(await kubectl(["-n", APP_NAMESPACE, "get", "pvc", "-o", "json"])) as { items: { spec: { volumeName: string } }[] };
      expect(claims.items).toHaveLength(5);
      const events: EngineEvent[] = [];
      const result = await timed("destroy", () => stack!.destroy({ onOutput: () => undefined, onEvent: (event) => events.push(event) }));
      destroyed = true;
      console.log(`destroy, slowest deletions:\n${slowestSteps(events, 8)}`);
      expect(result.summary.result).toBe("succeeded");
      for (const namespace of [APP_NAMESPACE, OPERATOR_NAMESPACE]) {
        await expect(clients.core.readNamespace({ name: namespace }), namespace).rejects.toMatchObject({ code: 404 });
      }
      expect((await kubectl(["get", "clusterroles,clusterrolebindings", "-l", "app.kubernetes.io/instance=rabbit-operator", "-o", "name"])).trim()).toBe("");
      // The volumes go with the claims (whenDeleted: Delete; the provisioner removes them after): no RabbitMQ data is left.
      const volumesLeft = async () => {
        const volumes = (await kubectl(["get", "pv", "-o", "name"])).split("\n").map((line) => line.replace("persistentvolume/", ""));
        return claims.items.map((claim) => claim.spec.volumeName).filter((volume) => volumes.includes(volume));
      };
      await waitFor("the cluster's volumes to be deleted", async () => (await volumesLeft()).length === 0, { timeoutMs: 120_000 });
      // RabbitOperator keeps the CRDs by default (deleting one deletes every object of its kind).
      expect(await kubectl(["get", "crd", "queues.rabbit.operator.dev", "-o", "name"])).toContain("queues.rabbit.operator.dev");
      await stack!.workspace.removeStack(STACK);
    },
    STEP_TIMEOUT_MS,
  );
});
