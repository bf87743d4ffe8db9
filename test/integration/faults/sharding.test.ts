// Three replicas of the real operator process (operator/main.ts --shards) sharing the work of
// several RabbitMQ cluster references (connection Secrets, one shard key each) against the test
// control plane and a real RabbitMQ: every replica holds shards and does work; one is SIGKILLed
// while it reconciles objects of its shards, and the others take its shards over within the lease
// time and finish that work. Every reconcile's span is read from the replicas' logs: no object is
// reconciled by two replicas at once, the killed one's unfinished reconciles included.
import { CoordinationV1Api, type KubernetesObject, type V1Lease } from "@kubernetes/client-node";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { API_VERSION } from "../../../operator/api/index.js";
import { DEFAULT_LEADER_ELECTION } from "../../../operator/runtime/leader-election.js";
import { SHARD_SET_LABEL, shardLeaseName } from "../../../operator/runtime/shard-coordinator.js";
import { assignShards, shardOf } from "../../../operator/runtime/shards.js";
import { connectionSecretKey } from "../../../operator/controllers/cluster-keys.js";
import { waitFor } from "../../../dev/exec.js";
import { apply, createNamespace, installCrds, kubeClients, type KubeClients, waitForNamespaceGone } from "../../../dev/kube.js";
import { useRabbitCluster } from "../../harness/rabbitmq/use-rabbit-cluster.js";
import { OperatorProcess } from "./operator-process.js";

const REPLICAS = 3;
const SHARDS = 6;
/** Cluster references (connection Secrets to the one RabbitMQ), each a shard key of its own. */
const SECRETS = 9;
const QUEUES_PER_SECRET = 8;
const SET = "shards-test";

const rabbit = useRabbitCluster({ name: "sharding", disc: 1 });
let clients: KubeClients;
let namespace: { name: string; remove(): Promise<void> };
/** The Leases' own namespace: deleting the objects' namespace must not take the Leases of the replicas that release their finalizers. */
let leaseNamespace: { name: string; remove(): Promise<void> };
let logDir: string;
const replicas: OperatorProcess[] = [];

