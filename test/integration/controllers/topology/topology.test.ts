// The topology controllers against a real API server and a real RabbitMQ cluster (2 disc + 1 ram
// local processes): every kind created, updated, deleted and retained; drift repaired from the
// bulk listing with zero writes when in sync; an external cluster through a connection Secret;
// password rotation; every kind of bad input becoming Ready=False with RabbitMQ's words, retried
// with backoff and recovering once the input is fixed.
import { connect } from "amqplib";
import { PatchStrategy, setHeaderOptions, type KubernetesObject, type V1Secret } from "@kubernetes/client-node";
import { RESOURCES } from "../../../../operator/runtime/resource-types.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ALLOWED_NAMESPACES_ANNOTATION, TOPOLOGY_FINALIZER } from "../../../../operator/controllers/topology/index.js";
import { passwordMatchesHash } from "../../../../operator/controllers/topology/kinds/user-credentials.js";
import { ManagementApiError, ManagementClient } from "../../../../operator/rabbitmq/management.js";
import { waitFor } from "../../../../dev/exec.js";
import { freePort } from "../../../../dev/ports.js";
import { apply, kubectl } from "../../../../dev/kube.js";
import { useRabbitCluster } from "../../../harness/rabbitmq/use-rabbit-cluster.js";
import { SecretLeakScanner, eventTexts, logTexts } from "../../../support/secret-leaks.js";
import {
  CLUSTER,
  managementWrites,
  read,
  readyOf,
  remove,
  startTopologyEnvironment,
  topologyObject,
  waitCondition,
  waitReady,
  writesIn,
  type TopologyEnvironment,
} from "./support.js";
import { SHARED_SNAPSHOT_MAX_AGE_MS } from "../../../../operator/controllers/topology/shared-snapshots.js";

const rabbit = useRabbitCluster({ name: "topology", disc: 2, ram: 1 });
let env: TopologyEnvironment;
let ns: string;
let admin: ManagementClient;
/** Every password the tests made, read or imported: none may ever show in a log line, Event or status. */
const secrets = new SecretLeakScanner();

beforeAll(async () => {
  env = await startTopologyEnvironment(inject("kubeconfig"), rabbit, { namespaces: 2, driftPeriodMs: 2_000 });
  ns = env.namespaces[0]!;
  admin = rabbit.management();
  secrets.add("the cluster's default user", rabbit.admin.password);
}, 120_000);

afterAll(async () => {
  await env?.stop();
}, 120_000);

const create = (kind: string, name: string, spec: Record<string, unknown>, namespace = ns) => apply(env.clients, topologyObject(kind, name, namespace, spec));
/** Server-side apply of any object, as kubectl would. */
const put = (object: { apiVersion?: string; kind?: string; metadata?: object; spec: Record<string, unknown> }) =>
  apply(env.clients, object as KubernetesObject);
const ready = (kind: string, name: string, namespace = ns) => waitReady(env.clients, kind, name, namespace);
const gone = (kind: string, name: string, namespace = ns) => remove(env.clients, kind, name, namespace);

/** Logs in to the management API as this user: true when the password is right. */
async function canLogIn(username: string, password: string): Promise<boolean> {
  try {
    await new ManagementClient({ url: rabbit.managementUrl(), username, password }, { retry: { maxAttempts: 1 } }).whoami();
    return true;
  } catch (error) {
    if (error instanceof ManagementApiError && error.status === 401) return false;
    throw error;
  }
}

/** Opens (and closes) an AMQP connection: true when RabbitMQ lets it in. */
async function canConnect(url: string): Promise<boolean> {
  try {
    const connection = await connect(url);
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

async function secretData(name: string, namespace = ns): Promise<Record<string, string> | undefined> {
  try {
    const secret = await env.clients.core.readNamespacedSecret({ name, namespace });
    secrets.addSecretData(name, secret.data, ["password"]);
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, "base64").toString("utf8")]));
  } catch {
    return undefined;
  }
}

