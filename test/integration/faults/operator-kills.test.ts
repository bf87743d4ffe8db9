// The real operator process (operator/main.ts) SIGKILLed at random moments while it declares, and
// then deletes, a topology of many objects in a real RabbitMQ (through a connection Secret). After
// every kill it is started again; in the end everything converges: every object Ready, each
// exactly once in RabbitMQ, every deleted object gone from Kubernetes (no finalizer left) and from
// RabbitMQ (no orphan). `npm test` runs a short variant; `npm run test:faults` the long one
// (FAULTS_KILLS, FAULTS_OBJECTS).
import type { KubernetesObject } from "@kubernetes/client-node";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { API_VERSION } from "../../../operator/api/index.js";
import type { ManagementClient } from "../../../operator/rabbitmq/management.js";
import { waitFor } from "../../../dev/exec.js";
import { apply, createNamespace, installCrds, kubeClients, type KubeClients, waitForNamespaceGone } from "../../../dev/kube.js";
import { useRabbitCluster } from "../../harness/rabbitmq/use-rabbit-cluster.js";
import { SecretLeakScanner, eventTexts, logTexts } from "../../support/secret-leaks.js";
import { OperatorProcess } from "./operator-process.js";

const KILLS = Number(process.env.FAULTS_KILLS ?? 3);
const QUEUES = Math.max(20, Number(process.env.FAULTS_OBJECTS ?? 100));
/** Exchanges and bindings: one per ten queues. */
const EXCHANGES = Math.max(1, Math.floor(QUEUES / 10));
const VHOST = "kills";
const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 100_000);

const rabbit = useRabbitCluster({ name: "kills", disc: 1 });
let clients: KubeClients;
let namespace: { name: string; remove(): Promise<void> };
let admin: ManagementClient;
let logDir: string;
let operator: OperatorProcess;

/** Deterministic for a seed (mulberry32), so that a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const next = random(SEED);

beforeAll(async () => {
  clients = kubeClients(inject("kubeconfig"));
  await installCrds(clients);
  namespace = await createNamespace(clients, "kills");
  admin = rabbit.management();
  logDir = await mkdtemp(join(tmpdir(), "rabbit-operator-kills-"));
  operator = new OperatorProcess({ kubeconfig: inject("kubeconfig"), namespaces: [namespace.name], logFile: join(logDir, "operator.log") });
  await clients.core.createNamespacedSecret({
    namespace: namespace.name,
    body: { metadata: { name: "rabbit" }, stringData: { uri: rabbit.managementUrl(), username: rabbit.admin.username, password: rabbit.admin.password } },
  });
  console.log(`operator kills: seed ${SEED}, ${KILLS} kills, ${QUEUES} queues + ${EXCHANGES} exchanges + ${EXCHANGES} bindings + vhost, user, permission`);
}, 120_000);

afterAll(async () => {
  await operator?.stop("SIGTERM");
  if (namespace) {
    // With the operator running, so that it releases its finalizers.
    await operator.start();
    await namespace.remove();
    await waitForNamespaceGone(clients, namespace.name, 120_000).catch(() => undefined);
    await operator.stop("SIGTERM");
  }
  if (logDir) await rm(logDir, { recursive: true, force: true });
}, 240_000);

const kinds = ["Vhost", "User", "Permission", "Queue", "Exchange", "Binding"] as const;

function topology(): { kind: (typeof kinds)[number]; name: string; spec: Record<string, unknown> }[] {
  const objects: { kind: (typeof kinds)[number]; name: string; spec: Record<string, unknown> }[] = [
    { kind: "Vhost", name: "kills", spec: { name: VHOST } },
    { kind: "User", name: "worker", spec: { tags: ["management"] } },
    { kind: "Permission", name: "worker", spec: { vhost: VHOST, userReference: { name: "worker" }, permissions: { configure: "", write: ".*", read: ".*" } } },
  ];
  for (let i = 0; i < QUEUES; i++)
    objects.push({ kind: "Queue", name: `q-${i}`, spec: { name: `q.${i}`, vhost: VHOST, type: i % 2 === 0 ? "quorum" : "classic" } });
  for (let i = 0; i < EXCHANGES; i++) {
    objects.push({ kind: "Exchange", name: `x-${i}`, spec: { name: `x.${i}`, vhost: VHOST, type: "direct" } });
    // To even queues: the odd ones are deleted later, and a queue's bindings go with it.
    objects.push({
      kind: "Binding",
      name: `b-${i}`,
      spec: { vhost: VHOST, source: `x.${i}`, destination: `q.${2 * i}`, destinationType: "queue", routingKey: `k.${i}` },
    });
  }
  return objects;
}

async function listAll(): Promise<{ kind: string; name: string; ready: boolean; finalizers: string[]; deleting: boolean }[]> {
  const all = [];
  for (const kind of kinds) {
    const list = await clients.objects.list(API_VERSION, kind, namespace.name);
    for (const item of list.items as {
      metadata: { name: string; generation?: number; finalizers?: string[]; deletionTimestamp?: unknown };
      status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
    }[]) {
      const ready =
        item.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true &&
        item.status?.observedGeneration === item.metadata.generation;
      all.push({ kind, name: item.metadata.name, ready, finalizers: item.metadata.finalizers ?? [], deleting: Boolean(item.metadata.deletionTimestamp) });
    }
  }
  return all;
}

/**
 * KILLS lives of the operator, each given one batch of work (`work(round)` makes the change and
 * returns the progress count at which that batch is done) and SIGKILLed at a random point of it:
 * once `done()` reaches a random count short of that goal, plus up to 100 ms (to land inside a
 * reconcile).
 */
