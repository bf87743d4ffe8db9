import { describe, expect, it } from "vitest";
import { API_VERSION } from "../../../operator/api/index.js";
import type { TopologyResource } from "../../../operator/controllers/topology/adapter.js";
import type { BindingInfo, ExchangeDefinition, NodeDetails, PermissionInfo, QueueInfo } from "../../../operator/rabbitmq/management.js";
import { BUILT_IN, Declarations, UNDECLARED, UNKNOWN } from "../../../plugin/ownership.js";
import { parse as parseYaml } from "yaml";
import { age, render, table } from "../../../plugin/output.js";
import {
  QUEUE_COLUMNS,
  bindingRows,
  clusterColumns,
  clusterRow,
  exchangeRows,
  nodeRows,
  permissionRows,
  podOfNode,
  podRow,
  queueRows,
  quorumCritical,
  summarizeConditions,
} from "../../../plugin/views.js";
import { referenceKey } from "../../../operator/controllers/topology/connection.js";
import { cluster } from "../fixtures.js";

const resource = (
  kind: string,
  name: string,
  spec: Record<string, unknown>,
  extra: Partial<TopologyResource> = {},
  namespace = "messaging",
): TopologyResource =>
  ({
    apiVersion: API_VERSION,
    kind,
    metadata: { name, namespace },
    spec: { rabbitmqClusterReference: { name: "demo" }, deletionPolicy: "delete", ...spec },
    ...extra,
  }) as TopologyResource;

const demo = cluster({
  nodes: { disc: 3, ram: 2 },
  policies: [{ name: "limit", vhost: "/", pattern: "^b", applyTo: "queues", priority: 1, definition: { "max-length": 1 } }],
});
/** The key the controllers give a reference to RabbitCluster messaging/demo. */
const DEMO_KEY = referenceKey({ name: "demo" }, "messaging");

function declarations(resources: TopologyResource[]): Declarations {
  return new Declarations({ referenceKey: DEMO_KEY, resources, cluster: demo, defaultUser: "default_user_x" });
}

const queue = (vhost: string, name: string, fields: Partial<QueueInfo> = {}): QueueInfo => ({
  vhost,
  name,
  type: "classic",
  durable: true,
  autoDelete: false,
  arguments: {},
  ...fields,
});

