// The generated CRDs, the examples and every object the builders make, checked by a real API
// server: structural schemas, defaults, CEL rules, and the Kubernetes OpenAPI of the children.
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { API_VERSION, RabbitClusterSpec, withDefaults, type RabbitCluster } from "../../../operator/api/index.js";
import { buildChildren } from "../../../operator/resources/index.js";
import { apiErrorMessage, apply, createNamespace, installCrds, kubeClients, readManifests, type KubeClients } from "../../../dev/kube.js";
import { REPO_ROOT } from "../../../dev/paths.js";
import { readdir } from "node:fs/promises";

let clients: KubeClients;
let namespace: { name: string; remove(): Promise<void> };

beforeAll(async () => {
  clients = kubeClients(inject("kubeconfig"));
  await installCrds(clients);
  namespace = await createNamespace(clients, "crds");
});

afterAll(async () => {
  await namespace?.remove();
});

const queue = (spec: Record<string, unknown>, name = "q") => ({
  apiVersion: API_VERSION,
  kind: "Queue",
  metadata: { name },
  spec: { name: "jobs", rabbitmqClusterReference: { name: "demo" }, ...spec },
});

async function rejection(object: KubernetesObject): Promise<string> {
  try {
    await apply(clients, object, { namespace: namespace.name });
  } catch (error) {
    return apiErrorMessage(error);
  }
  throw new Error(`${object.kind}/${object.metadata?.name} was accepted`);
}

describe("examples/", async () => {
  const dir = join(REPO_ROOT, "examples");
  const files = (await readdir(dir)).filter((name) => name.endsWith(".yaml"));
  const docs = (await Promise.all(files.map(async (file) => (await readManifests(join(dir, file))).map((doc) => [file, doc] as const)))).flat();

  it.each(docs.map(([file, doc]) => [`${file}: ${doc.kind}/${doc.metadata?.name}`, doc]))("%s passes a server-side dry run", async (_name, doc) => {
    await apply(clients, doc, { namespace: namespace.name, dryRun: true });
  });
});

describe("defaults", () => {
  it("fills in nested defaults the way the operator's types expect", async () => {
    const created = (await apply(clients, { apiVersion: API_VERSION, kind: "RabbitCluster", metadata: { name: "defaults" }, spec: {} } as KubernetesObject, {
      namespace: namespace.name,
    })) as RabbitCluster;
    expect(created.spec).toEqual(withDefaults(RabbitClusterSpec, {}));
    expect(created.spec.nodes).toEqual({ disc: 1, ram: 0 });
    expect(created.spec.persistence).toEqual({ storage: "10Gi", whenDeleted: "Retain" });
  });
});

