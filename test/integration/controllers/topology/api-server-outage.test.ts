// The topology controllers across an API server outage, on a control plane of their own: the
// API server stops while 60 queues are being declared, and comes back. Nothing is lost or
// declared twice, the management API is not hammered meanwhile (the requests are counted), and
// every object is Ready soon after the API server returns.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ControlPlane } from "../../../../dev/control-plane.js";
import { apply } from "../../../../dev/kube.js";
import { useRabbitCluster } from "../../../harness/rabbitmq/use-rabbit-cluster.js";
import { API_VERSION } from "../../../../operator/api/index.js";
import { readyOf, startTopologyEnvironment, topologyObject, type TopologyEnvironment, type TopologyObject } from "./support.js";

const OBJECTS = 60;
const DOWN_MS = 15_000;

const rabbit = useRabbitCluster({ name: "apiserver-outage", disc: 1 });
let controlPlane: ControlPlane;
let env: TopologyEnvironment;
let ns: string;

beforeAll(async () => {
  controlPlane = await startControlPlane({ name: `topology-outage-${process.pid}` });
  env = await startTopologyEnvironment(controlPlane.kubeconfig, rabbit, { namespaces: 1, driftPeriodMs: 5_000 });
  ns = env.namespaces[0]!;
}, 180_000);

afterAll(async () => {
  await env?.stop();
  await controlPlane?.stop();
}, 120_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const names = Array.from({ length: OBJECTS }, (_, i) => `outage-${String(i).padStart(2, "0")}`);
/** One listing, not a GET per object: a count that takes long to make would miss the middle of the work. */
const readyCount = async () => {
  const list = await env.clients.objects.list(API_VERSION, "Queue", ns);
  return (list.items as TopologyObject[]).filter((queue) => readyOf(queue)?.status === "True").length;
};

describe("an API server outage", () => {
  it(`down ${DOWN_MS / 1000} s in the middle of declaring ${OBJECTS} queues: each declared once, no request storm, all Ready soon after it returns`, async () => {
    // All at once: applied one by one, the first ones could all be Ready before the last one is applied.
    await Promise.all(names.map((name) => apply(env.clients, topologyObject("Queue", name, ns, { name }))));
    // The outage lands mid-work: some Ready, not all.
    let before = 0;
    for (let i = 0; i < 300 && (before = await readyCount()) < 10; i++) await sleep(20);
    expect(before).toBeGreaterThanOrEqual(10);
    expect(before).toBeLessThan(OBJECTS);

    const attemptsBefore = env.managementRequests.length;
    const outageStarted = Date.now();
    await controlPlane.restartApiServer({ downMs: DOWN_MS });
    const outageMs = Date.now() - outageStarted;
    const duringOutage = env.managementRequests.length - attemptsBefore;
    console.log(
      `${before} of ${OBJECTS} Ready when the API server stopped; down ${(outageMs / 1000).toFixed(1)} s; ${duringOutage} management requests meanwhile`,
    );
    // Each object at most a few reconciles in backoff, each a few requests: not a loop.
    expect(duringOutage).toBeLessThan(OBJECTS * 10);

    const back = Date.now();
    let ready = 0;
    for (let i = 0; i < 1_200 && (ready = await readyCount()) < OBJECTS; i++) await sleep(100);
    const convergedMs = Date.now() - back;
    console.log(`all ${ready} Ready ${(convergedMs / 1000).toFixed(1)} s after the API server was back`);
    expect(ready).toBe(OBJECTS);
    expect(convergedMs).toBeLessThan(60_000);

    const inRabbit = (await rabbit.management().listQueues({ vhost: "/", columns: ["name"] })).map((q) => q.name).filter((name) => name.startsWith("outage-"));
    expect(inRabbit.sort()).toEqual(names);
    // Declared once each: a declaration is a PUT of a queue that was absent.
    const puts = env.managementRequests.filter((a) => a.method === "PUT" && a.path.includes("/api/queues/") && a.status !== undefined && a.status < 300);
    const declaredTwice = names.filter((name) => puts.filter((p) => p.path.endsWith(`/${name}`)).length > 1);
    expect(declaredTwice).toEqual([]);
  }, 300_000);
});
