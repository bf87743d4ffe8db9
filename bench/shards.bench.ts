// Benchmark of the sharded mode (issue #19): R replicas of the operator (compiled, each its own
// process, `--shards`) against a real API server (local etcd + kube-apiserver) and a real RabbitMQ
// (2 disc + 1 ram local processes), N classic Queue objects spread over K cluster references
// (connection Secrets to that RabbitMQ, each a shard key of its own). For each R: the backlog
// drain rate (objects made while no replica runs), the operator CPU time it took, and with R > 1
// the time for a SIGKILLed replica's shards to be held by the others.
//
//   npm run bench:shards                          # N = 1000, K = 12, 12 shards, R = 1 then 3
//   BENCH_N=3000 BENCH_REPLICAS=1,2,3 npm run bench:shards
//   BENCH_CLUSTERS=24 BENCH_SHARDS=24 npm run bench:shards
//   BENCH_LOG_DIR=/tmp/shards npm run bench:shards  # keeps the replicas' logs (at debug level)
//
// One JSON line per R is appended to bench/results/shards.jsonl; a table is printed.
import { CoordinationV1Api, type KubernetesObject } from "@kubernetes/client-node";
import { appendFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { API_VERSION, TOPOLOGY_KINDS } from "../operator/api/index.js";
import { SHARD_SET_LABEL, shardLeaseName } from "../operator/runtime/shard-coordinator.js";
import { Informer } from "../operator/runtime/informer.js";
import type { KubeObject } from "../operator/runtime/kube-object.js";
import { customResource } from "../operator/runtime/resource-types.js";
import { startControlPlane } from "../dev/control-plane.js";
import { run as runCommand, waitFor } from "../dev/exec.js";
import { apply, createNamespace, installCrds, kubeClients } from "../dev/kube.js";
import { REPO_ROOT } from "../dev/paths.js";
import { freePort } from "../dev/ports.js";
import { startRabbitCluster } from "../dev/rabbitmq-cluster.js";
import { OperatorProcess } from "../test/integration/faults/operator-process.js";
import { readyOf, topologyObject, type TopologyObject } from "../test/integration/controllers/topology/support.js";
import { inParallel, metricSum, perSecond, seconds } from "./support.js";

const N = Number(process.env.BENCH_N ?? 1000);
const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 12);
const SHARDS = Number(process.env.BENCH_SHARDS ?? 12);
const REPLICA_COUNTS = (process.env.BENCH_REPLICAS ?? "1,3").split(",").map(Number);
const CLIENT_PARALLELISM = 16;
const RESULTS = join(REPO_ROOT, "bench", "results", "shards.jsonl");

type Figures = Record<string, number | string>;