describe("every kind: create, update, delete, retain", () => {
  it("Vhost: tags, tracing and limits; updated in place; deleted; retained", async () => {
    await create("Vhost", "vh-a", { name: "vh-a", tags: ["b", "a"], tracing: true, limits: { connections: 10, queues: 5 } });
    await create("Vhost", "vh-keep", { name: "vh-keep", deletionPolicy: "retain" });
    const vhost = await ready("Vhost", "vh-a");
    expect(vhost.metadata?.finalizers).toContain(TOPOLOGY_FINALIZER);
    expect(readyOf(vhost)).toMatchObject({ reason: "Declared", observedGeneration: 1 });
    expect(await admin.getVhost("vh-a")).toMatchObject({ tags: ["a", "b"], tracing: true });
    expect(await admin.getVhostLimits("vh-a")).toEqual({ "max-connections": 10, "max-queues": 5 });

    await create("Vhost", "vh-a", { name: "vh-a", tags: ["c"], limits: { queues: 7 } });
    await waitFor("vh-a generation 2 declared", async () => (await read(env.clients, "Vhost", "vh-a", ns))?.status?.observedGeneration === 2, {
      timeoutMs: 30_000,
    });
    expect(await admin.getVhost("vh-a")).toMatchObject({ tags: ["c"], tracing: false });
    // A limit the spec no longer names is cleared.
    expect(await admin.getVhostLimits("vh-a")).toEqual({ "max-queues": 7 });

    await ready("Vhost", "vh-keep");
    await gone("Vhost", "vh-a");
    await gone("Vhost", "vh-keep");
    expect(await admin.getVhost("vh-a")).toBeUndefined();
    expect(await admin.getVhost("vh-keep")).toMatchObject({ name: "vh-keep" });
    await admin.deleteVhost("vh-keep");
  });

  it("User: a generated crypto-random password in an owned Secret; tags and limits updated; deleted; retained", async () => {
    await create("User", "alice", { tags: ["management"], limits: { connections: 3 } });
    await create("User", "bob", { username: "bobby", tags: ["management"], deletionPolicy: "retain" });
    const alice = await ready("User", "alice");
    expect(alice.status).toMatchObject({ username: "alice", credentials: { name: "alice-user-credentials" } });
    const credentials = await secretData("alice-user-credentials");
    expect(credentials?.username).toBe("alice");
    expect(credentials?.password).toMatch(/^[A-Za-z0-9]{32}$/);
    const secret = await env.clients.core.readNamespacedSecret({ name: "alice-user-credentials", namespace: ns });
    expect(secret.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: "User", name: "alice", uid: alice.metadata?.uid, controller: true })]);
    expect(secret.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("rabbit-operator");
    const user = await admin.getUser("alice");
    expect(user?.tags).toEqual(["management"]);
    expect(passwordMatchesHash(credentials!.password!, user!.passwordHash, user!.hashingAlgorithm)).toBe(true);
    expect(await canLogIn("alice", credentials!.password!)).toBe(true);
    expect(await admin.getUserLimits("alice")).toEqual({ "max-connections": 3 });

    await create("User", "alice", { tags: ["management", "monitoring"], limits: { channels: 5 } });
    await waitFor("alice generation 2 declared", async () => (await read(env.clients, "User", "alice", ns))?.status?.observedGeneration === 2, {
      timeoutMs: 30_000,
    });
    expect((await admin.getUser("alice"))?.tags.sort()).toEqual(["management", "monitoring"]);
    expect(await admin.getUserLimits("alice")).toEqual({ "max-channels": 5 });
    // The password is generated once: an update keeps it.
    expect((await secretData("alice-user-credentials"))?.password).toBe(credentials!.password);
    expect(await canLogIn("alice", credentials!.password!)).toBe(true);

    expect((await ready("User", "bob")).status?.username).toBe("bobby");
    await gone("User", "alice");
    await gone("User", "bob");
    expect(await admin.getUser("alice")).toBeUndefined();
    expect(await admin.getUser("bobby")).toMatchObject({ name: "bobby" });
    await admin.deleteUser("bobby");
  });

  it("Permission: for a User object and for a user name; updated; deleted; retained", async () => {
    await create("Vhost", "vh-perm", { name: "vh-perm" });
    await create("User", "dave", { tags: [] });
    await create("Permission", "dave-in-vh-perm", {
      vhost: "vh-perm",
      userReference: { name: "dave" },
      permissions: { configure: "", write: ".*", read: ".*" },
    });
    await create("Permission", "admin-in-vh-perm", {
      vhost: "vh-perm",
      user: rabbit.admin.username,
      permissions: { configure: ".*", write: ".*", read: ".*" },
      deletionPolicy: "retain",
    });
    await ready("Permission", "dave-in-vh-perm");
    await ready("Permission", "admin-in-vh-perm");
    expect(await admin.getPermission("vh-perm", "dave")).toEqual({ user: "dave", vhost: "vh-perm", configure: "", write: ".*", read: ".*" });
    // `kubectl get` shows the user whichever way it is given (a userReference: the User's name in RabbitMQ).
    const rows = (await kubectl(env.clients, ["get", "permissions", "-n", ns, "dave-in-vh-perm", "admin-in-vh-perm"])).trim().split("\n");
    expect(rows[0]!.split(/\s+/).slice(0, 3)).toEqual(["NAME", "USER", "VHOST"]);
    expect(
      rows
        .slice(1)
        .map((row) => row.split(/\s+/).slice(0, 3))
        .sort(),
    ).toEqual([
      ["admin-in-vh-perm", rabbit.admin.username, "vh-perm"],
      ["dave-in-vh-perm", "dave", "vh-perm"],
    ]);

    await create("Permission", "dave-in-vh-perm", {
      vhost: "vh-perm",
      userReference: { name: "dave" },
      permissions: { configure: "", write: "^jobs$", read: "^jobs$" },
    });
    await waitFor(
      "dave's permission at generation 2",
      async () => (await read(env.clients, "Permission", "dave-in-vh-perm", ns))?.status?.observedGeneration === 2,
      { timeoutMs: 30_000 },
    );
    expect(await admin.getPermission("vh-perm", "dave")).toMatchObject({ write: "^jobs$", read: "^jobs$" });

    await gone("Permission", "dave-in-vh-perm");
    await gone("Permission", "admin-in-vh-perm");
    expect(await admin.getPermission("vh-perm", "dave")).toBeUndefined();
    expect(await admin.getPermission("vh-perm", rabbit.admin.username)).toMatchObject({ configure: ".*" });
    await gone("User", "dave");
    await gone("Vhost", "vh-perm");
  });

  it("Queue: classic, quorum and stream with arguments; deletionPolicy changed to retain; deleted", async () => {
    await create("Queue", "orders", { name: "orders", type: "classic", arguments: { "x-max-length": 10 } });
    await create("Queue", "payments", { name: "payments", type: "quorum", arguments: { "x-delivery-limit": 5 } });
    await create("Queue", "events", { name: "events", type: "stream", arguments: { "x-max-length-bytes": 10_000_000 } });
    await create("Queue", "scratch", { name: "scratch", durable: false, autoDelete: false });
    for (const name of ["orders", "payments", "events", "scratch"]) await ready("Queue", name);
    expect(await admin.getQueue("/", "orders")).toMatchObject({
      type: "classic",
      durable: true,
      autoDelete: false,
      arguments: { "x-max-length": 10, "x-queue-type": "classic" },
    });
    expect(await admin.getQueue("/", "payments")).toMatchObject({
      type: "quorum",
      durable: true,
      arguments: { "x-delivery-limit": 5, "x-queue-type": "quorum" },
    });
    expect(await admin.getQueue("/", "events")).toMatchObject({ type: "stream", durable: true });
    expect(await admin.getQueue("/", "scratch")).toMatchObject({ type: "classic", durable: false });

    // The only thing about a queue that can change is what happens to it on deletion.
    await create("Queue", "payments", { name: "payments", type: "quorum", arguments: { "x-delivery-limit": 5 }, deletionPolicy: "retain" });
    await waitFor("payments generation 2", async () => (await read(env.clients, "Queue", "payments", ns))?.status?.observedGeneration === 2, {
      timeoutMs: 30_000,
    });
    for (const name of ["orders", "payments", "events", "scratch"]) await gone("Queue", name);
    expect(await admin.getQueue("/", "orders")).toBeUndefined();
    expect(await admin.getQueue("/", "events")).toBeUndefined();
    expect(await admin.getQueue("/", "payments")).toMatchObject({ type: "quorum" });
    await admin.deleteQueue("/", "payments");
  });

  it("Exchange: declared with its type and arguments; deleted; retained", async () => {
    await create("Exchange", "orders-topic", { name: "orders.topic", type: "topic", arguments: { "alternate-exchange": "amq.fanout" } });
    await create("Exchange", "audit", { name: "audit", type: "fanout", durable: false, deletionPolicy: "retain" });
    await ready("Exchange", "orders-topic");
    await ready("Exchange", "audit");
    expect(await admin.getExchange("/", "orders.topic")).toMatchObject({
      type: "topic",
      durable: true,
      autoDelete: false,
      internal: false,
      arguments: { "alternate-exchange": "amq.fanout" },
    });
    await gone("Exchange", "orders-topic");
    await gone("Exchange", "audit");
    expect(await admin.getExchange("/", "orders.topic")).toBeUndefined();
    expect(await admin.getExchange("/", "audit")).toMatchObject({ type: "fanout", durable: false });
    await admin.deleteExchange("/", "audit");
  });

  it("Binding: to a queue and to an exchange, with arguments; deleted; retained", async () => {
    await create("Exchange", "bind-src", { name: "bind.src", type: "headers" });
    await create("Exchange", "bind-dst", { name: "bind.dst", type: "fanout" });
    await create("Queue", "bind-q", { name: "bind.q" });
    await create("Binding", "src-to-q", { source: "bind.src", destination: "bind.q", routingKey: "", arguments: { "x-match": "all", kind: "a" } });
    await create("Binding", "src-to-dst", {
      source: "bind.src",
      destination: "bind.dst",
      destinationType: "exchange",
      routingKey: "rk",
      deletionPolicy: "retain",
    });
    await ready("Binding", "src-to-q");
    await ready("Binding", "src-to-dst");
    expect(
      await admin.findBinding("/", {
        source: "bind.src",
        destination: "bind.q",
        destinationType: "queue",
        routingKey: "",
        arguments: { "x-match": "all", kind: "a" },
      }),
    ).toBeDefined();
    expect(await admin.findBinding("/", { source: "bind.src", destination: "bind.dst", destinationType: "exchange", routingKey: "rk" })).toBeDefined();

    await gone("Binding", "src-to-q");
    await gone("Binding", "src-to-dst");
    expect(await admin.listBindingsBetween("/", "bind.src", "bind.q", "queue")).toEqual([]);
    expect(await admin.listBindingsBetween("/", "bind.src", "bind.dst", "exchange")).toHaveLength(1);
    for (const [kind, name] of [
      ["Queue", "bind-q"],
      ["Exchange", "bind-src"],
      ["Exchange", "bind-dst"],
    ] as const)
      await gone(kind, name);
  });

  it("Policy: declared, updated in place, deleted, retained", async () => {
    await create("Policy", "lengths", { name: "lengths", pattern: "^limited\\.", applyTo: "queues", priority: 1, definition: { "max-length": 100 } });
    await create("Policy", "kept", { name: "kept", pattern: "^kept\\.", definition: { "message-ttl": 60_000 }, deletionPolicy: "retain" });
    await ready("Policy", "lengths");
    await ready("Policy", "kept");
    expect(await admin.getPolicy("/", "lengths")).toMatchObject({ pattern: "^limited\\.", applyTo: "queues", priority: 1, definition: { "max-length": 100 } });

    await create("Policy", "lengths", {
      name: "lengths",
      pattern: "^limited\\.",
      applyTo: "queues",
      priority: 2,
      definition: { "max-length": 200, overflow: "reject-publish" },
    });
    await waitFor("lengths generation 2", async () => (await read(env.clients, "Policy", "lengths", ns))?.status?.observedGeneration === 2, {
      timeoutMs: 30_000,
    });
    expect(await admin.getPolicy("/", "lengths")).toMatchObject({ priority: 2, definition: { "max-length": 200, overflow: "reject-publish" } });

    await gone("Policy", "lengths");
    await gone("Policy", "kept");
    expect(await admin.getPolicy("/", "lengths")).toBeUndefined();
    expect(await admin.getPolicy("/", "kept")).toBeDefined();
    await admin.deletePolicy("/", "kept");
  });
});

