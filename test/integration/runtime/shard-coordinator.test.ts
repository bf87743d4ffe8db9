// ShardCoordinator against the real API server, with short leases: replicas joining split the
// shards between them (handing shards over only after their work stopped), one leaving
// gracefully gives its shards up at once, one cut off from the API server (a TCP pass-through
// closed) stops its work before the others take its shards, and at no sampled moment do two
// replicas both consider a shard theirs.
import { CoordinationV1Api, V1MicroTime } from "@kubernetes/client-node";
import { createServer, connect, type Server, type Socket } from "node:net";
import { isDeepStrictEqual } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { waitFor } from "../../../dev/exec.js";
import { ShardCoordinator } from "../../../operator/runtime/shard-coordinator.js";
import { assignShards } from "../../../operator/runtime/shards.js";
import { createNamespace, loadKubeConfig, uniqueName } from "./helpers.js";

const kubeConfig = loadKubeConfig(inject("kubeconfig"));
const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
const SHARDS = 6;
const TIMING = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 300 };

let namespace: Awaited<ReturnType<typeof createNamespace>>;

interface Replica {
  identity: string;
  coordinator: ShardCoordinator;
  stop: AbortController;
  running: Promise<void>;
  /** Work of each shard in progress: the shard's work "stops" only when the test says (stopped() waits for it). */
  busy: Map<number, Promise<void>>;
  log: string[];
}

const replicas: Replica[] = [];

function startReplica(set: string, identity: string, api: CoordinationV1Api = coordination, shards = SHARDS): Replica {
  const stop = new AbortController();
  const replica: Replica = { identity, stop, busy: new Map(), log: [], coordinator: undefined as unknown as ShardCoordinator, running: Promise.resolve() };
  replica.coordinator = new ShardCoordinator(api, {
    namespace: namespace.name,
    name: set,
    shards,
    identity,
    ...TIMING,
    callbacks: {
      acquired: (shard) => replica.log.push(`acquired ${shard}`),
      stopped: async (shard) => {
        replica.log.push(`stopping ${shard}`);
        await replica.busy.get(shard);
        replica.log.push(`stopped ${shard}`);
      },
    },
  });
  replica.running = replica.coordinator.run(stop.signal);
  replicas.push(replica);
  return replica;
}

/** Samples every replica's view every 10 ms; returns what was seen held by two at once. */
function watchForOverlap(): { stop(): string[] } {
  const seen: string[] = [];
  const timer = setInterval(() => {
    const holders = new Map<number, string>();
    for (const replica of replicas) {
      if (replica.stop.signal.aborted) continue;
      for (const shard of replica.coordinator.held()) {
        if (holders.has(shard)) seen.push(`shard ${shard}: ${holders.get(shard)} and ${replica.identity}`);
        holders.set(shard, replica.identity);
      }
    }
  }, 10);
  return {
    stop: () => {
      clearInterval(timer);
      return seen;
    },
  };
}

const assigned = (ids: string[]) => new Map([...assignShards(SHARDS, ids)].map(([id, shards]) => [id, [...shards].sort((a, b) => a - b)]));
/**
 * A TCP pass-through to the API server that can be cut (every connection closed, new ones
 * refused) or stalled (connections stay open, nothing passes: requests hang until their timeout).
 */