async function main(): Promise<void> {
  const commit = (await runCommand("git", ["describe", "--always", "--dirty"], { cwd: REPO_ROOT })).stdout.trim();
  await runCommand("npm", ["run", "--silent", "build"], { cwd: REPO_ROOT });
  // BENCH_LOG_DIR keeps the replicas' logs there (debug level); otherwise they go with the run.
  const keptLogs = process.env.BENCH_LOG_DIR;
  const logDir = keptLogs ?? (await mkdtemp(join(tmpdir(), "rabbit-operator-bench-shards-")));
  if (keptLogs) await mkdir(keptLogs, { recursive: true });
  const controlPlane = await startControlPlane({ name: `bench-shards-${process.pid}` });
  const rabbit = await startRabbitCluster({ name: "shards", disc: 2, ram: 1 });
  const clients = kubeClients(controlPlane.kubeconfig);
  const coordination = clients.kc.makeApiClient(CoordinationV1Api);
  const results: Figures[] = [];
  let replicas: OperatorProcess[] = [];
  let watcher: Informer<TopologyObject & KubeObject> | undefined;
  try {
    await installCrds(clients);
    const home = (await createNamespace(clients, "shards")).name;
    const leases = (await createNamespace(clients, "shard-leases")).name;
    for (let k = 0; k < CLUSTERS; k++) {
      await clients.core.createNamespacedSecret({
        namespace: home,
        body: {
          metadata: { name: `rabbit-${k}` },
          stringData: { uri: rabbit.managementUrl(), username: rabbit.admin.username, password: rabbit.admin.password },
        },
      });
    }
    const names = Array.from({ length: N }, (_, i) => `q-${i}`);
    const queue = (i: number) =>
      topologyObject("Queue", names[i]!, home, {
        name: names[i]!,
        type: "classic",
        rabbitmqClusterReference: { connectionSecret: { name: `rabbit-${i % CLUSTERS}` } },
      }) as KubernetesObject;
    const queues = new Informer<TopologyObject & KubeObject>(clients.kc, customResource(TOPOLOGY_KINDS.find((kind) => kind.kind === "Queue")!), {
      namespaces: [home],
    });
    watcher = queues;
    queues.start();
    if (!(await queues.waitForSync())) throw new Error("the bench's informer of Queue objects did not sync");
    const readyCount = () => queues.list().filter((object) => readyOf(object)?.status === "True").length;

    for (const count of REPLICA_COUNTS) {
      const set = `bench-${count}`;
      const run: Figures = { date: new Date().toISOString(), commit, rabbitmq: rabbit.version, n: N, clusters: CLUSTERS, shards: SHARDS, replicas: count };
      await inParallel(
        names.map((_, i) => i),
        CLIENT_PARALLELISM,
        (i) => apply(clients, queue(i)),
      );
      const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
      replicas = ports.map(
        (port, r) =>
          new OperatorProcess({
            kubeconfig: controlPlane.kubeconfig,
            namespaces: [home],
            logFile: join(logDir, `${set}-replica-${r}.log`),
            driftPeriodSeconds: 30,
            args: [
              `--metrics-port=${port}`,
              `--log-level=${keptLogs ? "debug" : "info"}`,
              `--shards=${SHARDS}`,
              `--leader-election-namespace=${leases}`,
              `--leader-election-id=${set}`,
            ],
            compiledEntry: join(REPO_ROOT, "dist", "operator", "main.js"),
          }),
      );
      const cpu = async () => {
        let sum = 0;
        for (const port of ports) sum += metricSum(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), "process_cpu_seconds_total");
        return sum;
      };
      let started = Date.now();
      await Promise.all(replicas.map((replica) => replica.start()));
      const cpuAtStart = await cpu();
      await waitFor(`${N} queues Ready`, async () => readyCount() === N, { timeoutMs: 60 * 60_000, intervalMs: 100 });
      const drainMs = Date.now() - started;
      run.drainSeconds = seconds(drainMs);
      run.drainPerSecond = perSecond(N, drainMs);
      run.drainCpuSeconds = Math.round(((await cpu()) - cpuAtStart) * 10) / 10;

      if (count > 1) {
        // The shards of replica 0, by its identity as its coordinator logs it.
        const holders = async () => {
          const list = await coordination.listNamespacedLease({ namespace: leases, labelSelector: `${SHARD_SET_LABEL}=${set}` });
          return new Map(list.items.map((lease) => [lease.metadata?.name ?? "", lease.spec?.holderIdentity ?? ""]));
        };
        const identity = (await replicas[0]!.logLines())
          .filter((line) => line.startsWith("{"))
          .map((line) => JSON.parse(line) as { msg?: string; identity?: string })
          .find((record) => record.msg === "holding shard")?.identity;
        if (!identity) throw new Error("replica 0 holds no shard");
        const before = await holders();
        const ofVictim = Array.from({ length: SHARDS }, (_, s) => shardLeaseName(set, s)).filter((name) => before.get(name) === identity);
        await replicas[0]!.stop("SIGKILL");
        started = Date.now();
        await waitFor(
          "the killed replica's shards held by the others",
          async () => {
            const now = await holders();
            return ofVictim.every((name) => now.get(name) && now.get(name) !== identity);
          },
          { timeoutMs: 120_000, intervalMs: 100 },
        );
        run.killedReplicaShards = ofVictim.length;
        run.shardsMovedSeconds = seconds(Date.now() - started);
      }

      await inParallel(names, CLIENT_PARALLELISM, (name) =>
        clients.objects.delete({ apiVersion: API_VERSION, kind: "Queue", metadata: { name, namespace: home } }),
      );
      await waitFor(`${N} Queue objects gone`, async () => queues.list().length === 0, { timeoutMs: 60 * 60_000, intervalMs: 100 });
      await Promise.all(replicas.map((replica) => replica.stop("SIGTERM")));
      replicas = [];
      results.push(run);
      await mkdir(join(REPO_ROOT, "bench", "results"), { recursive: true });
      await appendFile(RESULTS, JSON.stringify(run) + "\n");
    }
  } finally {
    await watcher?.stop();
    await Promise.all(replicas.map((replica) => replica.stop("SIGTERM")));
    await rabbit.stop();
    await controlPlane.stop();
    if (!keptLogs) await rm(logDir, { recursive: true, force: true });
  }

  console.log(`\nsharded mode, ${N} classic Queue objects over ${CLUSTERS} cluster references, ${SHARDS} shards (appended to bench/results/shards.jsonl)`);
  for (const run of results) {
    const moved =
      run.shardsMovedSeconds === undefined
        ? ""
        : `; a replica SIGKILLed: its ${run.killedReplicaShards} shards held by the others after ${run.shardsMovedSeconds} s`;
    console.log(
      `${String(run.replicas).padStart(2)} replica(s): drain ${run.drainPerSecond}/s (${run.drainSeconds} s), operator CPU ${run.drainCpuSeconds} s${moved}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