describe("what a new object costs", () => {
  it("a new Queue: 2 API server writes (the finalizer, the status) and no Event; 1 management write and 2 reads; no reconcile after its own status write", async () => {
    // Let the reconciles of earlier tests settle first.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    env.resetCounters();
    const names = Array.from({ length: 10 }, (_, i) => `cost-${i}`);
    for (const name of names) await create("Queue", name, { name });
    for (const name of names) await ready("Queue", name);
    // Long enough for the reconciles a status write would cause to have happened.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const writes = writesIn(env.kubeWrites, env.namespaces);
    for (const name of names) {
      expect(
        writes.filter((write) => write.path.endsWith(`/queues/${name}`) || write.path.endsWith(`/queues/${name}/status`)).map((write) => write.method),
        name,
      ).toHaveLength(2);
      expect(
        env.managementRequests.filter((request) => request.path === `/api/queues/%2F/${name}`).map((request) => request.method),
        name,
      ).toEqual(["GET", "PUT", "GET"]);
    }
    expect(writes.filter((write) => write.path.includes("/events"))).toEqual([]);
    for (const name of names) await gone("Queue", name);
  });
});

describe("drift", () => {
  // One object of every kind, Ready, for the drift tests below.
  beforeAll(async () => {
    await create("Vhost", "drift", { name: "drift", tags: ["drift"] });
    await create("User", "drifter", { tags: ["management"] });
    await create("Permission", "drifter-perm", {
      vhost: "drift",
      userReference: { name: "drifter" },
      permissions: { configure: ".*", write: ".*", read: ".*" },
    });
    await create("Queue", "drift-q", { name: "drift.q", vhost: "drift", type: "quorum" });
    await create("Exchange", "drift-x", { name: "drift.x", vhost: "drift", type: "direct" });
    await create("Binding", "drift-b", { vhost: "drift", source: "drift.x", destination: "drift.q", routingKey: "k" });
    await create("Policy", "drift-p", { name: "drift-p", vhost: "drift", pattern: "^drift\\.", applyTo: "queues", definition: { "max-length": 1000 } });
    for (const [kind, name] of [
      ["Vhost", "drift"],
      ["User", "drifter"],
      ["Permission", "drifter-perm"],
      ["Queue", "drift-q"],
      ["Exchange", "drift-x"],
      ["Binding", "drift-b"],
      ["Policy", "drift-p"],
    ] as const) {
      await ready(kind, name);
    }
  });

  it("writes nothing, to Kubernetes or RabbitMQ, while everything is in sync: only bulk listings", async () => {
    const rounds = async () => (await env.manager.metrics.registry.getSingleMetric("rabbit_operator_topology_drift_checks_total")!.get()).values[0]?.value ?? 0;
    // Let the reconciles that followed the last status writes settle first.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    env.resetCounters();
    const before = await rounds();
    await waitFor("three drift rounds", async () => (await rounds()) >= before + 3, { timeoutMs: 20_000 });
    expect(writesIn(env.kubeWrites, env.namespaces)).toEqual([]);
    expect(managementWrites(env.managementRequests)).toEqual([]);
    // Each round lists each kind in use once, not each object.
    const paths = new Set(env.managementRequests.map((request) => request.path.split("?")[0]));
    expect([...paths].sort()).toEqual([
      "/api/bindings",
      "/api/exchanges",
      "/api/permissions",
      "/api/policies",
      "/api/queues",
      "/api/user-limits",
      "/api/users",
      "/api/vhost-limits",
      "/api/vhosts",
    ]);
    const perRound = env.managementRequests.length / Math.max(1, (await rounds()) - before);
    expect(perRound).toBeLessThanOrEqual(9 + 1);
  });

  it("verifies objects already Ready (as after a restart or a shard taken over) from bulk listings, not with a GET each", async () => {
    const names = Array.from({ length: 20 }, (_, i) => `verify-${i}`);
    for (const name of names) await create("Queue", name, { name });
    for (const name of names) await ready("Queue", name);
    // A snapshot shared while they were being declared (a drift round's) lacks the last ones, and
    // rightly makes them read one by one: wait until any such snapshot has expired.
    await new Promise((resolve) => setTimeout(resolve, SHARED_SNAPSHOT_MAX_AGE_MS + 1_000));
    const reconciles = async () =>
      (await env.manager.metrics.registry.getSingleMetric("controller_runtime_reconcile_total")!.get()).values
        .filter((sample) => sample.labels.controller === "queue")
        .reduce((sum, sample) => sum + sample.value, 0);
    const before = await reconciles();
    env.resetCounters();
    const controller = env.topology.controllers.get("Queue")!;
    for (const name of names) controller.enqueue(`${ns}/${name}`);
    await waitFor("the 20 Queues reconciled again", async () => (await reconciles()) >= before + names.length, { timeoutMs: 20_000 });
    const perObject = env.managementRequests.filter((request) => names.some((name) => request.path === `/api/queues/%2F/${name}`));
    expect(perObject).toEqual([]);
    const listings = env.managementRequests.filter((request) => request.path.split("?")[0] === "/api/queues");
    // One listing (or two, if a drift round's or an earlier one expired meanwhile) for all 20.
    expect(listings.length).toBeLessThanOrEqual(2);
    expect(writesIn(env.kubeWrites, env.namespaces)).toEqual([]);
    expect(managementWrites(env.managementRequests)).toEqual([]);
    for (const name of names) await gone("Queue", name);
  });

  it("restores objects deleted or changed out of band within a drift period", async () => {
    const started = Date.now();
    // The binding first: deleting its queue or exchange would take it along.
    await admin.deleteBinding(
      "drift",
      (await admin.findBinding("drift", { source: "drift.x", destination: "drift.q", destinationType: "queue", routingKey: "k" }))!,
    );
    await admin.deleteQueue("drift", "drift.q");
    await admin.putPolicy("drift", "drift-p", { pattern: "^drift\\.", applyTo: "queues", definition: { "max-length": 1 } });
    await admin.deletePermission("drift", "drifter");
    await admin.putUser("drifter", { password: "changed-by-hand", tags: ["administrator"] });
    await admin.setVhostLimit("drift", "max-connections", 1);
    await admin.deleteExchange("drift", "drift.x");

    const password = (await secretData("drifter-user-credentials"))!.password!;
    await waitFor(
      "every object restored",
      async () => {
        const [queue, exchange, binding, policy, permission, user, limits] = await Promise.all([
          admin.getQueue("drift", "drift.q"),
          admin.getExchange("drift", "drift.x"),
          admin.findBinding("drift", { source: "drift.x", destination: "drift.q", destinationType: "queue", routingKey: "k" }),
          admin.getPolicy("drift", "drift-p"),
          admin.getPermission("drift", "drifter"),
          admin.getUser("drifter"),
          admin.getVhostLimits("drift"),
        ]);
        return (
          queue?.type === "quorum" &&
          exchange?.type === "direct" &&
          binding !== undefined &&
          policy?.definition["max-length"] === 1000 &&
          permission?.configure === ".*" &&
          user !== undefined &&
          user.tags.join() === "management" &&
          passwordMatchesHash(password, user.passwordHash, user.hashingAlgorithm) &&
          limits !== undefined &&
          Object.keys(limits).length === 0
        );
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const elapsed = Date.now() - started;
    console.log(`drift repaired in ${elapsed} ms (period 2 s)`);
    // Within two periods of the change plus the reconciles, far inside the 60 s promised.
    expect(elapsed).toBeLessThan(15_000);
    expect(await canLogIn("drifter", password)).toBe(true);
    const queue = await read(env.clients, "Queue", "drift-q", ns);
    expect(readyOf(queue)?.status).toBe("True");
  });

  it("restores a deleted vhost with everything in it", async () => {
    await admin.deleteVhost("drift");
    await waitFor(
      "vhost, queue, binding, permission and policy back",
      async () => {
        const [vhost, queue, binding, permission, policy] = await Promise.all([
          admin.getVhost("drift"),
          admin.getQueue("drift", "drift.q"),
          admin.findBinding("drift", { source: "drift.x", destination: "drift.q", destinationType: "queue", routingKey: "k" }).catch(() => undefined),
          admin.getPermission("drift", "drifter"),
          admin.getPolicy("drift", "drift-p"),
        ]);
        return Boolean(vhost && queue && binding && permission && policy);
      },
      { timeoutMs: 45_000, intervalMs: 250 },
    );
  });

  it("starts a vhost again on a node that serves clients but has it stopped (as 3.10 leaves one created while that node booted)", async () => {
    await ready("Vhost", "drift");
    await ready("Permission", "drifter-perm");
    const password = (await secretData("drifter-user-credentials"))!.password!;
    const ram = rabbit.ramNodes[0]!;
    const throughRam = rabbit.amqpUrl({ node: ram, vhost: "drift", username: "drifter", password });
    await waitFor("the drifter to connect through the ram node", () => canConnect(throughRam), { timeoutMs: 15_000 });

    // What RabbitMQ does to a vhost on one node when its message store fails, and what 3.10
    // leaves when the vhost is created while that node boots: its supervisor there is gone, and
    // the node refuses connections to the vhost ("vhost 'drift' is down").
    const stopped = Date.now();
    const alive = await rabbit.rabbitmqctl(ram, [
      "eval",
      '[R] = ets:lookup(rabbit_vhost_sup_sup, <<"drift">>), ok = supervisor2:terminate_child(rabbit_vhost_sup_sup, element(4, R)), rabbit_vhost_sup_sup:is_vhost_alive(<<"drift">>).',
    ]);
    expect(alive.trim()).toBe("false");

    await waitFor(
      "the vhost running on every node again, and connections through the ram node",
      async () => {
        if (!(await canConnect(throughRam))) return false;
        return (await admin.getVhost("drift"))?.stoppedOn.length === 0;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    console.log(`vhost stopped on ${ram.nodeName} started again in ${Date.now() - stopped} ms (drift period 2 s)`);
    // The Event is written after the start returned: it may lag the vhost by a moment.
    await waitFor(
      "a DriftRepaired Event naming the node",
      async () => {
        const events = (await env.clients.objects.list("events.k8s.io/v1", "Event", ns)).items as {
          reason?: string;
          note?: string;
          regarding?: { kind?: string; name?: string };
        }[];
        return events.some(
          (e) =>
            e.reason === "DriftRepaired" &&
            e.regarding?.kind === "Vhost" &&
            e.regarding.name === "drift" &&
            e.note?.includes(`stopped on node ${ram.nodeName}, which refuses connections to it`),
        );
      },
      { timeoutMs: 10_000 },
    );
  });
});

describe("external cluster through a connection Secret", () => {
  it("declares a queue in the cluster the Secret's uri points at, with its credentials", async () => {
    await env.clients.core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: "external-rabbit" },
        stringData: { uri: `http://127.0.0.1:${rabbit.nodes[1]!.managementPort}`, username: rabbit.admin.username, password: rabbit.admin.password },
      },
    });
    await put({
      ...topologyObject("Queue", "external-q", ns, { name: "external.q", type: "quorum" }),
      spec: { name: "external.q", type: "quorum", rabbitmqClusterReference: { connectionSecret: { name: "external-rabbit" } } },
    });
    const queue = await ready("Queue", "external-q");
    expect(readyOf(queue)?.message).toContain(`the cluster of Secret ${ns}/external-rabbit`);
    // Read from the API server when needed, not from a cache of every Secret.
    expect(env.topology.secrets.loaded(ns, "external-rabbit")).toBe(true);
    expect(await admin.getQueue("/", "external.q")).toMatchObject({ type: "quorum" });
    await gone("Queue", "external-q");
    expect(await admin.getQueue("/", "external.q")).toBeUndefined();
  });

  it("reports a missing or incomplete connection Secret, and recovers when it is fixed", async () => {
    await put({
      ...topologyObject("Queue", "nowhere-q", ns, {}),
      spec: { name: "nowhere.q", rabbitmqClusterReference: { connectionSecret: { name: "not-yet" } } },
    });
    expect(await waitCondition(env.clients, "Queue", "nowhere-q", ns, { status: "False", reason: "ConnectionSecretNotFound" })).toMatchObject({
      message: `connection Secret ${ns}/not-yet does not exist`,
    });
    await env.clients.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "not-yet" }, stringData: { uri: rabbit.managementUrl() } } });
    expect((await waitCondition(env.clients, "Queue", "nowhere-q", ns, { status: "False", reason: "InvalidConnectionSecret" })).message).toContain(
      "lacks username, password",
    );
    await env.clients.core.patchNamespacedSecret(
      { name: "not-yet", namespace: ns, body: { stringData: { username: rabbit.admin.username, password: rabbit.admin.password } } },
      setMergePatch(),
    );
    await ready("Queue", "nowhere-q");
    await gone("Queue", "nowhere-q");
  });
});

