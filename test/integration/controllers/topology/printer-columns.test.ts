// What `kubectl get` shows of every kind: the API server prints our objects itself (the Table
// kubectl asks for, from the CRDs' additionalPrinterColumns). One object of each kind, the
// topology objects declared by the controllers in a real RabbitMQ and Ready; then for every kind
// of ALL_KINDS (so that a new kind or column cannot go unchecked) the Table's columns are the
// kind's printer columns and each cell holds what an administrator looks for, and kubectl prints
// those cells: `-o wide` all of them, the default view those of priority 0.
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ALL_KINDS, API_VERSION, GROUP, VERSION, type KindDefinition } from "../../../../operator/api/index.js";
import { getJson } from "../../../../operator/runtime/get-json.js";
import { apply, kubectl } from "../../../../dev/kube.js";
import { useRabbitCluster } from "../../../harness/rabbitmq/use-rabbit-cluster.js";
import { CLUSTER, startTopologyEnvironment, topologyObject, waitReady, type TopologyEnvironment, type TopologyObject } from "./support.js";

const rabbit = useRabbitCluster({ name: "printer-columns", disc: 1 });
let env: TopologyEnvironment;
let ns: string;

/** The Accept header kubectl sends: the API server answers with a Table of the printer columns. */
const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io";

interface Table {
  kind: string;
  columnDefinitions: { name: string; type: string; format: string; description: string; priority: number }[];
  rows: { cells: unknown[] }[];
}

/** Any age kubectl prints ("7s", "2m3s", "5h", "3d"). */
const AGE = expect.stringMatching(/^[0-9]+[smhdy]/);
const VHOST = "printed-vhost";
const USERNAME = "printed-reader";
const EXTERNAL_SECRET = "external-rabbit";

/** A topology object declared in RabbitMQ through the test's RabbitCluster: the columns every topology kind ends with. */
const declared = { Cluster: CLUSTER, Connection: null, Ready: "True", Reason: "Declared", Age: AGE };

/**
 * Per kind, per object name, the cell expected under each printer column (null: no value, which
 * kubectl prints as nothing). Built after the RabbitMQ cluster started (the admin user's name).
 */
function expectedCells(): Record<string, Record<string, Record<string, unknown>>> {
  return {
    RabbitCluster: {
      // The one support.ts makes, never reconciled here (no RabbitCluster controller runs): no status.
      [CLUSTER]: { Disc: 2, Ram: 1, Ready: null, Reason: null, Version: null, Image: "localhost/rabbit-operator/rabbitmq:3.10.8", Age: AGE },
      // Defaults from the CRD, status written through the status subresource as the controller would.
      printed: { Disc: 1, Ram: 0, Ready: "True", Reason: "ClusterReady", Version: "4.0.5", Image: "rabbitmq:4.0-management", Age: AGE },
    },
    Vhost: { "vhost-object": { Vhost: VHOST, ...declared } },
    User: { reader: { Username: USERNAME, Tags: '["management","monitoring"]', ...declared } },
    Permission: {
      // Given by userReference: the User object's name in RabbitMQ (not the object's name), from the status.
      "reader-in-vhost": { User: USERNAME, Vhost: VHOST, ...declared },
      "admin-in-vhost": { User: rabbit.admin.username, Vhost: VHOST, ...declared },
    },
    Queue: {
      orders: { Queue: "printed.orders", Type: "quorum", Vhost: VHOST, ...declared },
      // An external cluster, named by a connection Secret: no RabbitCluster, the Secret instead.
      "external-orders": { Queue: "printed.external", Type: "classic", Vhost: "/", ...declared, Cluster: null, Connection: EXTERNAL_SECRET },
    },
    Exchange: { events: { Exchange: "printed.events", Type: "topic", Vhost: VHOST, ...declared } },
    Binding: { "events-to-orders": { Source: "printed.events", Destination: "printed.orders", Key: "order.#", ...declared } },
    Policy: { "printed-policy": { Policy: "printed-policy", Pattern: "^printed\\.", Vhost: VHOST, ...declared } },
  };
}

