// The Manager end to end against the real API server, with a small controller: every ConfigMap
// labelled role=source gets an owned "<name>-mirror" ConfigMap with the same data. Shows the
// wiring (informers -> owner mapping -> queue -> reconciler -> apply), a steady state that writes
// nothing, drift and deletion of the child repaired through the owner reference, the namespace
// restriction, events on transitions only, /metrics, /healthz, /readyz, leadership and shutdown.
import { CoordinationV1Api, CoreV1Api, EventsV1Api, type V1ConfigMap } from "@kubernetes/client-node";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  Manager,
  RESOURCES,
  createLogger,
  type Informer,
  type ObjectWriter,
  type EventRecorder,
  type ReconcileRequest,
  type Reconciler,
} from "../../../operator/runtime/index.js";
import { REPO_ROOT } from "../../../dev/paths.js";
import { createNamespace, eventually, loadKubeConfig, sleepMs, writeRecorder } from "./helpers.js";

const kubeconfigPath = inject("kubeconfig");
const kubeConfig = loadKubeConfig(kubeconfigPath);
const core = kubeConfig.makeApiClient(CoreV1Api);

class MirrorReconciler implements Reconciler {
  reconciles = 0;
  constructor(
    private readonly sources: Informer<V1ConfigMap>,
    private readonly mirrors: Informer<V1ConfigMap>,
    private readonly writer: ObjectWriter,
    private readonly events: EventRecorder,
  ) {}

  async reconcile({ namespace, name }: ReconcileRequest) {
    this.reconciles++;
    const source = this.sources.get(name, namespace);
    if (!source) return; // deleted: the garbage collector removes the mirror
    const mirrorName = `${name}-mirror`;
    const desired: V1ConfigMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: mirrorName,
        namespace,
        labels: { role: "mirror" },
        ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name, uid: source.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
      },
      data: source.data ?? {},
    };
    const observed = this.mirrors.get(mirrorName, namespace);
    const result = await this.writer.apply(desired, observed);
    if (result.written) await this.events.event(source, "Normal", observed ? "MirrorUpdated" : "MirrorCreated", result.differences.join("; "));
  }
}

let watched: Awaited<ReturnType<typeof createNamespace>>;
let ignored: Awaited<ReturnType<typeof createNamespace>>;
let manager: Manager;
let reconciler: MirrorReconciler;
const recorder = writeRecorder();
const LEASE = "mirror-controller";

beforeAll(async () => {
  [watched, ignored] = await Promise.all([createNamespace(kubeConfig, "mgr"), createNamespace(kubeConfig, "mgr-ignored")]);
  manager = new Manager({
    kubeConfig,
    namespaces: [watched.name],
    leaderElection: { namespace: watched.name, name: LEASE, leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
    metricsPort: 0,
    healthPort: 0,
    bindHost: "127.0.0.1",
    clientMiddleware: [recorder.middleware],
    logger: createLogger({ level: "warn" }),
  });
  const sources = manager.informer<V1ConfigMap>(RESOURCES.ConfigMap, { labelSelector: "role=source" });
  const mirrors = manager.informer<V1ConfigMap>(RESOURCES.ConfigMap, { labelSelector: "role=mirror" });
  reconciler = new MirrorReconciler(sources, mirrors, manager.writer, manager.events);
  manager.addController({ name: "mirror", for: sources, owns: [mirrors], reconciler, maxConcurrentReconciles: 2 });
  await manager.start();
});

afterAll(async () => {
  await manager?.stop();
  await Promise.all([watched?.remove(), ignored?.remove()]);
});

const mirrorOf = (name: string, namespace = watched.name) => core.readNamespacedConfigMap({ name: `${name}-mirror`, namespace }).catch(() => undefined);
const get = async (port: number, path: string) => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
};