describe("a connection Secret outlives the objects that need it", () => {
  it("deleted before its queue, it is kept until the queue is deleted in RabbitMQ through it, and then goes", async () => {
    await env.clients.core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: "short-lived" },
        stringData: { uri: rabbit.managementUrl(), username: rabbit.admin.username, password: rabbit.admin.password },
      },
    });
    await put({
      ...topologyObject("Queue", "outlived", ns, {}),
      spec: { name: "outlived.q", rabbitmqClusterReference: { connectionSecret: { name: "short-lived" } } },
    });
    await ready("Queue", "outlived");
    expect(await admin.getQueue("/", "outlived.q")).toBeDefined();

    await env.clients.core.deleteNamespacedSecret({ name: "short-lived", namespace: ns });
    await gone("Queue", "outlived");

    expect(await admin.getQueue("/", "outlived.q")).toBeUndefined();
    await waitFor("the connection Secret to go after its last user", async () => (await secretData("short-lived")) === undefined, { timeoutMs: 15_000 });
  });
});

describe("what the operator keeps of Secrets", () => {
  it("caches the values of its own Secrets only: of any other, metadata, and the value of one in use only once read", async () => {
    const bystanderValue = "bystander-password-never-cached";
    secrets.add("a bystander Secret's value", bystanderValue);
    await env.clients.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "bystander" }, stringData: { password: bystanderValue } } });
    // Secret caches: the operator's own (label selector), everything else by metadata only.
    expect(env.manager.caches.filter((cache) => cache.startsWith("/Secret?"))).toEqual([
      "/Secret?&type!=helm.sh/release.v1&metadata",
      "/Secret?app.kubernetes.io/managed-by=rabbit-operator&",
    ]);
    const metadata = env.manager.informer<V1Secret & KubernetesObject>(RESOURCES.Secret, { fieldSelector: "type!=helm.sh/release.v1", metadataOnly: true });
    await waitFor("the bystander in the metadata cache", async () => metadata.get("bystander", ns) !== undefined, { timeoutMs: 10_000 });
    expect(metadata.list().every((secret) => secret.data === undefined && secret.stringData === undefined)).toBe(true);
    expect(env.topology.secrets.loaded(ns, "bystander")).toBe(false);
  });
});

