// The topology controllers while a cluster's management API is in trouble: answering 500, never
// answering, or gone (connections refused, as when the whole cluster is down). The broken cluster
// is the real local RabbitMQ behind a fault proxy (test/support/fault-proxy.ts), reached through a
// connection Secret; a healthy cluster (the same RabbitMQ, directly) is used at the same time.
// Each outage: the conditions say what is wrong in RabbitMQ's words, retries back off (the
// requests are counted), a broken cluster does not hold up the healthy one, and everything
// converges once the API answers again.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apply } from "../../../../dev/kube.js";
import { useRabbitCluster } from "../../../harness/rabbitmq/use-rabbit-cluster.js";
import { ERROR_500_BODY, SLOW_ANSWER_MS, startFaultProxy, type FaultProxy } from "../../../support/fault-proxy.js";
import { read, readyOf, startTopologyEnvironment, topologyObject, waitReady, type TopologyEnvironment } from "./support.js";

/** How long the whole-cluster outage lasts: a minute under `npm run test:faults`. */
const OUTAGE_SECONDS = Number(process.env.OUTAGE_SECONDS ?? 20);
const SICK_OBJECTS = 12;
/** More than a kind's workers (16), so that without a bound per cluster they could hold them all. */
const SLOW_OBJECTS = 40;

const rabbit = useRabbitCluster({ name: "outages", disc: 1 });
let env: TopologyEnvironment;
let ns: string;
let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await startFaultProxy(rabbit.managementUrl());
  env = await startTopologyEnvironment(inject("kubeconfig"), rabbit, { namespaces: 1, driftPeriodMs: 10_000 });
  ns = env.namespaces[0]!;
  await env.clients.core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: "sick-rabbit" }, stringData: { uri: proxy.url, username: rabbit.admin.username, password: rabbit.admin.password } },
  });
}, 120_000);

afterAll(async () => {
  await proxy?.setMode("pass");
  await env?.stop();
  await proxy?.stop();
}, 120_000);

const sickQueue = (name: string) => ({
  ...topologyObject("Queue", name, ns, {}),
  spec: { name, rabbitmqClusterReference: { connectionSecret: { name: "sick-rabbit" } } },
});
const healthyQueue = (name: string) => topologyObject("Queue", name, ns, { name });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until every object's Ready condition is False with this reason; returns the messages. */
async function allFailing(names: string[], reason: string, timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const conditions = await Promise.all(names.map(async (name) => readyOf(await read(env.clients, "Queue", name, ns))));
    if (conditions.every((c) => c?.status === "False" && c.reason === reason)) return conditions.map((c) => c!.message);
    if (Date.now() > deadline) throw new Error(`not all Ready=False ${reason}: ${JSON.stringify(conditions.map((c) => c && `${c.status} ${c.reason}`))}`);
    await sleep(200);
  }
}

/** Requests the proxy gets in this window: the retry rate of objects whose cluster stays broken. */
async function requestsDuring(ms: number): Promise<number> {
  proxy.resetCount();
  await sleep(ms);
  return proxy.requests;
}

