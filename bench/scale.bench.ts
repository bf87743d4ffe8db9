// Scale benchmark of the topology controllers (issue #19): the operator as users run it (its own
// process, compiled by `npm run build` and run by plain node, as the image runs it) against a real API server (local etcd + kube-apiserver) and
// a real RabbitMQ cluster (2 disc + 1 ram local processes), N classic Queue objects reaching it
// through a connection Secret. Each scenario prints its figures next to the limit measured in the
// same run from this process at the same concurrency: the management API's raw declare rate (a
// loop of PUTs) and the API server's raw status-patch rate.
//
//   npm run bench:scale                       # N = 1000
//   BENCH_N=10000 npm run bench:scale
//   BENCH_STEADY_SECONDS=600 npm run bench:scale   # the steady-state window (default 60)
//   BENCH_CONCURRENCY=16 npm run bench:scale        # --topology-concurrency-per-cluster, and the limits' concurrency
//   BENCH_OPERATOR_NODE_ARGS="--max-semi-space-size=4" npm run bench:scale
//   BENCH_PROFILE_DIR=/tmp/prof npm run bench:scale  # a CPU profile per operator life, and a heap
//                                                    # snapshot after the drain (bench/profile-summary.ts reads them)
//
// Scenarios, in order: backlog drain (N objects made while the operator is stopped, then it
// starts); steady state (nothing changes); drift (1% of the queues deleted in RabbitMQ); restart
// with N in sync; delete all N. The operator's RSS and CPU time are sampled throughout from its
// /metrics. One JSON line per run is appended to bench/results/scale.jsonl; a table is printed.
import { PatchStrategy, setHeaderOptions, type KubernetesObject } from "@kubernetes/client-node";
import { appendFile, mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { API_VERSION, TOPOLOGY_KINDS } from "../operator/api/index.js";
import { DEFAULT_CONCURRENCY, DEFAULT_CONCURRENCY_PER_CLUSTER } from "../operator/controllers/topology/index.js";
import { ManagementClient } from "../operator/rabbitmq/management.js";
import { makeClients } from "../operator/runtime/clients.js";
import { Informer } from "../operator/runtime/informer.js";
import type { KubeObject } from "../operator/runtime/kube-object.js";
import { customResource } from "../operator/runtime/resource-types.js";
import { startControlPlane } from "../dev/control-plane.js";
import { run as runCommand, waitFor } from "../dev/exec.js";
import { apply, createNamespace, installCrds, kubeClients, kubectl, type KubeClients } from "../dev/kube.js";
import { REPO_ROOT } from "../dev/paths.js";
import { freePort } from "../dev/ports.js";
import { startRabbitCluster } from "../dev/rabbitmq-cluster.js";
import { OperatorProcess } from "../test/integration/faults/operator-process.js";
import { readyOf, topologyObject, type TopologyObject } from "../test/integration/controllers/topology/support.js";
import { inParallel, metricSum, perSecond, seconds } from "./support.js";

const N = Number(process.env.BENCH_N ?? 1000);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 60);
/** The operator's reconciles at once of one cluster per kind (its default), and the limits' concurrency. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? DEFAULT_CONCURRENCY_PER_CLUSTER);
const DRIFT_PERIOD_SECONDS = 10;
/** Requests the benchmark itself has in flight while applying objects, like a busy kubectl apply. */
const CLIENT_PARALLELISM = 16;
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
/** Options for the operator's node (e.g. "--max-semi-space-size=4"), to compare their cost and memory. */
const NODE_ARGS = (process.env.BENCH_OPERATOR_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
const RESULTS = join(REPO_ROOT, "bench", "results", "scale.jsonl");
const SECRET = "rabbit";

type Figures = Record<string, number | string>;

const WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"];

/** What the operator process has done so far, from its /metrics. */
interface Counters {
  kubeWrites: number;
  managementWrites: number;
  managementReads: number;
  queueReconciles: number;
  queueDepth: number;
  rssBytes: number;
  /** V8's heap as allocated (used and garbage not yet collected) and memory outside it (buffers). */
  heapTotalBytes: number;
  externalBytes: number;
  cpuSeconds: number;
}

async function operatorCounters(metricsPort: number): Promise<Counters> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return {
    kubeWrites: WRITE_METHODS.reduce((sum, method) => sum + metricSum(text, "rest_client_requests_total", { method }), 0),
    managementWrites: WRITE_METHODS.reduce((sum, method) => sum + metricSum(text, "rabbit_operator_management_requests_total", { method }), 0),
    managementReads: metricSum(text, "rabbit_operator_management_requests_total", { method: "GET" }),
    queueReconciles: metricSum(text, "controller_runtime_reconcile_total", { controller: "queue" }),
    queueDepth: metricSum(text, "workqueue_depth", { name: "queue" }),
    rssBytes: metricSum(text, "process_resident_memory_bytes"),
    heapTotalBytes: metricSum(text, "nodejs_heap_size_total_bytes"),
    externalBytes: metricSum(text, "nodejs_external_memory_bytes"),
    cpuSeconds: metricSum(text, "process_cpu_seconds_total"),
  };
}