describe("password rotation", () => {
  it("imports credentials from a Secret and changes the password in RabbitMQ when the Secret changes", async () => {
    secrets.add("carol's first password", "first-password");
    secrets.add("carol's second password", "second-password");
    await env.clients.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: "carol-login" }, stringData: { username: "carol", password: "first-password" } },
    });
    await create("User", "carol", { tags: ["management"], importCredentialsSecret: { name: "carol-login" } });
    const carol = await ready("User", "carol");
    expect(carol.status?.username).toBe("carol");
    expect(await secretData("carol-user-credentials")).toEqual({ username: "carol", password: "first-password" });
    expect(await canLogIn("carol", "first-password")).toBe(true);

    await env.clients.core.patchNamespacedSecret(
      { name: "carol-login", namespace: ns, body: { stringData: { password: "second-password" } } },
      setMergePatch(),
    );
    await waitFor("carol's new password to work", () => canLogIn("carol", "second-password"), { timeoutMs: 15_000, intervalMs: 200 });
    expect(await canLogIn("carol", "first-password")).toBe(false);
    await waitFor("the credentials Secret to follow", async () => (await secretData("carol-user-credentials"))?.password === "second-password", {
      timeoutMs: 10_000,
    });
  });

  it("changes a generated password when the credentials Secret is edited", async () => {
    await create("User", "erin", { tags: ["management"] });
    await ready("User", "erin");
    const generated = (await secretData("erin-user-credentials"))!.password!;
    expect(await canLogIn("erin", generated)).toBe(true);
    secrets.add("erin's edited password", "chosen-by-a-human");
    await env.clients.core.patchNamespacedSecret(
      { name: "erin-user-credentials", namespace: ns, body: { stringData: { password: "chosen-by-a-human" } } },
      setMergePatch(),
    );
    await waitFor("erin's edited password to work", () => canLogIn("erin", "chosen-by-a-human"), { timeoutMs: 15_000, intervalMs: 200 });
    expect(await canLogIn("erin", generated)).toBe(false);
  });
});