describe("which resource declares each object (DECLARED BY)", () => {
  it("names the Queue resource of the same cluster, and marks queues no resource declares, or a resource of another cluster declares, undeclared", () => {
    const d = declarations([
      resource("Queue", "tasks", { name: "tasks", vhost: "shop" }),
      resource("Queue", "elsewhere", { name: "orphan", vhost: "shop", rabbitmqClusterReference: { name: "other" } }),
      resource("Queue", "from-other-ns", { name: "remote", vhost: "shop", rabbitmqClusterReference: { name: "demo", namespace: "messaging" } }, {}, "team-a"),
    ]);
    const rows = queueRows([queue("shop", "tasks"), queue("shop", "orphan"), queue("shop", "remote"), queue("/", "tasks")], d);
    expect(rows.map((r) => [r.vhost, r.name, r.declaredBy])).toEqual([
      ["/", "tasks", UNDECLARED],
      ["shop", "orphan", UNDECLARED],
      ["shop", "remote", "Queue/team-a/from-other-ns"],
      ["shop", "tasks", "Queue/messaging/tasks"],
    ]);
  });

  it("says unknown, not undeclared, when the resources of the listed kind could not be read", () => {
    const unknown = new Declarations({ referenceKey: DEMO_KEY, resources: [], cluster: demo, defaultUser: "default_user_x", resourcesUnknown: true });
    expect(queueRows([queue("/", "q"), queue("/", "r")], unknown).map((r) => r.declaredBy)).toEqual([UNKNOWN, UNKNOWN]);
    expect(unknown.of("user", "default_user_x")).toBe("RabbitCluster/messaging/demo");
    expect(unknown.of("exchange", "/\u0000amq.topic", true)).toBe(BUILT_IN);
  });

  it("gives the cluster's policies, default user and its permissions to the RabbitCluster, and the default user's permissions in a declared vhost to that Vhost", () => {
    const d = declarations([
      resource("Vhost", "shop", { name: "shop" }),
      resource("Permission", "app", { vhost: "shop", userReference: { name: "app" } }, { status: { username: "app-user" } } as Partial<TopologyResource>),
    ]);
    const permissions: PermissionInfo[] = [
      { vhost: "/", user: "default_user_x", configure: ".*", write: ".*", read: ".*" },
      { vhost: "shop", user: "default_user_x", configure: ".*", write: ".*", read: ".*" },
      { vhost: "shop", user: "app-user", configure: "", write: ".*", read: ".*" },
      { vhost: "shop", user: "someone", configure: "", write: "", read: "" },
    ];
    expect(permissionRows(permissions, d).map((r) => `${r.vhost} ${r.user} ${r.declaredBy}`)).toEqual([
      "/ default_user_x RabbitCluster/messaging/demo",
      "shop app-user Permission/messaging/app",
      "shop default_user_x Vhost/messaging/shop",
      `shop someone ${UNDECLARED}`,
    ]);
    expect(d.of("policy", "/\u0000limit")).toBe("RabbitCluster/messaging/demo");
    expect(d.of("user", "default_user_x")).toBe("RabbitCluster/messaging/demo");
  });

  it("marks RabbitMQ's own exchanges and the default exchange's implicit bindings built-in, and matches bindings by routing key and arguments", () => {
    const d = declarations([
      resource("Exchange", "events", { name: "events", vhost: "shop", type: "topic" }),
      resource("Binding", "b", {
        vhost: "shop",
        source: "events",
        destination: "tasks",
        destinationType: "queue",
        routingKey: "order.*",
        arguments: { "x-match": "all" },
      }),
    ]);
    const exchanges: ExchangeDefinition[] = ["", "amq.topic", "events", "hand-made"].map((name) => ({
      name,
      vhost: "shop",
      type: "topic",
      durable: true,
      autoDelete: false,
      internal: false,
      arguments: {},
    }));
    expect(exchangeRows(exchanges, d).map((r) => r.declaredBy)).toEqual([BUILT_IN, BUILT_IN, "Exchange/messaging/events", UNDECLARED]);
    const binding = (fields: Partial<BindingInfo>): BindingInfo => ({
      vhost: "shop",
      source: "events",
      destination: "tasks",
      destinationType: "queue",
      routingKey: "order.*",
      arguments: { "x-match": "all" },
      propertiesKey: "k",
      ...fields,
    });
    expect(
      bindingRows(
        [binding({}), binding({ routingKey: "other" }), binding({ arguments: {} }), binding({ source: "", routingKey: "tasks", arguments: {} })],
        d,
      ).map((r) => [r.source, r.routingKey, r.declaredBy]),
    ).toEqual([
      ["", "tasks", BUILT_IN],
      ["events", "order.*", "Binding/messaging/b"],
      ["events", "order.*", UNDECLARED],
      ["events", "other", UNDECLARED],
    ]);
  });
});