async function eventuallyTrue(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function allReady(names: string[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  await Promise.all(names.map((name) => waitReady(env.clients, "Queue", name, ns, timeoutMs)));
  return Date.now() - started;
}

describe("a management API in trouble", () => {
  it("answering 500: Ready=False with RabbitMQ's words, retried with backoff, not in a hot loop; Ready once it answers", async () => {
    await proxy.setMode("error500");
    const names = Array.from({ length: SICK_OBJECTS }, (_, i) => `e500-${i}`);
    for (const name of names) await apply(env.clients, sickQueue(name));
    const messages = await allFailing(names, "ServerError");
    for (const message of messages) expect(message).toContain(ERROR_500_BODY.reason);

    const windowMs = 20_000;
    const requests = await requestsDuring(windowMs);
    // Each reconcile tries a request up to 4 times in ~4 s; the work queue then waits 0.5 s doubling.
    // A hot loop would be hundreds per second; backing off, the 12 objects make a few per second at most.
    console.log(`500s: ${requests} requests in ${windowMs / 1000} s for ${SICK_OBJECTS} objects (${(requests / (windowMs / 1000)).toFixed(1)}/s)`);
    expect(requests).toBeLessThan(SICK_OBJECTS * 4 * 4);
    expect(requests).toBeGreaterThan(0);

    await proxy.setMode("pass");
    const tookMs = await allReady(names, 120_000);
    console.log(`500s over: ${SICK_OBJECTS} objects Ready ${(tookMs / 1000).toFixed(1)} s later`);
    // Their own backoff (0.5 s doubling) had reached some 16 s by then.
    expect(tookMs).toBeLessThan(60_000);
  }, 240_000);

  it("never answering: Ready=False Timeout, and a healthy cluster's objects are not held up meanwhile", async () => {
    await proxy.setMode("hang");
    const names = Array.from({ length: SICK_OBJECTS }, (_, i) => `hang-${i}`);
    for (const name of names) await apply(env.clients, sickQueue(name));
    // Every worker could be waiting on the silent cluster by now.
    await sleep(3_000);
    const healthy = Array.from({ length: 4 }, (_, i) => `healthy-${i}`);
    const started = Date.now();
    for (const name of healthy) await apply(env.clients, healthyQueue(name));
    await allReady(healthy, 60_000);
    const healthyMs = Date.now() - started;
    console.log(`a silent cluster: ${healthy.length} objects of a healthy cluster Ready in ${(healthyMs / 1000).toFixed(1)} s`);
    // A cluster is suspect once a request has waited 5 s (reachability.ts): then its other requests
    // are given up and one probe goes on alone, so at most one worker waits on it.
    expect(healthyMs).toBeLessThan(8_000);

    const messages = await allFailing(names, "Timeout", 120_000);
    for (const message of messages) expect(message).toMatch(/cannot reach the cluster of Secret .* (timed out after|given up)/);

    await proxy.setMode("pass");
    const tookMs = await allReady(names, 180_000);
    console.log(`silence over: ${SICK_OBJECTS} objects Ready ${(tookMs / 1000).toFixed(1)} s later`);
    // At most a cooldown (15 s) until the next probe, whose prompt answer brings them all back.
    expect(tookMs).toBeLessThan(30_000);
  }, 420_000);

  it(`answering every request after ${SLOW_ANSWER_MS / 1000} s: a healthy cluster's objects are Ready about as fast as alone, while ${SLOW_OBJECTS} objects of the slow one wait`, async () => {
    const count = 24;
    const baseline = Array.from({ length: count }, (_, i) => `alone-${i}`);
    let started = Date.now();
    await Promise.all(baseline.map((name) => apply(env.clients, healthyQueue(name))));
    await allReady(baseline, 60_000);
    const aloneMs = Date.now() - started;

    // Slow but answering: below the 5 s after which a cluster is suspect (reachability.ts), so
    // only the bound per cluster keeps its objects from taking every worker of the kind.
    await proxy.setMode("slow");
    proxy.resetCount();
    const slow = Array.from({ length: SLOW_OBJECTS }, (_, i) => `slow-${i}`);
    await Promise.all(slow.map((name) => apply(env.clients, sickQueue(name))));
    // The cluster gets one request before it has answered once (reachability.ts); after its first
    // (slow) answer it admits them all, and its objects' reconciles are under way.
    await eventuallyTrue(() => proxy.requests >= 12, 60_000);
    const beside = Array.from({ length: count }, (_, i) => `beside-slow-${i}`);
    started = Date.now();
    await Promise.all(beside.map((name) => apply(env.clients, healthyQueue(name))));
    await allReady(beside, 120_000);
    const besideMs = Date.now() - started;
    const slowReady = (await Promise.all(slow.map(async (name) => readyOf(await read(env.clients, "Queue", name, ns))?.status))).filter(
      (status) => status === "True",
    );
    console.log(
      `a cluster answering after ${SLOW_ANSWER_MS / 1000} s: ${count} objects of a healthy cluster Ready in ${(besideMs / 1000).toFixed(1)} s beside it, ${(aloneMs / 1000).toFixed(1)} s alone; ${slowReady.length} of ${SLOW_OBJECTS} slow ones Ready meanwhile`,
    );
    // The slow cluster's objects were still being worked on: it really was in the way.
    expect(slowReady.length).toBeLessThan(SLOW_OBJECTS);
    // Each slow reconcile holds a worker some 9 s (three requests); without a bound per cluster its
    // objects would take all 16 workers and the healthy ones would wait rounds of that.
    expect(besideMs).toBeLessThan(aloneMs * 2 + 3_000);

    await proxy.setMode("pass");
    await allReady(slow, 180_000);
  }, 420_000);

  it(`down for ${OUTAGE_SECONDS} s or more (connections refused): Ready=False Unreachable, requests counted, everything converges when it is back`, async () => {
    // The objects of the earlier tests are in sync: the outage turns them Unreachable as the drift
    // detector or a change finds it; a new object finds it at once.
    const names = Array.from({ length: SICK_OBJECTS }, (_, i) => `down-${i}`);
    await proxy.setMode("down");
    proxy.resetCount();
    const started = Date.now();
    for (const name of names) await apply(env.clients, sickQueue(name));
    const messages = await allFailing(names, "Unreachable");
    for (const message of messages) expect(message).toContain("cannot reach the cluster of Secret");
    // A refused connection never reaches the proxy: the operator's own attempts are counted.
    const attemptsBefore = env.managementRequests.length;
    const windowStarted = Date.now();
    // At least 10 s of it measured, however long the conditions took.
    await sleep(Math.max(10_000, OUTAGE_SECONDS * 1000 - (Date.now() - started)));
    const refused = env.managementRequests.slice(attemptsBefore).filter((a) => a.failure?.kind === "network").length;
    const windowSeconds = (Date.now() - windowStarted) / 1000;
    console.log(
      `down: ${refused} refused attempts in the last ${windowSeconds.toFixed(1)} s of the outage for ${SICK_OBJECTS * 3} objects (${(refused / windowSeconds).toFixed(1)}/s)`,
    );
    expect(refused / windowSeconds).toBeLessThan(SICK_OBJECTS * 3);
    await proxy.setMode("pass");
    const tookMs = await allReady(names, 360_000);
    console.log(`down ${OUTAGE_SECONDS} s: ${SICK_OBJECTS} objects Ready ${(tookMs / 1000).toFixed(1)} s after it came back`);
    expect(tookMs).toBeLessThan(30_000);
  }, 600_000);
});