describe("bad input: Ready=False with the reason, retried with backoff, never a hot loop", () => {
  it("a missing cluster, until it appears", async () => {
    await create("Queue", "orphan", { name: "orphan", rabbitmqClusterReference: { name: "later" } });
    expect(await waitCondition(env.clients, "Queue", "orphan", ns, { status: "False", reason: "ClusterNotFound" })).toMatchObject({
      message: `RabbitCluster ${ns}/later does not exist`,
    });
    await put({
      apiVersion: "rabbit.operator.dev/v1alpha1",
      kind: "RabbitCluster",
      metadata: { name: "later", namespace: ns },
      spec: { image: "localhost/rabbit-operator/rabbitmq:3.10.8" },
    });
    expect((await waitCondition(env.clients, "Queue", "orphan", ns, { status: "False", reason: "ClusterNotReady" })).message).toContain(
      "has no default user yet",
    );
    await env.clients.core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: "later-default-user", labels: { "app.kubernetes.io/instance": "later" } },
        stringData: { username: rabbit.admin.username, password: rabbit.admin.password },
      },
    });
    await ready("Queue", "orphan");
    await gone("Queue", "orphan");
  });

  it("a cluster in another namespace, until the cluster allows it", async () => {
    const other = env.namespaces[1]!;
    await put({ ...topologyObject("Queue", "visitor", other, {}), spec: { name: "visitor", rabbitmqClusterReference: { name: CLUSTER, namespace: ns } } });
    expect((await waitCondition(env.clients, "Queue", "visitor", other, { status: "False", reason: "ClusterNamespaceNotAllowed" })).message).toContain(
      ALLOWED_NAMESPACES_ANNOTATION,
    );
    await put({
      apiVersion: "rabbit.operator.dev/v1alpha1",
      kind: "RabbitCluster",
      metadata: { name: CLUSTER, namespace: ns, annotations: { [ALLOWED_NAMESPACES_ANNOTATION]: `elsewhere, ${other}` } },
      spec: { image: "localhost/rabbit-operator/rabbitmq:3.10.8", nodes: { disc: 2, ram: 1 } },
    });
    await ready("Queue", "visitor", other);
    expect(await admin.getQueue("/", "visitor")).toBeDefined();
    await gone("Queue", "visitor", other);
  });

  it("a missing vhost, until a Vhost object declares it", async () => {
    await create("Queue", "early", { name: "early", vhost: "not-yet" });
    const condition = await waitCondition(env.clients, "Queue", "early", ns, { status: "False", reason: "VhostNotFound" });
    expect(condition.message).toBe(`RabbitMQ refused to declare queue "early" in vhost "not-yet": vhost_not_found`);
    await create("Vhost", "not-yet", { name: "not-yet" });
    await ready("Queue", "early");
    await gone("Queue", "early");
    await gone("Vhost", "not-yet");
  });

  it("a missing user, until a User object declares it", async () => {
    await create("Permission", "ghost-perm", { vhost: "/", user: "ghost", permissions: { read: ".*" } });
    await create("Permission", "ghost-ref-perm", { vhost: "/", userReference: { name: "ghost" }, permissions: { read: ".*" } });
    expect((await waitCondition(env.clients, "Permission", "ghost-perm", ns, { status: "False", reason: "VhostOrUserNotFound" })).message).toContain(
      "vhost_or_user_not_found",
    );
    expect((await waitCondition(env.clients, "Permission", "ghost-ref-perm", ns, { status: "False", reason: "UserNotFound" })).message).toBe(
      `User ${ns}/ghost (userReference) does not exist`,
    );
    await create("User", "ghost", {});
    await ready("Permission", "ghost-perm");
    await ready("Permission", "ghost-ref-perm");
    await gone("Permission", "ghost-perm");
    await gone("Permission", "ghost-ref-perm");
    await gone("User", "ghost");
  });

  it("PRECONDITION_FAILED for changed queue arguments: RabbitMQ's message, retried with backoff, recovered when reverted", async () => {
    await create("Queue", "bounded", { name: "bounded", arguments: { "x-max-length": 10 } });
    await ready("Queue", "bounded");
    await create("Queue", "bounded", { name: "bounded", arguments: { "x-max-length": 20 } });
    const condition = await waitCondition(env.clients, "Queue", "bounded", ns, { status: "False", reason: "PreconditionFailed" });
    expect(condition.message).toBe(
      `RabbitMQ refused to declare queue "bounded" in vhost "/": inequivalent arg 'x-max-length' for queue 'bounded' in vhost '/': received '20' but current is '10'`,
    );
    const generation = (await read(env.clients, "Queue", "bounded", ns))!;
    expect(generation.status?.observedGeneration).toBe(1);

    // Backoff, not a hot loop: a handful of attempts in 6 s (0.5 s doubling), each a single PUT.
    env.resetCounters();
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const attempts = env.managementRequests.filter((request) => request.method === "PUT" && request.path === "/api/queues/%2F/bounded").length;
    console.log(`PUT attempts on a refused queue in 6 s: ${attempts}`);
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(6);
    // A failure that does not change writes no status again.
    expect(writesIn(env.kubeWrites, env.namespaces).filter((write) => write.path.includes("/queues/bounded"))).toEqual([]);

    await create("Queue", "bounded", { name: "bounded", arguments: { "x-max-length": 10 } });
    await ready("Queue", "bounded");
    await gone("Queue", "bounded");
  });

  it("a queue that exists with other settings is refused, not replaced", async () => {
    await admin.declareQueue("/", "taken", { type: "classic", durable: false });
    await create("Queue", "taken", { name: "taken", type: "quorum" });
    const condition = await waitCondition(env.clients, "Queue", "taken", ns, { status: "False", reason: "PreconditionFailed" });
    expect(condition.message).toMatch(/inequivalent arg '(durable|x-queue-type)' for queue 'taken'/);
    expect(await admin.getQueue("/", "taken")).toMatchObject({ type: "classic", durable: false });
    // Deleting the object deletes the queue it named (deletionPolicy delete).
    await gone("Queue", "taken");
    expect(await admin.getQueue("/", "taken")).toBeUndefined();
  });

  it("a setting RabbitMQ accepts without applying (an existing exchange's arguments) is reported, not declared forever", async () => {
    await create("Exchange", "stubborn", { name: "stubborn", type: "topic", arguments: { "x-note": "one" } });
    await ready("Exchange", "stubborn");
    await create("Exchange", "stubborn", { name: "stubborn", type: "topic", arguments: { "x-note": "two" } });
    const condition = await waitCondition(env.clients, "Exchange", "stubborn", ns, { status: "False" });
    expect(condition.reason).toMatch(/^(NotApplied|PreconditionFailed)$/);
    expect(condition.message).toContain("x-note");
    await gone("Exchange", "stubborn");
  });

  it("an invalid policy: RabbitMQ's validation message", async () => {
    await create("Policy", "bogus", { name: "bogus", pattern: ".*", definition: { "max-length": "lots" } });
    const condition = await waitCondition(env.clients, "Policy", "bogus", ns, { status: "False" });
    expect(condition.message).toBe(`RabbitMQ refused to declare policy "bogus" in vhost "/": Validation failed: <<"lots">> is not a valid maximum length`);
    await gone("Policy", "bogus");
  });

  it("an unreachable cluster: Unreachable with the cause; its deletion waits, the connection Secret with it, until deletionPolicy: retain lets it go", async () => {
    // A port nothing listens on (fetch refuses some well-known ports outright, 9 among them).
    const closedPort = await freePort();
    await env.clients.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: "dead-end" }, stringData: { uri: `http://127.0.0.1:${closedPort}`, username: "u", password: "p" } },
    });
    await put({
      ...topologyObject("Queue", "unreachable", ns, {}),
      spec: { name: "unreachable", rabbitmqClusterReference: { connectionSecret: { name: "dead-end" } } },
    });
    const condition = await waitCondition(env.clients, "Queue", "unreachable", ns, { status: "False", reason: "Unreachable" }, 45_000);
    expect(condition.message).toContain("ECONNREFUSED");
    await env.clients.core.deleteNamespacedSecret({ name: "dead-end", namespace: ns });
    await env.clients.objects.delete({ apiVersion: "rabbit.operator.dev/v1alpha1", kind: "Queue", metadata: { name: "unreachable", namespace: ns } });
    const waiting = await waitCondition(
      env.clients,
      "Queue",
      "unreachable",
      ns,
      { status: "False", reason: "Unreachable", messageContaining: "deletionPolicy: retain" },
      45_000,
    );
    expect(waiting.message).toContain("ECONNREFUSED");
    expect((await env.clients.core.readNamespacedSecret({ name: "dead-end", namespace: ns })).metadata?.deletionTimestamp).toBeTruthy();
    await env.clients.objects.patch(
      {
        apiVersion: "rabbit.operator.dev/v1alpha1",
        kind: "Queue",
        metadata: { name: "unreachable", namespace: ns },
        spec: { deletionPolicy: "retain" },
      } as KubernetesObject,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    // Already being deleted: retained, it goes at once.
    await waitFor("the retained Queue to go", async () => (await read(env.clients, "Queue", "unreachable", ns)) === undefined, {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    await waitFor("the connection Secret to go after its last user", async () => (await secretData("dead-end")) === undefined, { timeoutMs: 15_000 });
  });
});

