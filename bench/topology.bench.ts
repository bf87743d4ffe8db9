// Benchmark of the topology controllers: N Queue objects applied at once against a real API server
// (local etcd + kube-apiserver + kube-controller-manager) and a real 3-node RabbitMQ cluster
// (2 disc + 1 ram local processes). Prints the rate at which they become Ready, the requests each
// one cost, and the API server and management API writes during a steady-state drift check
// (goal: 0), then the rate of deletion.
//
//   npm run bench                       # N = 100 and 1000
//   BENCH_SIZES=100 npm run bench       # other sizes
//   BENCH_CONCURRENCY=8 npm run bench   # reconciles at once of the one cluster (the operator's default is 4 per cluster)
//   BENCH_QUEUE_TYPE=quorum npm run bench
//
// RABBIT_OPERATOR_TEST_KUBECONFIG points it at a running control plane instead of starting one.
import type { KubernetesObject } from "@kubernetes/client-node";
import { API_VERSION } from "../operator/api/index.js";
import { startControlPlane } from "../dev/control-plane.js";
import { waitFor } from "../dev/exec.js";
import { apply } from "../dev/kube.js";
import { startRabbitCluster } from "../dev/rabbitmq-cluster.js";
import { DEFAULT_CONCURRENCY, DEFAULT_CONCURRENCY_PER_CLUSTER } from "../operator/controllers/topology/index.js";
import {
  managementWrites,
  readyOf,
  startTopologyEnvironment,
  topologyObject,
  writesIn,
  type TopologyEnvironment,
  type TopologyObject,
} from "../test/integration/controllers/topology/support.js";
import { inParallel } from "./support.js";

const SIZES = (process.env.BENCH_SIZES ?? "100,1000").split(",").map(Number);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? DEFAULT_CONCURRENCY_PER_CLUSTER);
const QUEUE_TYPE = process.env.BENCH_QUEUE_TYPE ?? "classic";
const DRIFT_PERIOD_MS = 5_000;
/** Requests the benchmark itself has in flight while applying objects, like a busy kubectl apply. */
const CLIENT_PARALLELISM = 16;

async function listQueues(env: TopologyEnvironment, namespace: string): Promise<TopologyObject[]> {
  const list = await env.clients.objects.list(API_VERSION, "Queue", namespace);
  return list.items as TopologyObject[];
}

const rate = (count: number, ms: number) => `${((count * 1000) / ms).toFixed(1)}/s`;
const perObject = (count: number, n: number) => (count / n).toFixed(2);

async function driftRounds(env: TopologyEnvironment): Promise<number> {
  const metric = await env.manager.metrics.registry.getSingleMetric("rabbit_operator_topology_drift_checks_total")!.get();
  return metric.values[0]?.value ?? 0;
}

async function benchmark(env: TopologyEnvironment, n: number): Promise<void> {
  const namespace = env.namespaces[0]!;
  const names = Array.from({ length: n }, (_, i) => `bench-${n}-${i}`);
  console.log(`\n== ${n} ${QUEUE_TYPE} Queue objects, ${CONCURRENCY} reconciles at once ==`);

  env.resetCounters();
  const started = Date.now();
  await inParallel(names, CLIENT_PARALLELISM, (name) =>
    apply(env.clients, topologyObject("Queue", name, namespace, { name, type: QUEUE_TYPE }) as KubernetesObject),
  );
  const appliedMs = Date.now() - started;
  let ready = 0;
  await waitFor(
    `${n} queues Ready`,
    async () => {
      const queues = (await listQueues(env, namespace)).filter((q) => q.metadata?.name?.startsWith(`bench-${n}-`));
      ready = queues.filter((q) => readyOf(q)?.status === "True").length;
      return ready === n;
    },
    { timeoutMs: 30 * 60_000, intervalMs: 250 },
  );
  const readyMs = Date.now() - started;
  const kubeWrites = writesIn(env.kubeWrites, env.namespaces).length;
  const mgmt = env.managementRequests.length;
  const mgmtWrites = managementWrites(env.managementRequests).length;
  console.log(`applied in ${appliedMs} ms (${rate(n, appliedMs)}); all Ready after ${readyMs} ms: ${rate(n, readyMs)}`);
  console.log(`per object: ${perObject(kubeWrites, n)} API server writes, ${perObject(mgmt, n)} management requests (${perObject(mgmtWrites, n)} writes)`);

  // Steady state: let the last status writes settle, then count over two full drift rounds.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  env.resetCounters();
  const before = await driftRounds(env);
  const steadyStarted = Date.now();
  await waitFor("two drift rounds", async () => (await driftRounds(env)) >= before + 2, { timeoutMs: 10 * DRIFT_PERIOD_MS, intervalMs: 100 });
  const steadyMs = Date.now() - steadyStarted;
  const steadyGets = env.managementRequests.filter((r) => r.method === "GET").length;
  console.log(
    `steady state (${steadyMs} ms, 2 drift rounds): ${writesIn(env.kubeWrites, env.namespaces).length} API server writes, ` +
      `${managementWrites(env.managementRequests).length} management writes, ${steadyGets} management GETs (${[...new Set(env.managementRequests.map((r) => r.path.split("?")[0]))].join(", ")})`,
  );

  const deleteStarted = Date.now();
  await inParallel(names, CLIENT_PARALLELISM, (name) => env.clients.objects.delete({ apiVersion: API_VERSION, kind: "Queue", metadata: { name, namespace } }));
  await waitFor(`${n} queues deleted`, async () => (await listQueues(env, namespace)).every((q) => !q.metadata?.name?.startsWith(`bench-${n}-`)), {
    timeoutMs: 30 * 60_000,
    intervalMs: 250,
  });
  const deletedMs = Date.now() - deleteStarted;
  console.log(`deleted (in Kubernetes and RabbitMQ) after ${deletedMs} ms: ${rate(n, deletedMs)}`);
}

async function main(): Promise<void> {
  const given = process.env.RABBIT_OPERATOR_TEST_KUBECONFIG;
  const controlPlane = given ? undefined : await startControlPlane({ name: `bench-${process.pid}` });
  const rabbit = await startRabbitCluster({ name: "bench", disc: 2, ram: 1 });
  let env: TopologyEnvironment | undefined;
  try {
    console.log(`RabbitMQ ${rabbit.nodes.length} nodes (2 disc + 1 ram) ready in ${rabbit.timings.startupMs} ms`);
    env = await startTopologyEnvironment(given ?? controlPlane!.kubeconfig, rabbit, {
      prefix: "bench",
      driftPeriodMs: DRIFT_PERIOD_MS,
      maxConcurrentReconciles: Math.max(CONCURRENCY, DEFAULT_CONCURRENCY),
      maxConcurrentPerCluster: CONCURRENCY,
    });
    for (const n of SIZES) await benchmark(env, n);
    const queuesLeft = (await rabbit.management().listQueueDefinitions()).filter((q) => q.name.startsWith("bench-"));
    console.log(`\nqueues left in RabbitMQ: ${queuesLeft.length}`);
  } finally {
    await env?.stop();
    await rabbit.stop();
    await controlPlane?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