const difference = (after: Counters, before: Counters) => ({
  kubeWrites: after.kubeWrites - before.kubeWrites,
  managementWrites: after.managementWrites - before.managementWrites,
  managementReads: after.managementReads - before.managementReads,
  queueReconciles: after.queueReconciles - before.queueReconciles,
  cpuSeconds: Math.round((after.cpuSeconds - before.cpuSeconds) * 10) / 10,
});

/** The API server's answers with code 409 (conflicts), from its own /metrics. */
async function apiServerConflicts(clients: KubeClients): Promise<number> {
  return metricSum(await kubectl(clients, ["get", "--raw", "/metrics"]), "apiserver_request_total", { code: "409" });
}

async function listQueueObjects(clients: KubeClients, namespace: string): Promise<TopologyObject[]> {
  return (await clients.objects.list(API_VERSION, "Queue", namespace)).items as TopologyObject[];
}

async function heapSnapshot(operator: OperatorProcess, dir: string): Promise<void> {
  const pid = operator.pid;
  if (!pid) return;
  const snapshots = async () => (await readdir(dir)).filter((file) => file.endsWith(".heapsnapshot"));
  const before = new Set(await snapshots());
  process.kill(pid, "SIGUSR2");
  let file: string | undefined;
  await waitFor("the heap snapshot to begin", async () => (file = (await snapshots()).find((name) => !before.has(name))) !== undefined, {
    timeoutMs: 60_000,
    intervalMs: 200,
  });
  // Complete when its size stops changing (the process writes it synchronously, in one go).
  let size = -1;
  await waitFor(
    "the heap snapshot to be written",
    async () => {
      const now = (await stat(join(dir, file!))).size;
      const settled = now > 0 && now === size;
      size = now;
      return settled;
    },
    { timeoutMs: 120_000, intervalMs: 1_000 },
  );
}