describe("a feature newer than the cluster's RabbitMQ (3.10.8 here): Ready=False naming both versions, nothing declared", () => {
  it("a policy applying to quorum queues only (3.12+), until it applies to queues", async () => {
    await create("Policy", "quorum-only", { name: "quorum-only", pattern: "^orders", applyTo: "quorum_queues", definition: { "delivery-limit": 3 } });
    const condition = await waitCondition(env.clients, "Policy", "quorum-only", ns, { status: "False", reason: "UnsupportedByRabbitMQVersion" });
    expect(condition.message).toBe(
      `Policy "quorum-only" in vhost "/" is not declared: applyTo: quorum_queues needs RabbitMQ 3.12 or later and this cluster runs RabbitMQ 3.10.8; use applyTo: queues (queues of every type), with a pattern that matches only the queues meant`,
    );
    expect(await admin.getPolicy("/", "quorum-only")).toBeUndefined();
    await create("Policy", "quorum-only", { name: "quorum-only", pattern: "^orders", applyTo: "queues", definition: { "delivery-limit": 3 } });
    await ready("Policy", "quorum-only");
    expect(await admin.getPolicy("/", "quorum-only")).toMatchObject({ applyTo: "queues" });
    await gone("Policy", "quorum-only");
  });

  it("a vhost with a default queue type (3.11+), which 3.10 would take and forget", async () => {
    await create("Vhost", "vh-typed", { name: "vh-typed", defaultQueueType: "quorum" });
    const condition = await waitCondition(env.clients, "Vhost", "vh-typed", ns, { status: "False", reason: "UnsupportedByRabbitMQVersion" });
    expect(condition.message).toContain("defaultQueueType needs RabbitMQ 3.11 or later and this cluster runs RabbitMQ 3.10.8");
    expect(await admin.getVhost("vh-typed")).toBeUndefined();
    await gone("Vhost", "vh-typed");
  });

  it("an exchange of type x-local-random (4.0+)", async () => {
    await create("Exchange", "local", { name: "local", type: "x-local-random" });
    const condition = await waitCondition(env.clients, "Exchange", "local", ns, { status: "False", reason: "UnsupportedByRabbitMQVersion" });
    expect(condition.message).toContain("type: x-local-random needs RabbitMQ 4.0 or later and this cluster runs RabbitMQ 3.10.8");
    expect(await admin.getExchange("/", "local")).toBeUndefined();
    await gone("Exchange", "local");
  });

  it("a classic queue's x-queue-mode, which 3.10 still honours, is declared without a caveat", async () => {
    await create("Queue", "lazy", { name: "lazy", arguments: { "x-queue-mode": "lazy" } });
    const queue = await ready("Queue", "lazy");
    expect(readyOf(queue)?.message).toBe(`Queue "lazy" in vhost "/" is declared in RabbitCluster ${ns}/${CLUSTER} as specified`);
    await gone("Queue", "lazy");
  });
});

describe("deletion: a finalizer goes only when the object is gone from RabbitMQ, its cluster is gone, or it is retained", () => {
  const clusterAllowing = (annotations: Record<string, string>) =>
    put({
      apiVersion: "rabbit.operator.dev/v1alpha1",
      kind: "RabbitCluster",
      metadata: { name: CLUSTER, namespace: ns, annotations },
      spec: { image: "localhost/rabbit-operator/rabbitmq:3.10.8", nodes: { disc: 2, ram: 1 } },
    });

  it("a queue whose cluster stops allowing its namespace is kept, with its queue in RabbitMQ, until it can be deleted there", async () => {
    const other = env.namespaces[1]!;
    await clusterAllowing({ [ALLOWED_NAMESPACES_ANNOTATION]: other });
    await put({ ...topologyObject("Queue", "guest", other, {}), spec: { name: "guest", rabbitmqClusterReference: { name: CLUSTER, namespace: ns } } });
    await ready("Queue", "guest", other);
    await clusterAllowing({});
    await env.clients.objects.delete({ apiVersion: "rabbit.operator.dev/v1alpha1", kind: "Queue", metadata: { name: "guest", namespace: other } });

    const condition = await waitCondition(env.clients, "Queue", "guest", other, { status: "False", reason: "ClusterNamespaceNotAllowed" });
    expect(condition.message).toContain("deletionPolicy: retain");
    expect((await read(env.clients, "Queue", "guest", other))?.metadata?.finalizers).toContain(TOPOLOGY_FINALIZER);
    expect(await admin.getQueue("/", "guest")).toBeDefined();

    await clusterAllowing({ [ALLOWED_NAMESPACES_ANNOTATION]: other });
    await waitFor("the Queue to be gone", async () => (await read(env.clients, "Queue", "guest", other)) === undefined, { timeoutMs: 30_000, intervalMs: 100 });
    expect(await admin.getQueue("/", "guest")).toBeUndefined();
  });

  it("deleting a vhost waits until no object of ours is left in it, then deletes it in RabbitMQ", async () => {
    await create("Vhost", "crowded", { name: "crowded" });
    await ready("Vhost", "crowded");
    await create("Queue", "crowded-q", { name: "q", vhost: "crowded" });
    await create("Exchange", "crowded-x", { name: "x", vhost: "crowded", type: "fanout" });
    await create("Binding", "crowded-b", { vhost: "crowded", source: "x", destination: "q", destinationType: "queue" });
    await create("Permission", "crowded-p", { vhost: "crowded", user: rabbit.admin.username, permissions: { configure: ".*", write: ".*", read: ".*" } });
    await create("Policy", "crowded-pol", { name: "crowded-pol", vhost: "crowded", pattern: "^q$", definition: { "max-length": 10 } });
    for (const [kind, name] of [
      ["Queue", "crowded-q"],
      ["Exchange", "crowded-x"],
      ["Binding", "crowded-b"],
      ["Permission", "crowded-p"],
      ["Policy", "crowded-pol"],
    ] as const)
      await ready(kind, name);

    // The vhost first: the worst order, since deleting it in RabbitMQ takes the operator's access to the rest.
    await env.clients.objects.delete({ apiVersion: "rabbit.operator.dev/v1alpha1", kind: "Vhost", metadata: { name: "crowded", namespace: ns } });
    const waiting = await waitCondition(env.clients, "Vhost", "crowded", ns, { status: "False", reason: "WaitingForContents" });
    expect(waiting.message).toContain(`Queue ${ns}/crowded-q`);
    expect(waiting.message).toContain(`Policy ${ns}/crowded-pol`);
    expect(await admin.getVhost("crowded")).toBeDefined();
    expect(await admin.getQueue("crowded", "q")).toBeDefined();

    await Promise.all(
      ["Queue/crowded-q", "Exchange/crowded-x", "Binding/crowded-b", "Permission/crowded-p", "Policy/crowded-pol"].map((id) => {
        const [kind, name] = id.split("/") as [string, string];
        return env.clients.objects.delete({ apiVersion: "rabbit.operator.dev/v1alpha1", kind, metadata: { name, namespace: ns } });
      }),
    );
    await waitFor("the Vhost to be gone", async () => (await read(env.clients, "Vhost", "crowded", ns)) === undefined, { timeoutMs: 30_000, intervalMs: 100 });
    expect(await admin.getVhost("crowded")).toBeUndefined();
  });

  it("deleting the Permission that gives the operator its access to a vhost waits until the objects of ours in that vhost are gone", async () => {
    // The operator's own user (the cluster's default user) with a Permission object in a vhost.
    await create("Vhost", "own-access", { name: "own-access" });
    await ready("Vhost", "own-access");
    await create("Permission", "own-access-p", { vhost: "own-access", user: rabbit.admin.username, permissions: { configure: ".*", write: ".*", read: ".*" } });
    await create("Queue", "own-access-q", { name: "q", vhost: "own-access" });
    await create("Exchange", "own-access-x", { name: "x", vhost: "own-access", type: "direct" });
    for (const [kind, name] of [
      ["Permission", "own-access-p"],
      ["Queue", "own-access-q"],
      ["Exchange", "own-access-x"],
    ] as const)
      await ready(kind, name);

    // The Permission first: deleting it in RabbitMQ would take the operator's access to the rest.
    await env.clients.objects.delete({ apiVersion: "rabbit.operator.dev/v1alpha1", kind: "Permission", metadata: { name: "own-access-p", namespace: ns } });
    const waiting = await waitCondition(env.clients, "Permission", "own-access-p", ns, { status: "False", reason: "WaitingForContents" });
    expect(waiting.message).toContain(`Queue ${ns}/own-access-q`);
    expect(waiting.message).toContain(`Exchange ${ns}/own-access-x`);
    expect((await admin.listPermissions()).some((p) => p.vhost === "own-access" && p.user === rabbit.admin.username)).toBe(true);

    await Promise.all(
      ["Queue/own-access-q", "Exchange/own-access-x", "Vhost/own-access"].map((id) => {
        const [kind, name] = id.split("/") as [string, string];
        return env.clients.objects.delete({ apiVersion: "rabbit.operator.dev/v1alpha1", kind, metadata: { name, namespace: ns } });
      }),
    );
    for (const [kind, name] of [
      ["Queue", "own-access-q"],
      ["Exchange", "own-access-x"],
      ["Permission", "own-access-p"],
      ["Vhost", "own-access"],
    ] as const) {
      await waitFor(`${kind} ${name} to be gone`, async () => (await read(env.clients, kind, name, ns)) === undefined, { timeoutMs: 30_000, intervalMs: 100 });
    }
    expect(await admin.getVhost("own-access")).toBeUndefined();
  });
});