describe("cluster and node views", () => {
  it("counts running disc and ram nodes against the desired ones and names the conditions that do not hold with their reason", () => {
    const stored = {
      ...demo,
      metadata: { ...demo.metadata, creationTimestamp: new Date(1_000_000).toISOString() },
      status: {
        nodes: [
          { name: "rabbit@demo-disc-0.x", type: "disc" as const, running: true },
          { name: "rabbit@demo-disc-1.x", type: "disc" as const, running: false },
          { name: "rabbit@demo-ram-0.x", type: "ram" as const, running: true },
        ],
        conditions: [
          { type: "Ready", status: "False" as const, reason: "NotAllPodsReady", message: "", lastTransitionTime: "" },
          { type: "ClusterAvailable", status: "True" as const, reason: "Available", message: "", lastTransitionTime: "" },
        ],
        rabbitmq: { version: "4.0.5", metadataStore: "mnesia" as const },
      },
    };
    const row = clusterRow(stored, 1_000_000 + 3 * 3600_000);
    expect(row).toMatchObject({ name: "demo", disc: { running: 1, desired: 3 }, ram: { running: 1, desired: 2 }, ready: "False", version: "4.0.5", age: "3h" });
    expect(row.conditions).toBe("Ready=False(NotAllPodsReady),ClusterAvailable");
    expect(summarizeConditions([])).toBe("");
  });

  it("names a node's pod from its Erlang name and reports alarms and partitions per node", () => {
    expect(podOfNode("rabbit@shop-ram-1.shop-nodes.e2e.svc.cluster.local")).toBe("shop-ram-1");
    const node = (name: string, fields: Partial<NodeDetails> = {}): NodeDetails => ({
      name,
      type: "disc",
      running: true,
      memoryAlarm: false,
      diskFreeAlarm: false,
      partitions: [],
      ...fields,
    });
    const rows = nodeRows(
      [node("rabbit@shop-disc-1.n", { memoryAlarm: true, partitions: ["rabbit@shop-disc-0.n"] }), node("rabbit@shop-disc-0.n")],
      new Map([["shop-disc-0", true]]),
    );
    expect(rows.map((r) => [r.node, r.pod, r.podReady, r.memoryAlarm, r.partitions])).toEqual([
      ["rabbit@shop-disc-0.n", "shop-disc-0", true, false, []],
      ["rabbit@shop-disc-1.n", undefined, undefined, true, ["rabbit@shop-disc-0.n"]],
    ]);
  });

  it("says what holds a pod that does not run: an init container's image pull rather than the main container's PodInitializing", () => {
    const waiting = (reason: string) => ({ name: "c", image: "i", imageID: "", ready: false, restartCount: 0, state: { waiting: { reason } } });
    const pod = {
      metadata: { name: "demo-disc-0", labels: { "rabbit.operator.dev/node-type": "disc" } },
      status: { phase: "Pending", initContainerStatuses: [waiting("ImagePullBackOff")], containerStatuses: [waiting("PodInitializing")] },
    };
    expect(podRow(pod)).toEqual({ pod: "demo-disc-0", type: "disc", phase: "Pending", ready: false, waiting: "ImagePullBackOff", restarts: 0 });
    expect(podRow({ ...pod, status: { ...pod.status, initContainerStatuses: [] } }).waiting).toBe("PodInitializing");
  });

  it("finds the queues that one more lost member would leave without a majority, and the nodes whose loss would", () => {
    const members = ["rabbit@a-disc-0.n", "rabbit@a-disc-1.n", "rabbit@a-disc-2.n"];
    const rows = quorumCritical([
      queue("/", "healthy", { type: "quorum", members, online: members }),
      queue("/", "one-down", { type: "quorum", members, online: members.slice(0, 2) }),
      queue("/", "single", { type: "stream", members: members.slice(0, 1), online: members.slice(0, 1) }),
      queue("/", "five-one-down", { type: "quorum", members: [...members, "rabbit@a-ram-0.n", "rabbit@a-ram-1.n"], online: [...members, "rabbit@a-ram-0.n"] }),
      queue("/", "classic", { type: "classic" }),
    ]);
    expect(rows.map((r) => [r.queue, `${r.online}/${r.members}`, r.criticalNodes])).toEqual([
      ["one-down", "2/3", ["a-disc-0", "a-disc-1"]],
      ["single", "1/1", ["a-disc-0"]],
    ]);
  });
});

describe("output", () => {
  it("aligns columns two spaces apart with upper-case headers and shows absent values as -", () => {
    const rows = queueRows([queue("/", "a-long-name", { messagesReady: 12 }), queue("shop", "b")], declarations([]));
    expect(table(QUEUE_COLUMNS.slice(0, 5), rows)).toBe(
      ["VHOST  NAME         TYPE     DURABLE  READY", "/      a-long-name  classic  true     12", "shop   b            classic  true     -", ""].join("\n"),
    );
  });

  it("prints the same rows as JSON and YAML, and a NAMESPACE column first for every namespace's clusters", () => {
    const rows = queueRows([queue("/", "a", { messagesReady: 1 })], declarations([]));
    expect(JSON.parse(render("json", QUEUE_COLUMNS, rows))).toEqual(rows);
    expect(parseYaml(render("yaml", QUEUE_COLUMNS, rows))).toEqual(rows);
    const clusterTable = render("table", clusterColumns(true), [clusterRow(demo, 0)]);
    expect(clusterTable.split("\n")[0]).toMatch(/^NAMESPACE +NAME +DISC +RAM +READY +VERSION +CONDITIONS +AGE$/);
    expect(clusterTable.split("\n")[1]).toMatch(/^messaging +demo +0\/3 +0\/2 +Unknown +- +- +-$/);
  });

  it("formats ages as kubectl does", () => {
    expect([59, 600, 7200, 3 * 86400].map((s) => age(new Date(0), s * 1000))).toEqual(["59s", "10m", "2h", "3d"]);
  });
});
