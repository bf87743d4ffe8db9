// The example stack pulumi/examples/rabbitmq-platform, run by the real Pulumi engine (CLI and
// Kubernetes provider built from pinned Go modules) through the Automation API, against the
// integration control plane with rabbit-operator running as a local process:
//   up       -> the operator installed (CRDs, Helm release), a 3 disc + 2 ram RabbitCluster whose
//               StatefulSets the operator builds, and topology declared in a real RabbitMQ
//   preview  -> no changes
//   a queue added -> one more object, and the queue in RabbitMQ
//   destroy  -> nothing of the stack left in Kubernetes or RabbitMQ, nothing stuck on a finalizer
//
// No kubelet runs here, so the RabbitCluster's pods never start: the topology goes to a local
// RabbitMQ cluster of the harness through the stack's `externalCluster` (a connection Secret),
// and nothing waits for the cluster's or the operator Deployment's readiness.
import { join } from "node:path";
import type { V1StatefulSet } from "@kubernetes/client-node";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation/index.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { API_VERSION } from "../../../operator/api/index.js";
import { TOPOLOGY_FINALIZER } from "../../../operator/controllers/topology/reconciler.js";
import { rabbitmqPlatform, type ClusterConfig, type PermissionConfig, type UserConfig } from "../../../pulumi/examples/rabbitmq-platform/program.js";
import type { WrittenBindingSpec, WrittenExchangeSpec, WrittenPolicySpec, WrittenQueueSpec, WrittenVhostSpec } from "../../../pulumi/index.js";
import { startProcess, waitFor, type ManagedProcess } from "../../../dev/exec.js";
import { kubeClients, type KubeClients } from "../../../dev/kube.js";
import { REPO_ROOT } from "../../../dev/paths.js";
import { preparePulumiEngine, type PulumiEngine } from "../../../dev/pulumi.js";
import { logTail } from "../../../dev/rabbitmq-cluster.js";
import { useRabbitCluster } from "../../harness/rabbitmq/use-rabbit-cluster.js";
import { changesBesides, readyOf, slowestSteps, topologyObjects, type StateResource, type TopologyObject } from "../../support/pulumi-stack.js";

const STEP_TIMEOUT_MS = 600_000;
/** A cold machine builds the Pulumi CLI and the provider first (35-45 min on two loaded cores); seconds when cached. */
const SETUP_TIMEOUT_MS = 3_600_000;
const suffix = Math.random().toString(36).slice(2, 7);
const APP_NAMESPACE = `pulumi-rabbitmq-${suffix}`;
const OPERATOR_NAMESPACE = `pulumi-operator-${suffix}`;
/** The chart names its cluster-scoped objects after the release; unique, because the control plane is shared. */
const RELEASE = `rabbit-operator-${suffix}`;

const cluster: ClusterConfig = {
  name: "demo",
  image: "localhost/rabbit-operator/rabbitmq:3.10.8",
  nodes: { disc: 3, ram: 2 },
  persistence: { storage: "1Gi" },
  // Its pods cannot run on a control plane without nodes.
  waitForReady: false,
};
const vhosts: WrittenVhostSpec[] = [{ name: "orders" }, { name: "billing" }];
const users: UserConfig[] = [{ username: "orders-service" }, { username: "ops", tags: ["administrator"] }];
const permissions: PermissionConfig[] = [
  { user: "orders-service", vhost: "orders", permissions: { configure: "", write: ".*", read: ".*" } },
  { user: "ops", vhost: "orders", permissions: { configure: ".*", write: ".*", read: ".*" } },
];
// RabbitMQ 3.10 here: no applyTo quorum_queues (3.12+), no vhost default queue type (3.11+).
const queues: WrittenQueueSpec[] = [
  { name: "orders.created", vhost: "orders", type: "quorum" },
  { name: "invoices", vhost: "billing" },
];
const addedQueue: WrittenQueueSpec = { name: "orders.cancelled", vhost: "orders", type: "quorum" };
const exchanges: WrittenExchangeSpec[] = [{ name: "orders", vhost: "orders", type: "topic" }];
const bindings: WrittenBindingSpec[] = [{ vhost: "orders", source: "orders", destination: "orders.created", routingKey: "order.created" }];
const policies: WrittenPolicySpec[] = [
  { name: "orders-limits", vhost: "orders", pattern: "^orders\\.", applyTo: "queues", definition: { "max-length": 10000 } },
];