async function cuttableApi(): Promise<{ api: CoordinationV1Api; cut(): Promise<void>; stall(): void }> {
  const apiServer = new URL(kubeConfig.getCurrentCluster()!.server);
  const sockets = new Set<Socket>();
  const pairs: [Socket, Socket][] = [];
  let stalled = false;
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    if (stalled) return;
    const upstream = connect(Number(apiServer.port), apiServer.hostname);
    pairs.push([client, upstream]);
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const viaPassThrough = loadKubeConfig(inject("kubeconfig"));
  const cluster = viaPassThrough.getCurrentCluster()!;
  const port = (server.address() as { port: number }).port;
  // The API server's certificate names 127.0.0.1, so verification holds on the other port.
  viaPassThrough.clusters = viaPassThrough.clusters.map((c) => (c.name === cluster.name ? { ...c, server: `https://127.0.0.1:${port}` } : c));
  cutters.push(server);
  return {
    api: viaPassThrough.makeApiClient(CoordinationV1Api),
    cut: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    stall: () => {
      stalled = true;
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
  };
}
const cutters: Server[] = [];

/** Waits until the replicas hold exactly this (identity to shards, ascending). */
async function holding(expected: Map<string, number[]>, timeoutMs = 15_000): Promise<void> {
  await waitFor(`shards held as ${JSON.stringify([...expected])}`, async () => isDeepStrictEqual(held(), expected), { timeoutMs, intervalMs: 20 }).catch(
    (error: unknown) => {
      throw new Error(`${(error as Error).message}; held: ${JSON.stringify([...held()])}`);
    },
  );
}

const held = () => new Map(replicas.filter((r) => !r.stop.signal.aborted).map((r) => [r.identity, r.coordinator.held()]));

beforeAll(async () => {
  namespace = await createNamespace(kubeConfig, "shards");
});
afterEach(async () => {
  for (const replica of replicas.splice(0)) {
    replica.stop.abort();
    await replica.running;
  }
});
afterAll(async () => {
  for (const server of cutters) server.close();
  await namespace?.remove();
});

describe("ShardCoordinator (real API server)", () => {
  it("splits the shards as assigned between replicas as they join, handing a shard over only after its work has stopped (renewed while it lasts, longer than a lease), never held by two at once", async () => {
    const set = uniqueName("set");
    const overlap = watchForOverlap();
    const a = startReplica(set, "replica-a");
    await holding(assigned(["replica-a"]));
    // Work in progress on every shard of a: shards a must give up wait for it.
    let finishWork = () => {};
    const work = new Promise<void>((resolve) => (finishWork = resolve));
    for (let shard = 0; shard < SHARDS; shard++) a.busy.set(shard, work);

    const b = startReplica(set, "replica-b");
    const handedOver = assigned(["replica-a", "replica-b"]).get("replica-b")!;
    await waitFor("a to stop the shards that are b's now", async () => handedOver.every((shard) => a.log.includes(`stopping ${shard}`)), {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    // a no longer works on them, but has not released them, and keeps their leases while its work
    // lasts, longer than a lease: b waits.
    await new Promise((resolve) => setTimeout(resolve, TIMING.leaseDurationMs + 2 * TIMING.retryPeriodMs));
    expect(b.coordinator.held()).toEqual([]);
    finishWork();
    await holding(assigned(["replica-a", "replica-b"]));
    // b took them once released, well before their leases would have expired on their own.
    expect(b.log.filter((line) => line.startsWith("acquired")).sort()).toEqual(handedOver.map((shard) => `acquired ${shard}`).sort());

    startReplica(set, "replica-c");
    await holding(assigned(["replica-a", "replica-b", "replica-c"]));
    expect(overlap.stop()).toEqual([]);
  }, 60_000);

  it("replicas started together campaign only for their own shards: none takes one that it must hand over", async () => {
    const set = uniqueName("set");
    const ids = ["replica-a", "replica-b", "replica-c"];
    const together = ids.map((id) => startReplica(set, id));
    await holding(assigned(ids));
    for (const replica of together) expect(replica.log.filter((line) => line.startsWith("stopping"))).toEqual([]);
  }, 60_000);

  it("a replica that stops releases its shards and its membership: the others take them at once, not after the lease time", async () => {
    const set = uniqueName("set");
    const overlap = watchForOverlap();
    startReplica(set, "replica-a");
    const b = startReplica(set, "replica-b");
    await holding(assigned(["replica-a", "replica-b"]));
    const stopped = Date.now();
    b.stop.abort();
    await b.running;
    await holding(assigned(["replica-a"]));
    const tookMs = Date.now() - stopped;
    expect(tookMs).toBeLessThan(TIMING.leaseDurationMs);
    const leases = await coordination.listNamespacedLease({ namespace: namespace.name, labelSelector: `rabbit-operator.io/shard-set=${set}` });
    expect(leases.items.filter((lease) => lease.spec?.holderIdentity === "replica-b")).toEqual([]);
    expect(overlap.stop()).toEqual([]);
  }, 60_000);

  it("a replica cut off from the API server stops its shards' work within its renew deadline, and the others take them only once their leases expire", async () => {
    const set = uniqueName("set");
    const overlap = watchForOverlap();
    const link = await cuttableApi();
    const a = startReplica(set, "replica-a");
    const b = startReplica(set, "replica-b", link.api);
    await holding(assigned(["replica-a", "replica-b"]));
    const ofB = b.coordinator.held();
    // Nothing of b reaches the API server any more: it can neither renew nor release.
    await link.cut();
    const cut = Date.now();
    await waitFor("b to stop its shards' work", async () => b.coordinator.held().length === 0, { timeoutMs: 10_000, intervalMs: 20 });
    const stoppedMs = Date.now() - cut;
    await waitFor("a to hold every shard", async () => a.coordinator.held().length === SHARDS, { timeoutMs: 15_000, intervalMs: 20 });
    const takenMs = Date.now() - cut;
    console.log(
      `cut off: b stopped shards ${ofB} after ${stoppedMs} ms (renew deadline ${TIMING.renewDeadlineMs}), a took them after ${takenMs} ms (lease ${TIMING.leaseDurationMs})`,
    );
    expect(stoppedMs).toBeLessThanOrEqual(TIMING.renewDeadlineMs + 2 * TIMING.retryPeriodMs);
    expect(takenMs).toBeGreaterThanOrEqual(TIMING.leaseDurationMs - TIMING.retryPeriodMs);
    expect(stoppedMs).toBeLessThan(takenMs);
    expect(overlap.stop()).toEqual([]);
  }, 60_000);

  it("a replica whose API server stalls (requests hang until their timeout) stops its shards' work by its renew deadline, whatever its rounds are waiting for", async () => {
    const set = uniqueName("set");
    const link = await cuttableApi();
    startReplica(set, "replica-a");
    const b = startReplica(set, "replica-b", link.api);
    await holding(assigned(["replica-a", "replica-b"]));
    // Its last successful renewal was sent before this moment.
    link.stall();
    const stalled = Date.now();
    await waitFor("b to stop its shards' work", async () => b.coordinator.held().length === 0, { timeoutMs: 10_000, intervalMs: 10 });
    const stoppedMs = Date.now() - stalled;
    console.log(`stalled: b stopped after ${stoppedMs} ms (renew deadline ${TIMING.renewDeadlineMs})`);
    expect(stoppedMs).toBeLessThanOrEqual(TIMING.renewDeadlineMs + 150);
  }, 60_000);

  it("a held shard whose Lease is deleted gets it again, and its work goes on", async () => {
    const set = uniqueName("set");
    const a = startReplica(set, "replica-a");
    await holding(assigned(["replica-a"]));
    const leaseName = `${set}-shard-2`;
    await coordination.deleteNamespacedLease({ name: leaseName, namespace: namespace.name });
    await waitFor(
      "the lease made again by its holder",
      async () =>
        (await coordination.readNamespacedLease({ name: leaseName, namespace: namespace.name }).catch(() => undefined))?.spec?.holderIdentity === "replica-a",
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    // Past the renew deadline: still held, never stopped.
    await new Promise((resolve) => setTimeout(resolve, TIMING.renewDeadlineMs + TIMING.retryPeriodMs));
    expect(a.coordinator.held()).toContain(2);
    expect(a.log.filter((line) => line.startsWith("stopping"))).toEqual([]);
  }, 60_000);

  it("a replica dividing the work into another number of shards (a rolling update changing it) takes none while one of the other count lives", async () => {
    const set = uniqueName("set");
    const old = startReplica(set, "replica-old");
    await holding(assigned(["replica-old"]));
    const renewed = startReplica(set, "replica-new", coordination, SHARDS * 2);
    await new Promise((resolve) => setTimeout(resolve, TIMING.leaseDurationMs));
    expect(renewed.coordinator.held()).toEqual([]);
    expect(old.coordinator.held()).toHaveLength(SHARDS);
    old.stop.abort();
    await old.running;
    await waitFor("the new replica to hold all its shards", async () => renewed.coordinator.held().length === SHARDS * 2, {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
  }, 60_000);

  it("no shard is taken while a leader holds the Lease of the set's name (replicas of a leader-elected operator still running)", async () => {
    const set = uniqueName("set");
    const body = { metadata: { name: set }, spec: { holderIdentity: "old-leader", leaseDurationSeconds: 3, renewTime: new V1MicroTime(Date.now()) } };
    await coordination.createNamespacedLease({ namespace: namespace.name, body });
    const a = startReplica(set, "replica-a");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(a.coordinator.held()).toEqual([]);
    // The leader gone (its Lease no longer renewed): the replica takes its shards after the lease duration.
    await waitFor("the replica to take its shards", async () => a.coordinator.held().length === SHARDS, { timeoutMs: 10_000, intervalMs: 20 });
  }, 60_000);
});