async function killRepeatedly(done: () => Promise<number>, work: (round: number) => Promise<number>): Promise<string[]> {
  const moments: string[] = [];
  for (let round = 0; round < KILLS; round++) {
    await operator.start();
    const from = await done();
    const goal = await work(round);
    const target = Math.min(goal - 1, from + Math.floor(next() * 0.9 * (goal - from)));
    await waitFor(`progress to ${target}`, async () => (await done()) >= target, { timeoutMs: 120_000, intervalMs: 25 });
    await new Promise((resolve) => setTimeout(resolve, Math.floor(next() * 100)));
    await operator.stop("SIGKILL");
    moments.push(`kill ${round + 1} at ${await done()} (batch ${from}..${goal}, aimed at ${target})`);
  }
  return moments;
}

/** The i-th of KILLS nearly equal slices of items. */
function batch<T>(items: readonly T[], round: number): T[] {
  const size = Math.ceil(items.length / KILLS);
  return items.slice(round * size, (round + 1) * size);
}

describe(`the operator SIGKILLed ${KILLS} times at random moments`, () => {
  it(`while declaring ${QUEUES + 2 * EXCHANGES + 3} objects: converges to each exactly once in RabbitMQ, every object Ready`, async () => {
    const objects = topology();
    let applied = 0;
    const moments = await killRepeatedly(
      async () => (await listAll()).filter((o) => o.ready).length,
      async (round) => {
        for (const object of batch(objects, round)) {
          const resource = {
            apiVersion: API_VERSION,
            kind: object.kind,
            metadata: { name: object.name, namespace: namespace.name },
            spec: { ...object.spec, rabbitmqClusterReference: { connectionSecret: { name: "rabbit" } } },
          };
          await apply(clients, resource as KubernetesObject);
          applied++;
        }
        return applied;
      },
    );
    console.log(`objects Ready when killed:\n${moments.join("\n")}`);

    const started = Date.now();
    await operator.start();
    try {
      await waitFor("every object Ready", async () => (await listAll()).every((o) => o.ready), { timeoutMs: 300_000, intervalMs: 500 });
    } finally {
      // The next test's lives start from here; one operator at a time.
      await operator.stop("SIGTERM");
    }
    console.log(`after ${KILLS} kills: ${objects.length} objects Ready ${((Date.now() - started) / 1000).toFixed(1)} s after the last start`);

    const queues = (await admin.listQueues({ vhost: VHOST, columns: ["name", "type"] })).map((q) => q.name).sort();
    expect(queues).toEqual(Array.from({ length: QUEUES }, (_, i) => `q.${i}`).sort());
    const exchanges = (await admin.listExchanges(VHOST)).map((x) => x.name).filter((name) => name.startsWith("x."));
    expect(exchanges.sort()).toEqual(Array.from({ length: EXCHANGES }, (_, i) => `x.${i}`).sort());
    const bindings = (await admin.listBindings(VHOST)).filter((b) => b.source.startsWith("x."));
    // Exactly one binding per Binding object: no duplicate from a declaration repeated after a kill.
    expect(bindings.map((b) => `${b.source}->${b.destination}:${b.routingKey}`).sort()).toEqual(
      Array.from({ length: EXCHANGES }, (_, i) => `x.${i}->q.${2 * i}:k.${i}`).sort(),
    );
    const users = (await admin.listUsers()).map((u) => u.name).filter((name) => name === "worker");
    expect(users).toEqual(["worker"]);
  }, 900_000);

  it("while deleting half of them: every deleted object gone from Kubernetes and RabbitMQ, no finalizer left, the rest untouched", async () => {
    const deleted = Array.from({ length: QUEUES }, (_, i) => i).filter((i) => i % 2 === 1);
    let requested = 0;
    const moments = await killRepeatedly(
      async () => QUEUES - (await listAll()).filter((o) => o.kind === "Queue").length,
      async (round) => {
        const slice = batch(deleted, round);
        await Promise.all(
          slice.map((i) => clients.objects.delete({ apiVersion: API_VERSION, kind: "Queue", metadata: { name: `q-${i}`, namespace: namespace.name } })),
        );
        requested += slice.length;
        return requested;
      },
    );
    console.log(`deletions done when killed:\n${moments.join("\n")}`);

    const started = Date.now();
    await operator.start();
    try {
      await waitFor(
        "the deleted Queue objects to be gone",
        async () => (await listAll()).filter((o) => o.kind === "Queue").length === QUEUES - deleted.length,
        { timeoutMs: 300_000, intervalMs: 500 },
      );
    } finally {
      await operator.stop("SIGTERM");
    }
    console.log(`after ${KILLS} kills: ${deleted.length} deletions done ${((Date.now() - started) / 1000).toFixed(1)} s after the last start`);
    const queues = (await admin.listQueues({ vhost: VHOST, columns: ["name"] })).map((q) => q.name).sort();
    const orphans = queues.filter((name) => Number(name.slice(2)) % 2 === 1);
    if (orphans.length > 0) {
      const lines = await operator.logLines();
      for (const orphan of orphans)
        console.log(
          `DEBUG ${orphan}:\n${lines.filter((line) => line.includes(`"${orphan}"`) || line.includes(`q-${orphan.slice(2)}"`) || line.includes(`/q-${orphan.slice(2)}`)).join("\n")}`,
        );
    }
    expect(queues).toEqual(
      Array.from({ length: QUEUES }, (_, i) => i)
        .filter((i) => i % 2 === 0)
        .map((i) => `q.${i}`)
        .sort(),
    );
    const left = await listAll();
    expect(left.filter((o) => o.deleting)).toEqual([]);
    expect(left.every((o) => o.ready)).toBe(true);
  }, 900_000);

  it("logged no secret in any of its lives, nor in an Event", async () => {
    const scanner = new SecretLeakScanner();
    scanner.add("connection Secret password", rabbit.admin.password);
    const credentials = await clients.core.readNamespacedSecret({ name: "worker-user-credentials", namespace: namespace.name });
    scanner.addSecretData("worker-user-credentials", credentials.data, ["password"]);
    const lines = await operator.logLines();
    expect(lines.length).toBeGreaterThan(100);
    expect(scanner.scan([...logTexts(lines), ...(await eventTexts(clients.objects, [namespace.name]))])).toEqual([]);
  });
});