describe("CEL rules", () => {
  it("require exactly one of name and connectionSecret", async () => {
    expect(await rejection(queue({ rabbitmqClusterReference: { name: "demo", connectionSecret: { name: "s" } } }, "both"))).toContain(
      "exactly one of name or connectionSecret must be set",
    );
    expect(await rejection(queue({ rabbitmqClusterReference: {} }, "neither"))).toContain("exactly one of name or connectionSecret must be set");
  });

  it("refuse RabbitMQ's reserved amq. prefix on queue and exchange names (RabbitMQ answers only 'Access refused.'), not on a binding's source", async () => {
    const reserved = 'name cannot start with "amq.": RabbitMQ reserves that prefix for its own exchanges and queues';
    expect(await rejection(queue({ name: "amq.jobs" }, "reserved"))).toContain(reserved);
    const exchange = {
      apiVersion: API_VERSION,
      kind: "Exchange",
      metadata: { name: "reserved" },
      spec: { name: "amq.events", type: "topic", rabbitmqClusterReference: { name: "demo" } },
    };
    expect(await rejection(exchange)).toContain(reserved);
    // Names that merely contain it, and bindings from RabbitMQ's own exchanges, are fine.
    await apply(clients, queue({ name: "jobs.amq.x" }, "contains-amq"), { namespace: namespace.name });
    const binding: KubernetesObject & { spec: Record<string, unknown> } = {
      apiVersion: API_VERSION,
      kind: "Binding",
      metadata: { name: "from-amq-topic" },
      spec: { source: "amq.topic", destination: "jobs", routingKey: "#", rabbitmqClusterReference: { name: "demo" } },
    };
    await apply(clients, binding, { namespace: namespace.name });
  });

  it("keep quorum queues durable", async () => {
    expect(await rejection(queue({ type: "quorum", durable: false }, "transient-quorum"))).toContain("quorum queues and streams must be durable");
  });

  it("refuse x-max-priority on quorum queues and streams, and take it on classic queues", async () => {
    const quorum = await rejection(queue({ type: "quorum", arguments: { "x-max-priority": 5 } }, "prioritised-quorum"));
    expect(quorum).toContain("quorum queues and streams take no x-max-priority");
    expect(quorum).toContain("RabbitMQ 4.0");
    expect(await rejection(queue({ type: "stream", arguments: { "x-max-priority": 5 } }, "prioritised-stream"))).toContain("take no x-max-priority");
    await apply(clients, queue({ type: "classic", arguments: { "x-max-priority": 5 } }, "prioritised-classic"), { namespace: namespace.name });
    await apply(clients, queue({ type: "quorum", arguments: { "x-delivery-limit": 5 } }, "limited-quorum"), { namespace: namespace.name });
  });

  it("make identity fields immutable", async () => {
    await apply(clients, queue({ type: "quorum" }, "immutable"), { namespace: namespace.name });
    expect(await rejection(queue({ type: "classic" }, "immutable"))).toContain("type is immutable");
    expect(await rejection(queue({ type: "quorum", name: "other" }, "immutable"))).toContain("name is immutable");
    expect(await rejection(queue({ type: "quorum", vhost: "other" }, "immutable"))).toContain("vhost is immutable");
    expect(await rejection(queue({ type: "quorum", rabbitmqClusterReference: { name: "other" } }, "immutable"))).toContain(
      "rabbitmqClusterReference is immutable",
    );
    // A mutable field still changes.
    await apply(clients, queue({ type: "quorum", arguments: { "x-delivery-limit": 3 } }, "immutable"), { namespace: namespace.name });
  });

  it("make optional identity fields immutable too", async () => {
    const user = (spec: Record<string, unknown>) => ({
      apiVersion: API_VERSION,
      kind: "User",
      metadata: { name: "u" },
      spec: { rabbitmqClusterReference: { name: "demo" }, ...spec },
    });
    await apply(clients, user({ username: "alice" }), { namespace: namespace.name });
    expect(await rejection(user({ username: "bob" }))).toContain("username is immutable");
    expect(await rejection(user({}))).toContain("username is immutable");

    const binding = (spec: Record<string, unknown>) => ({
      apiVersion: API_VERSION,
      kind: "Binding",
      metadata: { name: "b" },
      spec: { source: "ex", destination: "q", rabbitmqClusterReference: { name: "demo" }, ...spec },
    });
    await apply(clients, binding({ arguments: { "x-match": "all" } }), { namespace: namespace.name });
    expect(await rejection(binding({ arguments: { "x-match": "any" } }))).toContain("arguments is immutable");
    expect(await rejection(binding({ arguments: { "x-match": "all" }, routingKey: "k" }))).toContain("routingKey is immutable");
  });

  it("require one user reference on a Permission", async () => {
    const permission = {
      apiVersion: API_VERSION,
      kind: "Permission",
      metadata: { name: "p" },
      spec: { vhost: "/", user: "a", userReference: { name: "a" }, rabbitmqClusterReference: { name: "demo" } },
    };
    expect(await rejection(permission)).toContain("exactly one of user or userReference must be set");
  });

  it("keep at least one disc node", async () => {
    const cluster = { apiVersion: API_VERSION, kind: "RabbitCluster", metadata: { name: "empty" }, spec: { nodes: { disc: 0, ram: 2 } } };
    expect(await rejection(cluster)).toMatch(/spec.nodes.disc: Invalid value: 0: spec.nodes.disc in body should be greater than or equal to 1/);
  });
});

describe("builders", () => {
  it("produce objects the API server accepts, for the example cluster", async () => {
    const [example] = (await readManifests(join(REPO_ROOT, "examples", "rabbit-cluster.yaml"))) as unknown as RabbitCluster[];
    const cluster: RabbitCluster = {
      ...example!,
      metadata: { ...example!.metadata, namespace: namespace.name, uid: "6f1c2f4e-0000-4000-8000-000000000001" },
      spec: withDefaults(RabbitClusterSpec, example!.spec),
    };
    const children = buildChildren(cluster, {
      clusterDomain: "cluster.local",
      erlangCookie: "cookie",
      defaultUser: { username: "user", password: "password" },
    });
    for (const child of children) {
      await apply(clients, child, { dryRun: true });
    }
    expect(children.map((c) => c.kind)).toContain("StatefulSet");
  });
});