describe("Manager", () => {
  it("becomes ready and leads", async () => {
    const [, healthPort] = manager.ports;
    await eventually("ready", async () => (await get(healthPort!, "/readyz")).status === 200, 15_000);
    expect((await get(healthPort!, "/healthz")).status).toBe(200);
    await eventually("leading", () => manager.isLeader, 15_000);
    const lease = await kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace: watched.name });
    expect(lease.spec?.holderIdentity).toMatch(/_/);
  });

  it("creates the child, then stays quiet: reconciles without writes", async () => {
    await core.createNamespacedConfigMap({
      namespace: watched.name,
      body: { metadata: { name: "app", labels: { role: "source" } }, data: { greeting: "hello" } },
    });
    await eventually("mirror created", async () => (await mirrorOf("app"))?.data?.greeting === "hello");
    await sleepMs(500);
    recorder.reset();
    const reconcilesBefore = reconciler.reconciles;
    // Changes that do not affect the mirror: a label on the source, which triggers a reconcile.
    await core.patchNamespacedConfigMap({
      namespace: watched.name,
      name: "app",
      body: [{ op: "add", path: "/metadata/annotations", value: { touched: "1" } }],
    });
    await eventually("reconciled again", () => reconciler.reconciles > reconcilesBefore);
    await sleepMs(500);
    // Lease renewals go on; reconciles write nothing.
    expect(recorder.writes.filter((w) => !w.path.includes("/leases/"))).toEqual([]);
  });

  it("repairs drift and recreates a deleted child through its owner reference", async () => {
    recorder.reset();
    await core.patchNamespacedConfigMap({ namespace: watched.name, name: "app-mirror", body: [{ op: "replace", path: "/data/greeting", value: "tampered" }] });
    await eventually("drift repaired", async () => (await mirrorOf("app"))?.data?.greeting === "hello");
    await core.deleteNamespacedConfigMap({ namespace: watched.name, name: "app-mirror" });
    await eventually("mirror recreated", async () => (await mirrorOf("app"))?.data?.greeting === "hello");
    expect(recorder.writes.filter((w) => w.method === "PATCH" && w.path.endsWith("/configmaps/app-mirror"))).toHaveLength(2);
  });

  it("ignores namespaces it does not watch", async () => {
    await core.createNamespacedConfigMap({ namespace: ignored.name, body: { metadata: { name: "other", labels: { role: "source" } }, data: { a: "b" } } });
    await sleepMs(1_000);
    expect(await mirrorOf("other", ignored.name)).toBeUndefined();
  });

  it("recorded an event per write of the mirror, none for quiet reconciles; identical ones aggregated", async () => {
    const source = await core.readNamespacedConfigMap({ namespace: watched.name, name: "app" });
    const events = await kubeConfig
      .makeApiClient(EventsV1Api)
      .listNamespacedEvent({ namespace: watched.name, fieldSelector: `regarding.uid=${source.metadata!.uid}` });
    // Created, updated (drift), created again (deleted child): the second creation is identical
    // to the first, so it is counted in the first Event's series instead of written anew.
    expect(events.items.map((event) => event.reason).sort()).toEqual(["MirrorCreated", "MirrorUpdated"]);
  });

  it("serves reconcile, queue and request metrics", async () => {
    const [metricsPort] = manager.ports;
    const { status, body } = await get(metricsPort!, "/metrics");
    expect(status).toBe(200);
    expect(body).toMatch(/controller_runtime_reconcile_total\{controller="mirror",result="success"\} [1-9]/);
    expect(body).toMatch(/controller_runtime_reconcile_errors_total\{controller="mirror"\} 0/);
    expect(body).toMatch(/controller_runtime_reconcile_time_seconds_count\{controller="mirror"\} [1-9]/);
    expect(body).toMatch(/workqueue_depth\{name="mirror"\} 0/);
    expect(body).toMatch(/workqueue_adds_total\{name="mirror"\} [1-9]/);
    expect(body).toMatch(/rest_client_requests_total\{method="PATCH"\} [1-9]/);
    expect(body).toMatch(/leader_election_master_status\{name="mirror-controller"\} 1/);
    expect(body).toMatch(/process_cpu_seconds_total/);
  });

  it("shuts down gracefully: releases the Lease, closes its servers", async () => {
    const ports = manager.ports;
    await manager.stop();
    const lease = await kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace: watched.name });
    expect(lease.spec?.holderIdentity ?? "").toBe("");
    await expect(fetch(`http://127.0.0.1:${ports[0]}/metrics`)).rejects.toThrow();
  });
});

describe("an operator process on SIGTERM", () => {
  it("finishes the reconcile in flight, releases the Lease and exits 0", async () => {
    const lease = "shutdown-test";
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "manager-child.ts")], {
      cwd: REPO_ROOT,
      env: { ...process.env, MANAGER_KUBECONFIG: kubeconfigPath, MANAGER_NAMESPACE: watched.name, MANAGER_LEASE: lease },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const lines: Array<{ event: string; at: number; aborted?: boolean }> = [];
    createInterface({ input: child.stdout! }).on("line", (line) => lines.push(JSON.parse(line)));
    try {
      await core.createNamespacedConfigMap({ namespace: watched.name, body: { metadata: { name: "slow", labels: { slow: "yes" } } } });
      await eventually("reconcile started", () => lines.some((l) => l.event === "reconcile-started"), 30_000);
      const signalled = Date.now();
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      const finished = lines.find((l) => l.event === "reconcile-finished");
      expect(finished?.aborted).toBe(true);
      expect(lines.map((l) => l.event).slice(-2)).toEqual(["reconcile-finished", "exited"]);
      const stored = await kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: lease, namespace: watched.name });
      expect(stored.spec?.holderIdentity ?? "").toBe("");
      console.log(JSON.stringify({ shutdownMs: Date.now() - signalled }));
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    }
  });
});