/** client-node sends JSON Patch unless told otherwise. */
function setMergePatch() {
  return setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
}

describe("after the rest", () => {
  it("no password made, read or imported by any test is in the operator's log, an Event or a status", async () => {
    expect(secrets.size).toBeGreaterThanOrEqual(6);
    const statuses = [];
    for (const namespace of env.namespaces) {
      for (const kind of ["Vhost", "User", "Permission", "Queue", "Exchange", "Binding", "Policy"]) {
        const list = await env.clients.objects.list("rabbit.operator.dev/v1alpha1", kind, namespace);
        for (const item of list.items)
          statuses.push({ where: `${kind} ${namespace}/${item.metadata?.name} status`, text: JSON.stringify((item as { status?: unknown }).status) });
      }
    }
    expect(env.logLines.length).toBeGreaterThan(100);
    const events = await eventTexts(env.clients.objects, env.namespaces);
    expect(secrets.scan([...logTexts(env.logLines), ...events, ...statuses])).toEqual([]);
    console.log(
      `secret scan: ${secrets.size} secret values (and their base64) searched in ${env.logLines.length} log lines, ${events.length} Events and ${statuses.length} statuses: none found`,
    );
  });

  it("deleting a namespace with a whole topology inside finishes, whatever the order, and leaves nothing in RabbitMQ", async () => {
    const other = env.namespaces[1]!;
    await put({
      apiVersion: "rabbit.operator.dev/v1alpha1",
      kind: "RabbitCluster",
      metadata: { name: CLUSTER, namespace: ns, annotations: { [ALLOWED_NAMESPACES_ANNOTATION]: other } },
      spec: { image: "localhost/rabbit-operator/rabbitmq:3.10.8", nodes: { disc: 2, ram: 1 } },
    });
    const inOther = (kind: string, name: string, spec: Record<string, unknown>) =>
      put({ ...topologyObject(kind, name, other, {}), spec: { ...spec, rabbitmqClusterReference: { name: CLUSTER, namespace: ns } } });
    await inOther("Vhost", "team", { name: "team" });
    await inOther("User", "team-app", {});
    await inOther("Permission", "team-app", { vhost: "team", userReference: { name: "team-app" }, permissions: { configure: ".*", write: ".*", read: ".*" } });
    await inOther("Queue", "team-q", { name: "q", vhost: "team", type: "quorum" });
    await inOther("Exchange", "team-x", { name: "x", vhost: "team", type: "topic" });
    await inOther("Binding", "team-b", { vhost: "team", source: "x", destination: "q", destinationType: "queue", routingKey: "#" });
    await inOther("Policy", "team-pol", { name: "team-pol", vhost: "team", pattern: ".*", applyTo: "queues", definition: { "max-length": 1000 } });
    for (const [kind, name] of [
      ["Vhost", "team"],
      ["User", "team-app"],
      ["Permission", "team-app"],
      ["Queue", "team-q"],
      ["Exchange", "team-x"],
      ["Binding", "team-b"],
      ["Policy", "team-pol"],
    ] as const)
      await ready(kind, name, other);
    const username = (await read(env.clients, "User", "team-app", other))?.status?.username;
    expect(username).toBeTruthy();

    // And objects in the same namespace reaching the cluster through a connection Secret there,
    // which the namespace's deletion removes as soon as it starts.
    await env.clients.core.createNamespacedSecret({
      namespace: other,
      body: {
        metadata: { name: "team-rabbit" },
        stringData: { uri: rabbit.managementUrl(), username: rabbit.admin.username, password: rabbit.admin.password },
      },
    });
    const viaSecret = (kind: string, name: string, spec: Record<string, unknown>) =>
      put({ ...topologyObject(kind, name, other, {}), spec: { ...spec, rabbitmqClusterReference: { connectionSecret: { name: "team-rabbit" } } } });
    await viaSecret("Queue", "team-ext-q", { name: "team.ext.q", type: "quorum" });
    await viaSecret("Exchange", "team-ext-x", { name: "team.ext.x", type: "fanout" });
    await ready("Queue", "team-ext-q", other);
    await ready("Exchange", "team-ext-x", other);

    await env.clients.core.deleteNamespace({ name: other });
    await waitFor(
      `namespace ${other} to be gone`,
      async () =>
        env.clients.core.readNamespace({ name: other }).then(
          () => false,
          () => true,
        ),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(await admin.getVhost("team")).toBeUndefined();
    expect(await admin.getUser(username!)).toBeUndefined();
    expect(await admin.getQueue("/", "team.ext.q")).toBeUndefined();
    expect(await admin.getExchange("/", "team.ext.x")).toBeUndefined();
  });

  it("the garbage collector has taken a deleted User's credentials Secret (it owns it)", async () => {
    // kube-controller-manager learns of new CRDs through discovery every 30 s, so this is checked last.
    await waitFor("alice's credentials Secret to be collected", async () => (await secretData("alice-user-credentials")) === undefined, { timeoutMs: 45_000 });
  });
});