beforeAll(async () => {
  clients = kubeClients(inject("kubeconfig"));
  await installCrds(clients);
  namespace = await createNamespace(clients, "sharding");
  leaseNamespace = await createNamespace(clients, "sharding-leases");
  logDir = await mkdtemp(join(tmpdir(), "rabbit-operator-sharding-"));
  for (let s = 0; s < SECRETS; s++) {
    await clients.core.createNamespacedSecret({
      namespace: namespace.name,
      body: {
        metadata: { name: `rabbit-${s}` },
        stringData: { uri: rabbit.managementUrl(), username: rabbit.admin.username, password: rabbit.admin.password },
      },
    });
  }
  for (let r = 0; r < REPLICAS; r++) {
    replicas.push(
      new OperatorProcess({
        kubeconfig: inject("kubeconfig"),
        namespaces: [namespace.name],
        logFile: join(logDir, `replica-${r}.log`),
        args: [`--shards=${SHARDS}`, `--leader-election-namespace=${leaseNamespace.name}`, `--leader-election-id=${SET}`],
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  // The survivors release the finalizers while the namespace goes.
  const running = replicas.filter((replica) => replica.running);
  if (namespace) {
    if (running.length === 0 && replicas[0]) await replicas[0].start();
    await namespace.remove();
    await waitForNamespaceGone(clients, namespace.name, 120_000).catch(() => undefined);
  }
  await Promise.all(replicas.map((replica) => replica.stop("SIGTERM")));
  await leaseNamespace?.remove();
  if (logDir) await rm(logDir, { recursive: true, force: true });
}, 240_000);

async function shardLeases(): Promise<Map<number, string>> {
  const leases = await clients.kc
    .makeApiClient(CoordinationV1Api)
    .listNamespacedLease({ namespace: leaseNamespace.name, labelSelector: `${SHARD_SET_LABEL}=${SET}` });
  const holders = new Map<number, string>();
  for (let shard = 0; shard < SHARDS; shard++) {
    const lease = leases.items.find((item: V1Lease) => item.metadata?.name === shardLeaseName(SET, shard));
    if (lease?.spec?.holderIdentity) holders.set(shard, lease.spec.holderIdentity);
  }
  return holders;
}

/** The identity of each replica, as its shard coordinator logs it (once it has held a shard), to its index. */
async function identities(): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const [index, replica] of replicas.entries()) {
    for (const line of await jsonLines(replica)) {
      const record = JSON.parse(line) as { msg?: string; identity?: string };
      if (record.msg === "holding shard" && record.identity) {
        found.set(record.identity, index);
        break;
      }
    }
  }
  return found;
}

/** Waits until every shard is held by the replica that the assignment of all live replicas gives it to. */
async function settledAssignment(replicaCount: number, timeoutMs = 60_000): Promise<Map<string, number>> {
  let known = new Map<string, number>();
  await waitFor(
    `the ${SHARDS} shards held as assigned to ${replicaCount} replicas`,
    async () => {
      known = await identities();
      const live = [...known].filter(([, index]) => replicas[index]!.running).map(([identity]) => identity);
      if (live.length !== replicaCount) return false;
      const assigned = assignShards(SHARDS, live);
      const holders = await shardLeases();
      return [...assigned].every(([identity, shards]) => shards.every((shard) => holders.get(shard) === identity));
    },
    { timeoutMs, intervalMs: 250 },
  );
  return known;
}

/** The replica's log records (node's own warnings, which are not JSON, are left out). */
async function jsonLines(replica: OperatorProcess): Promise<string[]> {
  return (await replica.logLines()).filter((line) => line.startsWith("{"));
}

interface Span {
  replica: number;
  key: string;
  from: number;
  to: number;
}

/** Every reconcile of a topology object, from "reconciling" to "reconciled"; one cut short by a kill ends at the kill. */
async function spans(killedAt: Map<number, number>): Promise<Span[]> {
  const all: Span[] = [];
  for (const [index, replica] of replicas.entries()) {
    const open = new Map<string, number>();
    for (const line of await jsonLines(replica)) {
      const record = JSON.parse(line) as { msg?: string; key?: string; controller?: string; ts?: string };
      if (!record.key || record.controller !== "queue") continue;
      const at = Date.parse(record.ts ?? "");
      if (record.msg === "reconciling") open.set(record.key, at);
      if (record.msg === "reconciled") {
        all.push({ replica: index, key: record.key, from: open.get(record.key) ?? at, to: at });
        open.delete(record.key);
      }
    }
    for (const [key, from] of open) all.push({ replica: index, key, from, to: killedAt.get(index) ?? Date.now() });
  }
  return all;
}

function overlapping(all: Span[]): string[] {
  const byKey = new Map<string, Span[]>();
  for (const span of all) byKey.set(span.key, [...(byKey.get(span.key) ?? []), span]);
  const found: string[] = [];
  for (const [key, list] of byKey) {
    for (const a of list)
      for (const b of list) if (a.replica < b.replica && a.from < b.to && b.from < a.to) found.push(`${key}: replica ${a.replica} and ${b.replica}`);
  }
  return found;
}

function queue(secret: number, index: number, round: number): KubernetesObject {
  return {
    apiVersion: API_VERSION,
    kind: "Queue",
    metadata: { name: `q-${round}-${secret}-${index}`, namespace: namespace.name },
    spec: { name: `sharded.${round}.${secret}.${index}`, rabbitmqClusterReference: { connectionSecret: { name: `rabbit-${secret}` } } },
  } as KubernetesObject;
}

async function readyQueues(round: number, secrets?: number[]): Promise<number> {
  const list = await clients.objects.list(API_VERSION, "Queue", namespace.name);
  const prefixes = (secrets ?? Array.from({ length: SECRETS }, (_, s) => s)).map((s) => `q-${round}-${s}-`);
  return (
    list.items as {
      metadata: { name: string; generation?: number };
      status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
    }[]
  ).filter(
    (item) =>
      prefixes.some((prefix) => item.metadata.name.startsWith(prefix)) &&
      item.status?.observedGeneration === item.metadata.generation &&
      item.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  ).length;
}

const shardOfSecret = (secret: number) => shardOf(connectionSecretKey(namespace.name, `rabbit-${secret}`), SHARDS);

describe(`${REPLICAS} replicas sharing ${SHARDS} shards (--shards)`, () => {
  const killedAt = new Map<number, number>();

  it("spread the shards over every replica, and each replica declares the objects of its own shards", async () => {
    const started = Date.now();
    await Promise.all(replicas.map((replica) => replica.start()));
    const identities = await settledAssignment(REPLICAS);
    console.log(`${REPLICAS} replicas started and holding their shards in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const total = SECRETS * QUEUES_PER_SECRET;
    for (let s = 0; s < SECRETS; s++) for (let i = 0; i < QUEUES_PER_SECRET; i++) await apply(clients, queue(s, i, 1));
    await waitFor(`${total} Queues Ready`, async () => (await readyQueues(1)) === total, { timeoutMs: 120_000, intervalMs: 250 });

    // Who reconciled what: each replica only keys of shards whose lease it holds (the holders have not changed since).
    const holders = await shardLeases();
    const work = await spans(killedAt);
    const byReplica = new Map<number, Set<number>>();
    for (const span of work) {
      const secret = Number(/^[^/]+\/q-1-(\d+)-/.exec(span.key)?.[1]);
      if (Number.isNaN(secret)) continue;
      const shard = shardOfSecret(secret);
      expect(identities.get(holders.get(shard)!), `${span.key} (shard ${shard}) reconciled by replica ${span.replica}`).toBe(span.replica);
      byReplica.set(span.replica, (byReplica.get(span.replica) ?? new Set()).add(shard));
    }
    console.log(
      `shards per replica: ${replicas.map((_, r) => `replica ${r}: ${[...holders].filter(([, holder]) => identities.get(holder) === r).map(([shard]) => shard)}`).join("; ")}`,
    );
    // The secrets' shards that hold objects are spread so that at least two replicas worked.
    expect(byReplica.size).toBeGreaterThanOrEqual(2);
    const queues = (await rabbit.management().listQueues({ vhost: "/", columns: ["name"] })).filter((q) => q.name.startsWith("sharded.1."));
    expect(queues).toHaveLength(total);
  }, 240_000);

  it("a replica SIGKILLed while it reconciles: its shards move to the others within the lease time, its work is finished, no object reconciled by two at once", async () => {
    const identities = await settledAssignment(REPLICAS);
    const holders = await shardLeases();
    // The victim: the replica holding the shards of the most secrets.
    const secretsOf = (replica: number) =>
      Array.from({ length: SECRETS }, (_, s) => s).filter((s) => identities.get(holders.get(shardOfSecret(s))!) === replica);
    const victim = [0, 1, 2].sort((a, b) => secretsOf(b).length - secretsOf(a).length)[0]!;
    const victimShards = [...holders].filter(([, holder]) => identities.get(holder) === victim).map(([shard]) => shard);
    const victimSecrets = secretsOf(victim);
    expect(victimSecrets.length).toBeGreaterThan(0);

    const total = SECRETS * QUEUES_PER_SECRET;
    const ofVictim = victimSecrets.length * QUEUES_PER_SECRET;
    // All at once, so that the victim has work in flight when it is killed.
    const applied = Promise.all(Array.from({ length: total }, (_, n) => apply(clients, queue(n % SECRETS, Math.floor(n / SECRETS), 2))));
    const startedByVictim = async () =>
      (await jsonLines(replicas[victim]!)).filter((line) => line.includes('"msg":"reconciling"') && line.includes("/q-2-")).length;
    await waitFor("the victim to start reconciling round 2", async () => (await startedByVictim()) >= 1, { timeoutMs: 60_000, intervalMs: 5 });
    await replicas[victim]!.stop("SIGKILL");
    const killed = Date.now();
    killedAt.set(victim, killed);
    await applied;
    const victimReadyAtKill = await readyQueues(2, victimSecrets);
    console.log(
      `killed replica ${victim} (shards ${victimShards}, secrets ${victimSecrets}) with ${victimReadyAtKill} of its ${ofVictim} round-2 Queues Ready`,
    );
    // Mid-work: objects of its shards were left for the others.
    expect(victimReadyAtKill).toBeLessThan(ofVictim);

    const survivors = new Set([0, 1, 2].filter((r) => r !== victim));
    await waitFor(
      "the victim's shards held by survivors",
      async () => {
        const now = await shardLeases();
        return victimShards.every((shard) => survivors.has(identities.get(now.get(shard) ?? "") ?? -1));
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const movedInMs = Date.now() - killed;
    console.log(`the victim's ${victimShards.length} shards moved ${(movedInMs / 1000).toFixed(1)} s after the kill`);
    // At most the lease duration after the survivors saw the victim's last renewal (up to a round after it), and a round to take it.
    expect(movedInMs).toBeLessThanOrEqual(DEFAULT_LEADER_ELECTION.leaseDurationMs + 2 * DEFAULT_LEADER_ELECTION.retryPeriodMs + 3_000);
    // Not before the lease expired: the shard could not be taken while the victim might still work on it.
    expect(movedInMs).toBeGreaterThanOrEqual(DEFAULT_LEADER_ELECTION.leaseDurationMs - DEFAULT_LEADER_ELECTION.retryPeriodMs);

    await waitFor(`${total} round-2 Queues Ready`, async () => (await readyQueues(2)) === total, { timeoutMs: 120_000, intervalMs: 250 });
    const queues = (await rabbit.management().listQueues({ vhost: "/", columns: ["name"] })).filter((q) => q.name.startsWith("sharded.2."));
    expect(queues).toHaveLength(total);

    const work = await spans(killedAt);
    const victimUnfinished = work.filter((span) => span.replica === victim && span.to === killed).length;
    const finishedBySurvivors = work.filter(
      (span) => survivors.has(span.replica) && span.from > killed && victimSecrets.some((s) => span.key.includes(`/q-2-${s}-`)),
    );
    console.log(
      `${work.length} reconciles read from the logs; ${victimUnfinished} cut short by the kill; ${finishedBySurvivors.length} of the victim's shards' round-2 objects by survivors after it`,
    );
    expect(finishedBySurvivors.length).toBeGreaterThan(0);
    expect(overlapping(work)).toEqual([]);
    // Nothing but the operator's own records: no warning of node's (a listener leak, say) in any replica's output.
    const foreign = (await Promise.all(replicas.map((replica) => replica.logLines()))).flat().filter((line) => !line.startsWith("{"));
    expect(foreign).toEqual([]);
  }, 240_000);
});