const TOPOLOGY_OBJECTS: [kind: string, name: string, spec: Record<string, unknown>][] = [
  ["Vhost", "vhost-object", { name: VHOST }],
  ["User", "reader", { username: USERNAME, tags: ["management", "monitoring"] }],
  ["Permission", "reader-in-vhost", { vhost: VHOST, userReference: { name: "reader" }, permissions: { configure: "", write: ".*", read: ".*" } }],
  ["Queue", "orders", { name: "printed.orders", vhost: VHOST, type: "quorum" }],
  ["Exchange", "events", { name: "printed.events", vhost: VHOST, type: "topic" }],
  ["Binding", "events-to-orders", { vhost: VHOST, source: "printed.events", destination: "printed.orders", destinationType: "queue", routingKey: "order.#" }],
  ["Policy", "printed-policy", { name: "printed-policy", vhost: VHOST, pattern: "^printed\\.", applyTo: "queues", definition: { "max-length": 1000 } }],
];

beforeAll(async () => {
  env = await startTopologyEnvironment(inject("kubeconfig"), rabbit, { prefix: "columns" });
  ns = env.namespaces[0]!;
  const objects: TopologyObject[] = [
    ...TOPOLOGY_OBJECTS.map(([kind, name, spec]) => topologyObject(kind, name, ns, spec)),
    topologyObject("Permission", "admin-in-vhost", ns, {
      vhost: VHOST,
      user: rabbit.admin.username,
      permissions: { configure: ".*", write: ".*", read: ".*" },
    }),
    {
      ...topologyObject("Queue", "external-orders", ns, {}),
      spec: { name: "printed.external", rabbitmqClusterReference: { connectionSecret: { name: EXTERNAL_SECRET } } },
    },
  ];
  await env.clients.core.createNamespacedSecret({
    namespace: ns,
    body: {
      metadata: { name: EXTERNAL_SECRET },
      stringData: { uri: rabbit.managementUrl(), username: rabbit.admin.username, password: rabbit.admin.password },
    },
  });
  for (const object of objects) await apply(env.clients, object);
  await Promise.all(objects.map((object) => waitReady(env.clients, object.kind!, object.metadata!.name!, ns)));

  // A RabbitCluster with its status as the RabbitCluster controller writes it (no cluster runs):
  // another condition first, so that the columns pick the Ready one.
  await apply(env.clients, { apiVersion: API_VERSION, kind: "RabbitCluster", metadata: { name: "printed", namespace: ns }, spec: {} } as KubernetesObject);
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const status = {
    observedGeneration: 1,
    conditions: [
      { type: "ClusterAvailable", status: "True", reason: "ClusterAvailable", message: "1 of 1 nodes running", lastTransitionTime: now },
      { type: "Ready", status: "True", reason: "ClusterReady", message: "1 disc and 0 ram nodes running", lastTransitionTime: now },
    ],
    rabbitmq: { version: "4.0.5", metadataStore: "mnesia" },
  };
  await kubectl(env.clients, ["patch", "rabbitcluster", "printed", "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
}, 180_000);

afterAll(async () => {
  await env?.stop();
}, 120_000);

async function table(kind: KindDefinition): Promise<Table> {
  return (await getJson(env.clients.kc, `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${kind.plural}`, { accept: TABLE })) as Table;
}

/** Each row of the table by the object's name: its cells by column name. */
function cellsByName(result: Table): Record<string, Record<string, unknown>> {
  const names = result.columnDefinitions.map((column) => column.name);
  return Object.fromEntries(
    result.rows.map((row) => [row.cells[0] as string, Object.fromEntries(names.slice(1).map((name, index) => [name, row.cells[index + 1]]))]),
  );
}

/**
 * kubectl's text, each line cut into its cells where the header's columns start (an empty cell is
 * printed as nothing).
 */
function lines(text: string): string[][] {
  const [header, ...rows] = text.trimEnd().split("\n");
  const starts = [...header!.matchAll(/\S+/g)].map((match) => match.index);
  return [header!, ...rows].map((line) => starts.map((start, index) => line.slice(start, starts[index + 1]).trim()));
}

describe("kubectl get: every kind's printer columns", () => {
  it("every kind has an object and an expected cell for each of its printer columns, no more (a new kind or column must be added here)", () => {
    const expected = expectedCells();
    expect(Object.keys(expected).sort()).toEqual(ALL_KINDS.map((kind) => kind.kind).sort());
    for (const kind of ALL_KINDS) {
      const objects = Object.values(expected[kind.kind]!);
      expect(objects.length, kind.kind).toBeGreaterThan(0);
      for (const cells of objects) expect(Object.keys(cells), kind.kind).toEqual(kind.printerColumns.map((column) => column.name));
    }
  });

  it.each(ALL_KINDS.map((kind) => [kind.kind, kind] as const))(
    "%s: the API server's Table has NAME and exactly the kind's printer columns (type, priority, description), and every object's cells hold the expected values",
    async (_, kind) => {
      const result = await table(kind);
      expect(result.kind).toBe("Table");
      expect(result.columnDefinitions.map(({ name, type, priority, description }) => ({ name, type, priority, description }))).toEqual([
        expect.objectContaining({ name: "Name", type: "string", priority: 0 }),
        ...kind.printerColumns.map((column) => ({ name: column.name, type: column.type, priority: column.priority ?? 0, description: column.description })),
      ]);
      expect(cellsByName(result)).toEqual(expectedCells()[kind.kind]);
    },
  );

  it.each(ALL_KINDS.map((kind) => [kind.kind, kind] as const))(
    "%s: kubectl get -o wide prints every column with the Table's cells; without -o wide, only the priority 0 columns",
    async (_, kind) => {
      const columns = kind.printerColumns;
      const header = ["NAME", ...columns.map((column) => column.name.toUpperCase())];
      // An age moves between two readings: compared as "<age>".
      const printed = (names: string[]) => (row: unknown[]) => row.map((cell, index) => (names[index] === "AGE" ? "<age>" : cell === null ? "" : String(cell)));
      const expectedRows = Object.entries(expectedCells()[kind.kind]!)
        .map(([name, cells]) => printed(header)([name, ...columns.map((column) => cells[column.name])]))
        .sort();

      // By plural.group: a bare "bindings" is the core API's Binding (create only: listing it is MethodNotAllowed).
      const [wideHeader, ...wideRows] = lines(await kubectl(env.clients, ["get", `${kind.plural}.${GROUP}`, "-n", ns, "-o", "wide"]));
      expect(wideHeader).toEqual(header);
      expect(wideRows.map(printed(header)).sort()).toEqual(expectedRows);

      const shown = (row: string[]) => row.filter((_, index) => index === 0 || (columns[index - 1]!.priority ?? 0) === 0);
      const [defaultHeader, ...defaultRows] = lines(await kubectl(env.clients, ["get", `${kind.plural}.${GROUP}`, "-n", ns]));
      expect(defaultHeader).toEqual(shown(header));
      expect(defaultRows.map(printed(defaultHeader!)).sort()).toEqual(expectedRows.map(shown).sort());
    },
  );

  it("a Permission given by userReference shows under USER the referenced User's name in RabbitMQ (not the User object's name), in kubectl get's default view", async () => {
    const [header, ...rows] = lines(await kubectl(env.clients, ["get", `permissions.${GROUP}`, "-n", ns, "reader-in-vhost"]));
    expect(header!.slice(0, 3)).toEqual(["NAME", "USER", "VHOST"]);
    expect(rows.map((row) => row.slice(0, 3))).toEqual([["reader-in-vhost", USERNAME, VHOST]]);
    expect(USERNAME).not.toBe("reader");
  });
});