async function main(): Promise<void> {
  const commit = (await runCommand("git", ["describe", "--always", "--dirty"], { cwd: REPO_ROOT })).stdout.trim();
  const run: Figures = {
    date: new Date().toISOString(),
    commit,
    nodeArgs: NODE_ARGS.join(" "),
    n: N,
    concurrency: CONCURRENCY,
    rabbitmq: "",
    steadySeconds: STEADY_SECONDS,
  };
  const logDir = await mkdtemp(join(tmpdir(), "rabbit-operator-bench-"));
  await runCommand("npm", ["run", "--silent", "build"], { cwd: REPO_ROOT });
  if (PROFILE_DIR) await mkdir(PROFILE_DIR, { recursive: true });
  const controlPlane = await startControlPlane({ name: `bench-scale-${process.pid}` });
  const rabbit = await startRabbitCluster({ name: "scale", disc: 2, ram: 1 });
  run.rabbitmq = rabbit.version;
  const clients = kubeClients(controlPlane.kubeconfig);
  let operator: OperatorProcess | undefined;
  let sampling: NodeJS.Timeout | undefined;
  let watcher: Informer<TopologyObject & KubeObject> | undefined;
  try {
    await installCrds(clients);
    const home = (await createNamespace(clients, "scale")).name;
    const limits = (await createNamespace(clients, "limits")).name;
    await clients.core.createNamespacedSecret({
      namespace: home,
      body: { metadata: { name: SECRET }, stringData: { uri: rabbit.managementUrl(), username: rabbit.admin.username, password: rabbit.admin.password } },
    });
    const admin = new ManagementClient(rabbit.connection(), { timeoutMs: 30_000 });
    const queue = (name: string, namespace: string) =>
      topologyObject("Queue", name, namespace, { name, type: "classic", rabbitmqClusterReference: { connectionSecret: { name: SECRET } } }) as KubernetesObject;
    const names = Array.from({ length: N }, (_, i) => `q-${i}`);

    // The limits, from this process at the operator's concurrency.
    let started = Date.now();
    await inParallel(names, CONCURRENCY, (name) => admin.declareQueue("/", `limit-${name}`, { type: "classic", durable: true }));
    run.limitManagementDeclarePerSecond = perSecond(N, Date.now() - started);
    await inParallel(names, CLIENT_PARALLELISM, (name) => admin.deleteQueue("/", `limit-${name}`));
    await inParallel(names, CLIENT_PARALLELISM, (name) => apply(clients, queue(name, limits)));
    started = Date.now();
    // As the operator writes a status (runtime/status.ts): a merge patch of the status subresource.
    const [group, version] = API_VERSION.split("/") as [string, string];
    const asMergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    // The operator's own clients (keep-alive connections), so the limit is not the client's.
    const { customObjects } = makeClients(clients.kc);
    await inParallel(names, CONCURRENCY, (name) =>
      customObjects.patchNamespacedCustomObjectStatus(
        {
          group,
          version,
          plural: "queues",
          namespace: limits,
          name,
          body: {
            status: {
              conditions: [{ type: "Ready", status: "True", reason: "Bench", message: "a status write", lastTransitionTime: new Date().toISOString() }],
            },
          },
          fieldManager: "bench",
        },
        asMergePatch,
      ),
    );
    run.limitStatusPatchPerSecond = perSecond(N, Date.now() - started);

    // Backlog: the objects exist before the operator starts.
    started = Date.now();
    await inParallel(names, CLIENT_PARALLELISM, (name) => apply(clients, queue(name, home)));
    run.applyPerSecond = perSecond(N, Date.now() - started);

    const metricsPort = await freePort();
    operator = new OperatorProcess({
      kubeconfig: controlPlane.kubeconfig,
      namespaces: [home],
      logFile: join(logDir, "operator.log"),
      driftPeriodSeconds: DRIFT_PERIOD_SECONDS,
      args: [
        `--metrics-port=${metricsPort}`,
        "--log-level=info",
        `--topology-concurrency-per-cluster=${CONCURRENCY}`,
        `--topology-concurrency=${Math.max(CONCURRENCY, DEFAULT_CONCURRENCY)}`,
      ],
      compiledEntry: join(REPO_ROOT, "dist", "operator", "main.js"),
      nodeArgs: [
        ...NODE_ARGS,
        ...(PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`, "--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${PROFILE_DIR}`] : []),
      ],
    });
    let peak: Counters | undefined;
    const sample = async () => {
      if (!operator?.running) return;
      const counters = await operatorCounters(metricsPort).catch(() => undefined);
      if (counters && counters.rssBytes > (peak?.rssBytes ?? 0)) peak = counters;
    };
    // The objects as a watch reports them (the runtime's informer), rather than lists twice a second
    // whose cost (N objects serialized and parsed) would take CPU from what is measured.
    const queues = new Informer<TopologyObject & KubeObject>(clients.kc, customResource(TOPOLOGY_KINDS.find((kind) => kind.kind === "Queue")!), {
      namespaces: [home],
    });
    watcher = queues;
    queues.start();
    if (!(await queues.waitForSync())) throw new Error("the bench's informer of Queue objects did not sync");
    const readyCount = () => queues.list().filter((queue) => readyOf(queue)?.status === "True").length;
    const conflictsBefore = await apiServerConflicts(clients);
    started = Date.now();
    await operator.start();
    sampling = setInterval(() => void sample(), 1_000);
    const startCounters = await operatorCounters(metricsPort);
    await waitFor(`${N} queues Ready`, async () => readyCount() === N, { timeoutMs: 60 * 60_000, intervalMs: 100 });
    const drainMs = Date.now() - started;
    const drained = difference(await operatorCounters(metricsPort), startCounters);
    run.drainSeconds = seconds(drainMs);
    run.drainPerSecond = perSecond(N, drainMs);
    run.drainKubeWritesPerObject = drained.kubeWrites / N;
    run.drainManagementWritesPerObject = drained.managementWrites / N;
    run.drainManagementReadsPerObject = drained.managementReads / N;
    run.drainConflicts = (await apiServerConflicts(clients)) - conflictsBefore;
    run.drainCpuSeconds = drained.cpuSeconds;
    if (PROFILE_DIR) await heapSnapshot(operator, PROFILE_DIR);

    // Steady state: nothing changes.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    let before = await operatorCounters(metricsPort);
    await new Promise((resolve) => setTimeout(resolve, STEADY_SECONDS * 1000));
    const steady = difference(await operatorCounters(metricsPort), before);
    run.steadyKubeWrites = steady.kubeWrites;
    run.steadyManagementWrites = steady.managementWrites;
    run.steadyManagementReads = steady.managementReads;
    run.steadyCpuSeconds = steady.cpuSeconds;

    // Drift: 1% of the queues deleted in RabbitMQ behind the operator's back.
    const lost = names.filter((_, i) => i % 100 === 0);
    await inParallel(lost, CONCURRENCY, (name) => admin.deleteQueue("/", name));
    started = Date.now();
    await waitFor(
      `${lost.length} deleted queues back`,
      async () => {
        const present = new Set((await admin.listQueueDefinitions("/")).map((q) => q.name));
        return lost.every((name) => present.has(name));
      },
      { timeoutMs: 10 * 60_000, intervalMs: 250 },
    );
    run.driftRepairedSeconds = seconds(Date.now() - started);

    // A restart with everything in sync: every object verified, nothing written.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await operator.stop("SIGTERM");
    started = Date.now();
    await operator.start();
    before = await operatorCounters(metricsPort);
    await waitFor(
      "every Queue verified after the restart",
      async () => {
        const now = await operatorCounters(metricsPort);
        return now.queueReconciles >= N && now.queueDepth === 0;
      },
      { timeoutMs: 30 * 60_000, intervalMs: 250 },
    );
    const restart = difference(await operatorCounters(metricsPort), before);
    run.restartVerifiedSeconds = seconds(Date.now() - started);
    run.restartKubeWrites = restart.kubeWrites;
    run.restartManagementWrites = restart.managementWrites;

    // Delete all N, in Kubernetes and in RabbitMQ.
    started = Date.now();
    await inParallel(names, CLIENT_PARALLELISM, (name) =>
      clients.objects.delete({ apiVersion: API_VERSION, kind: "Queue", metadata: { name, namespace: home } }),
    );
    await waitFor(`${N} Queue objects gone`, async () => queues.list().length === 0, { timeoutMs: 60 * 60_000, intervalMs: 100 });
    // The watch saw it; the API server agrees.
    if ((await listQueueObjects(clients, home)).length > 0) throw new Error("Queue objects are left that the watch saw deleted");
    run.deleteSeconds = seconds(Date.now() - started);
    run.deletePerSecond = perSecond(N, Date.now() - started);
    run.queuesLeftInRabbitMQ = (await admin.listQueueDefinitions("/")).filter((q) => q.name.startsWith("q-")).length;
    await sample();
    const mebibytes = (bytes = 0) => Math.round(bytes / 2 ** 20);
    run.peakRssMiB = mebibytes(peak?.rssBytes);
    run.peakRssHeapTotalMiB = mebibytes(peak?.heapTotalBytes);
    run.peakRssExternalMiB = mebibytes(peak?.externalBytes);
  } finally {
    if (sampling) clearInterval(sampling);
    await watcher?.stop();
    await operator?.stop("SIGTERM");
    await rabbit.stop();
    await controlPlane.stop();
    await rm(logDir, { recursive: true, force: true });
  }

  await mkdir(join(REPO_ROOT, "bench", "results"), { recursive: true });
  await appendFile(RESULTS, JSON.stringify(run) + "\n");
  console.log(`\nscale benchmark, ${N} classic Queue objects, RabbitMQ ${run.rabbitmq}, concurrency ${CONCURRENCY} (appended to bench/results/scale.jsonl)`);
  const rows: [string, string, string][] = [
    [
      "backlog drain",
      `${run.drainPerSecond}/s (${run.drainSeconds} s)`,
      `management declare ${run.limitManagementDeclarePerSecond}/s, status patch ${run.limitStatusPatchPerSecond}/s`,
    ],
    [
      "per new object",
      `${run.drainKubeWritesPerObject} API writes, ${run.drainManagementWritesPerObject} mgmt writes, ${run.drainManagementReadsPerObject} mgmt reads, ${run.drainConflicts} 409s`,
      "goal: <= 2, 1, -, 0",
    ],
    [
      "steady state",
      `${run.steadyKubeWrites} API writes, ${run.steadyManagementWrites} mgmt writes, ${run.steadyManagementReads} mgmt reads in ${STEADY_SECONDS} s`,
      "goal: 0, 0, bulk lists only",
    ],
    ["drift (1% deleted)", `back in ${run.driftRepairedSeconds} s`, `drift period ${DRIFT_PERIOD_SECONDS} s; goal: < 60 s`],
    [
      "restart in sync",
      `verified in ${run.restartVerifiedSeconds} s, ${run.restartKubeWrites} API writes, ${run.restartManagementWrites} mgmt writes`,
      "goal: < 60 s, 0, 0",
    ],
    ["delete all", `${run.deletePerSecond}/s (${run.deleteSeconds} s), ${run.queuesLeftInRabbitMQ} left in RabbitMQ`, ""],
    [
      "operator",
      `peak RSS ${run.peakRssMiB} MiB (V8 heap ${run.peakRssHeapTotalMiB}, external ${run.peakRssExternalMiB}), CPU ${run.drainCpuSeconds} s in the drain`,
      "",
    ],
  ];
  const width = Math.max(...rows.map((row) => row[0].length));
  for (const [what, figures, limit] of rows) console.log(`${what.padEnd(width)}  ${figures}${limit ? `   [${limit}]` : ""}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