describe("pulumi/examples/rabbitmq-platform through the Automation API", () => {
  const rabbit = useRabbitCluster({ name: "pulumi", disc: 1, ram: 1 });
  let clients: KubeClients;
  let engine: PulumiEngine | undefined;
  let stack: Stack | undefined;
  let operator: ManagedProcess | undefined;
  let destroyed = false;
  const timings: [string, number][] = [];
  // In the engine's directory: kept with it under RABBIT_OPERATOR_KEEP_RUN_DIR, removed otherwise.
  const operatorLog = () => join(engine!.dir, "operator.log");
  const timed = async <T>(step: string, body: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await body();
    } catch (error) {
      if (operator) console.error(`${step} failed; the operator's last log lines:\n${logTail(operator.logFile, 40)}`);
      throw error;
    } finally {
      timings.push([step, Date.now() - started]);
      console.log(`pulumi step "${step}": ${Date.now() - started} ms`);
    }
  };
  const stackConfig = (queueList: WrittenQueueSpec[]) => ({
    "kubernetes:kubeconfig": { value: inject("kubeconfig") },
    "rabbitmq-platform:operator": { value: JSON.stringify({ namespace: OPERATOR_NAMESPACE, waitForReady: false, values: { fullnameOverride: RELEASE } }) },
    "rabbitmq-platform:namespace": { value: APP_NAMESPACE },
    "rabbitmq-platform:cluster": { value: JSON.stringify(cluster) },
    "rabbitmq-platform:externalCluster": { value: JSON.stringify({ uri: rabbit.managementUrl(), username: rabbit.admin.username }) },
    "rabbitmq-platform:externalClusterPassword": { value: rabbit.admin.password, secret: true },
    "rabbitmq-platform:vhosts": { value: JSON.stringify(vhosts) },
    "rabbitmq-platform:users": { value: JSON.stringify(users) },
    "rabbitmq-platform:permissions": { value: JSON.stringify(permissions) },
    "rabbitmq-platform:queues": { value: JSON.stringify(queueList) },
    "rabbitmq-platform:exchanges": { value: JSON.stringify(exchanges) },
    "rabbitmq-platform:bindings": { value: JSON.stringify(bindings) },
    "rabbitmq-platform:policies": { value: JSON.stringify(policies) },
  });

  beforeAll(async () => {
    clients = kubeClients(inject("kubeconfig"));
    engine = await timed("prepare engine (CLI and provider from the cache)", () => preparePulumiEngine("rabbitmq-platform"));
    // The operator as the Deployment would run it, watching only the stack's namespace (the
    // control plane is shared with other test files).
    operator = startProcess(
      "rabbit-operator",
      process.execPath,
      [
        "--import",
        "tsx",
        join(REPO_ROOT, "operator", "main.ts"),
        "--kubeconfig",
        inject("kubeconfig"),
        `--namespaces=${APP_NAMESPACE}`,
        "--metrics-port=0",
        "--health-port=0",
        "--topology-drift-period=5",
      ],
      { logFile: operatorLog(), cwd: REPO_ROOT },
    );
    stack = await timed("create stack", () =>
      engine!.inlineStack({ projectName: "rabbitmq-platform", stackName: "test", program: rabbitmqPlatform, config: stackConfig(queues) }),
    );
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    try {
      // A failed test must not leave the stack's objects behind on the shared control plane.
      if (stack && !destroyed)
        await stack.destroy({ onOutput: () => undefined }).catch((error: unknown) => console.warn(`cleanup destroy failed: ${String(error)}`));
    } finally {
      await operator?.stop();
      await engine?.cleanup();
      console.log(`pulumi step timings (ms):\n${timings.map(([step, ms]) => `  ${step.padEnd(60)} ${String(ms).padStart(7)}`).join("\n")}`);
    }
  }, STEP_TIMEOUT_MS);

  it(
    "up: installs the operator, declares the cluster, and the topology appears in RabbitMQ",
    async () => {
      const events: EngineEvent[] = [];
      const result = await timed("up (operator, cluster, topology)", () => stack!.up({ onOutput: () => undefined, onEvent: (event) => events.push(event) }));
      expect(result.summary.result).toBe("succeeded");
      console.log(`up, slowest steps:\n${slowestSteps(events, 8)}`);
      const outputs = Object.fromEntries(Object.entries(result.outputs).map(([key, output]) => [key, output.value as unknown]));
      expect(outputs).toMatchObject({
        namespace: APP_NAMESPACE,
        operatorNamespace: OPERATOR_NAMESPACE,
        clusterName: "demo",
        endpoints: { amqp: `amqp://demo.${APP_NAMESPACE}.svc.cluster.local:5672`, management: `http://demo.${APP_NAMESPACE}.svc.cluster.local:15672` },
        defaultUserSecret: "demo-default-user",
        topologyTarget: "connection Secret external-rabbitmq",
        userCredentialsSecrets: { "orders-service": "user-orders-service-user-credentials", ops: "user-ops-user-credentials" },
      });

      // In Pulumi's state every custom resource of ours depends on the operator's Helm release and
      // CRDs, so that destroy deletes it while the operator still runs; topology depends on its
      // cluster (here the connection Secret), a permission on its user and vhost.
      const state = (await stack!.exportStack()).deployment as { resources: StateResource[] };
      const urnOf = (type: string, name?: string) => {
        const found = state.resources.filter((resource) => resource.type === type && (name === undefined || resource.urn.endsWith(`::${name}`)));
        expect(found, `${type} ${name ?? ""}`).toHaveLength(name === undefined ? found.length : 1);
        return found.map((resource) => resource.urn);
      };
      const [release] = urnOf("kubernetes:helm.sh/v3:Release");
      const crds = urnOf("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition");
      expect(crds).toHaveLength(8);
      const ours = state.resources.filter((resource) => resource.type.startsWith("kubernetes:rabbit.operator.dev/"));
      expect(ours).toHaveLength(12);
      for (const resource of ours) expect(resource.dependencies, resource.urn).toEqual(expect.arrayContaining([release, ...crds]));
      const [connectionSecret] = urnOf("kubernetes:core/v1:Secret", "external-rabbitmq");
      for (const resource of ours.filter((r) => !r.type.endsWith(":RabbitCluster"))) expect(resource.dependencies, resource.urn).toContain(connectionSecret);
      const [permission] = urnOf("kubernetes:rabbit.operator.dev/v1alpha1:Permission", "permission-orders-service-orders");
      const permissionDependencies = state.resources.find((resource) => resource.urn === permission)!.dependencies;
      expect(permissionDependencies).toEqual(
        expect.arrayContaining([
          ...urnOf("kubernetes:rabbit.operator.dev/v1alpha1:User", "user-orders-service"),
          ...urnOf("kubernetes:rabbit.operator.dev/v1alpha1:Vhost", "vhost-orders"),
        ]),
      );

      // The operator builds the cluster's StatefulSets (it runs; the pods never do here).
      await waitFor("the operator to build demo's StatefulSets", async () => (await statefulSets(clients, APP_NAMESPACE)).length === 2, { timeoutMs: 60_000 });
      const sets = await statefulSets(clients, APP_NAMESPACE);
      expect(Object.fromEntries(sets.map((set) => [set.metadata!.name!, set.spec!.replicas]))).toEqual({ "demo-disc": 3, "demo-ram": 2 });

      // Pulumi waited for every topology object to be Ready (pulumi.com/waitFor): nothing to wait for here.
      const topology = await topologyObjects(clients, APP_NAMESPACE);
      expect(topology.map((object) => `${object.kind}/${object.metadata?.name}`).sort()).toEqual(
        [
          "Binding/binding-orders-orders-orders.created-order.created",
          "Exchange/exchange-orders-orders",
          "Permission/permission-ops-orders",
          "Permission/permission-orders-service-orders",
          "Policy/policy-orders-orders-limits",
          "Queue/queue-billing-invoices",
          "Queue/queue-orders-orders.created",
          "User/user-ops",
          "User/user-orders-service",
          "Vhost/vhost-billing",
          "Vhost/vhost-orders",
        ].sort(),
      );
      for (const object of topology) expect(readyOf(object), `${object.kind}/${object.metadata?.name}`).toBe("True");
      const credentials = await clients.core.readNamespacedSecret({ name: "user-orders-service-user-credentials", namespace: APP_NAMESPACE });
      expect(Object.keys(credentials.data ?? {}).sort()).toEqual(expect.arrayContaining(["password", "username"]));

      const management = rabbit.management();
      expect((await management.listVhosts()).map((vhost) => vhost.name).sort()).toEqual(["/", "billing", "orders"]);
      const rabbitUsers = await management.listUsers();
      expect(rabbitUsers.find((user) => user.name === "ops")?.tags).toEqual(["administrator"]);
      expect(rabbitUsers.map((user) => user.name)).toContain("orders-service");
      expect(await management.getPermission("orders", "orders-service")).toMatchObject({ configure: "", write: ".*", read: ".*" });
      expect(await management.getQueue("orders", "orders.created")).toMatchObject({ type: "quorum", durable: true });
      expect(await management.getQueue("billing", "invoices")).toMatchObject({ type: "classic", durable: true });
      expect(await management.getExchange("orders", "orders")).toMatchObject({ type: "topic" });
      expect(await management.listBindingsBetween("orders", "orders", "orders.created", "queue")).toEqual([
        expect.objectContaining({ routingKey: "order.created" }),
      ]);
      expect(await management.getPolicy("orders", "orders-limits")).toMatchObject({
        pattern: "^orders\\.",
        applyTo: "queues",
        definition: { "max-length": 10000 },
      });
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
    "a queue added to the configuration: one Queue object more, and the queue in RabbitMQ",
    async () => {
      await stack!.setConfig("rabbitmq-platform:queues", { value: JSON.stringify([...queues, addedQueue]) });
      const result = await timed("up (a queue added)", () => stack!.up({ onOutput: () => undefined }));
      // The Queue component and its custom resource; nothing else changes.
      expect(result.summary.resourceChanges).toMatchObject({ create: 2 });
      expect(changesBesides(result.summary.resourceChanges, "create")).toEqual([]);
      expect(await rabbit.management().getQueue("orders", "orders.cancelled")).toMatchObject({ type: "quorum" });
      const queue = (await clients.objects.read({
        apiVersion: API_VERSION,
        kind: "Queue",
        metadata: { name: "queue-orders-orders.cancelled", namespace: APP_NAMESPACE },
      })) as TopologyObject;
      expect(readyOf(queue)).toBe("True");
    },
    STEP_TIMEOUT_MS,
  );

  it(
    "destroy: nothing left in Kubernetes or RabbitMQ, nothing stuck on a finalizer",
    async () => {
      // What the topology objects hold until the operator has deleted them in RabbitMQ.
      const held = (await topologyObjects(clients, APP_NAMESPACE)).filter((object) => object.metadata?.finalizers?.includes(TOPOLOGY_FINALIZER));
      expect(held.length).toBe(12);
      const events: EngineEvent[] = [];
      const result = await timed("destroy", () => stack!.destroy({ onOutput: () => undefined, onEvent: (event) => events.push(event) }));
      destroyed = true;
      console.log(`destroy, slowest deletions:\n${slowestSteps(events, 8)}`);
      expect(result.summary.result).toBe("succeeded");

      // Pulumi returns once each object is gone, finalizers and garbage collection included.
      for (const namespace of [APP_NAMESPACE, OPERATOR_NAMESPACE]) {
        await expect(clients.core.readNamespace({ name: namespace }), namespace).rejects.toMatchObject({ code: 404 });
      }
      for (const kind of ["ClusterRole", "ClusterRoleBinding"]) {
        const found = await clients.objects.list("rbac.authorization.k8s.io/v1", kind);
        expect(
          found.items.filter((item) => item.metadata?.name?.startsWith(RELEASE)),
          kind,
        ).toEqual([]);
      }
      // The CRDs stay (RabbitOperator retains them by default: deleting a CRD deletes every
      // object of its kind in the cluster); Pulumi no longer manages them.
      const crd = await clients.extensions.readCustomResourceDefinition({ name: `queues.rabbit.operator.dev` });
      expect(crd.metadata?.deletionTimestamp).toBeUndefined();

      const management = rabbit.management();
      expect((await management.listVhosts()).map((vhost) => vhost.name)).toEqual(["/"]);
      expect((await management.listUsers()).map((user) => user.name)).toEqual([rabbit.admin.username]);
      expect(await management.listPolicies()).toEqual([]);
      expect(await management.listQueues()).toEqual([]);

      await stack!.workspace.removeStack("test");
    },
    STEP_TIMEOUT_MS,
  );
});

async function statefulSets(clients: KubeClients, namespace: string): Promise<V1StatefulSet[]> {
  const list = await clients.objects.list<V1StatefulSet>("apps/v1", "StatefulSet", namespace);
  return list.items;
}
