// The runtime across API server restarts, on a control plane of its own:
// - an informer outlives the restart: client-node's ListWatch stops on the connection error, the
//   supervisor restarts it with backoff, and changes made after the restart reach the cache;
// - an informer whose resourceVersion expired meanwhile relists (410 Gone);
// - a leader that cannot renew gives up leadership by its renew deadline and takes it back.
import { CoreV1Api, type V1ConfigMap } from "@kubernetes/client-node";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ControlPlane } from "../../../dev/control-plane.js";
import { Informer, LeaderElector, RESOURCES, createLogger, keyOf, makeClients, type InformerEventType } from "../../../operator/runtime/index.js";
import { eventually, loadKubeConfig } from "./helpers.js";

let controlPlane: ControlPlane;

beforeAll(async () => {
  controlPlane = await startControlPlane({ name: `runtime-restart-${process.pid}`, controllerManager: false });
});
afterAll(async () => {
  await controlPlane?.stop();
});

/**
 * Compacts etcd at its current revision. The harness does not expose etcd's URL, so it is read
 * from the etcd process's command line.
 */
async function compactEtcd(plane: ControlPlane): Promise<void> {
  const etcd = plane.processes.find((process) => process.name === "etcd");
  if (!etcd) throw new Error("no etcd process in the control plane");
  const args = (await readFile(`/proc/${etcd.pid}/cmdline`, "utf8")).split("\0");
  const url = args.find((arg) => arg.startsWith("--advertise-client-urls="))?.split("=")[1];
  if (!url) throw new Error("etcd's client URL not found on its command line");
  const post = async (path: string, body: object) => {
    const response = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`etcd ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { header?: { revision?: string } };
  };
  const { header } = await post("/v3/kv/range", { key: Buffer.from("/").toString("base64") });
  await post("/v3/kv/compaction", { revision: header?.revision, physical: true });
}

describe("the runtime across an API server restart", () => {
  it("reconnects by itself and sees creates, updates and deletes made after the restart", async () => {
    const kubeConfig = loadKubeConfig(controlPlane.kubeconfig);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const namespace = "restart";
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "kept" }, data: { v: "0" } } });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "doomed" }, data: { v: "0" } } });

    const log: string[] = [];
    const informer = new Informer<V1ConfigMap>(kubeConfig, RESOURCES.ConfigMap, {
      namespaces: [namespace],
      restartBackoff: { baseDelayMs: 200, maxDelayMs: 2_000 },
      logger: createLogger({ level: "debug", write: (line) => log.push(line) }),
    });
    const events: Array<[InformerEventType, string]> = [];
    informer.addHandler((type, object) => events.push([type, keyOf(object)]));
    informer.start();
    try {
      expect(await informer.waitForSync(10_000)).toBe(true);
      expect(informer.list().map(keyOf).sort()).toEqual(["restart/doomed", "restart/kept"]);
      const before = informer.stats;

      const restartStarted = Date.now();
      await controlPlane.restartApiServer();
      const restartMs = Date.now() - restartStarted;

      // Right away: the informer is most likely still waiting out its backoff.
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "created-after" }, data: { v: "1" } } });
      await core.patchNamespacedConfigMap({ namespace, name: "kept", body: [{ op: "replace", path: "/data/v", value: "2" }] });
      await core.deleteNamespacedConfigMap({ namespace, name: "doomed" });
      const changed = Date.now();

      await eventually(
        "cache reflects the changes made after the restart",
        () =>
          informer.get("created-after", namespace)?.data?.v === "1" &&
          informer.get("kept", namespace)?.data?.v === "2" &&
          informer.get("doomed", namespace) === undefined,
        30_000,
      );
      const caughtUpMs = Date.now() - changed;
      const after = informer.stats;
      console.log(JSON.stringify({ restartMs, caughtUpMs, watchRestarts: after.watchRestarts - before.watchRestarts, relists: after.lists - before.lists }));

      expect(after.watchRestarts).toBeGreaterThan(before.watchRestarts);
      expect(events.slice(2)).toEqual(
        expect.arrayContaining([
          ["add", "restart/created-after"],
          ["update", "restart/kept"],
          ["delete", "restart/doomed"],
        ]),
      );
      expect(log.some((line) => line.includes("list/watch failed; restarting"))).toBe(true);

      // And the watch is live again, not just a relist: a later change arrives too.
      await core.patchNamespacedConfigMap({ namespace, name: "kept", body: [{ op: "replace", path: "/data/v", value: "3" }] });
      await eventually("a later update", () => informer.get("kept", namespace)?.data?.v === "3", 10_000);
    } finally {
      await informer.stop();
    }
  });

  it("relists when its resourceVersion has expired (410 Gone) and drops what was deleted meanwhile", async () => {
    const kubeConfig = loadKubeConfig(controlPlane.kubeconfig);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const namespace = "expired";
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "old" }, data: { v: "0" } } });
    const log: string[] = [];
    const informer = new Informer<V1ConfigMap>(kubeConfig, RESOURCES.ConfigMap, {
      namespaces: [namespace],
      restartBackoff: { baseDelayMs: 200, maxDelayMs: 2_000 },
      logger: createLogger({ write: (line) => log.push(line) }),
    });
    const events: Array<[InformerEventType, string]> = [];
    informer.addHandler((type, object) => events.push([type, keyOf(object)]));
    informer.start();
    try {
      expect(await informer.waitForSync(10_000)).toBe(true);
      // Stopped, the informer keeps its resourceVersion. Changes; then a restart (a fresh watch
      // cache, which starts after them) and an etcd compaction (etcd forgets them too): resuming
      // from the old resourceVersion can only be refused with 410 Gone.
      await informer.stop();
      await core.deleteNamespacedConfigMap({ namespace, name: "old" });
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "new" }, data: { v: "1" } } });
      await controlPlane.restartApiServer();
      await compactEtcd(controlPlane);
      const listsBefore = informer.stats.lists;
      informer.start();
      await eventually("cache after relist", () => informer.get("new", namespace) !== undefined && informer.get("old", namespace) === undefined, 30_000);
      expect(informer.stats.lists - listsBefore).toBe(1);
      expect(log.some((line) => line.includes("410 Gone"))).toBe(true);
      expect(events).toEqual([
        ["add", "expired/old"],
        ["delete", "expired/old"],
        ["add", "expired/new"],
      ]);
    } finally {
      await informer.stop();
    }
  });

  it("gives up leadership when it cannot renew within the renew deadline, and takes it back", async () => {
    const kubeConfig = loadKubeConfig(controlPlane.kubeconfig);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: "election" } } });
    const transitions: Array<{ leading: boolean; at: number }> = [];
    const elector = new LeaderElector(makeClients(kubeConfig).coordination, {
      namespace: "election",
      name: "restart",
      identity: "only-candidate",
      leaseDurationMs: 2_000,
      renewDeadlineMs: 1_500,
      retryPeriodMs: 250,
      callbacks: {
        onStartedLeading: () => void transitions.push({ leading: true, at: Date.now() }),
        onStoppedLeading: () => void transitions.push({ leading: false, at: Date.now() }),
      },
    });
    const stop = new AbortController();
    const running = elector.run(stop.signal);
    try {
      await eventually("leading", () => elector.isLeader, 10_000);
      const restartStarted = Date.now();
      // Down for twice the renew deadline whatever the machine's speed: a kube-apiserver that is
      // back within the deadline (seen on a fast machine) is renewed against, and nothing is lost.
      await controlPlane.restartApiServer({ downMs: 3_000 });
      await eventually("leading again", () => transitions.filter((t) => t.leading).length === 2, 15_000).catch((error: unknown) => {
        throw new Error(`${String(error)}; transitions: ${JSON.stringify(transitions.map((t) => ({ ...t, afterMs: t.at - restartStarted })))}`);
      });
      expect(transitions.map((t) => t.leading)).toEqual([true, false, true]);
      // It stopped while the API server was down, within the renew deadline of its last renewal.
      const stoppedAfterMs = transitions[1]!.at - restartStarted;
      console.log(JSON.stringify({ stoppedLeadingAfterMs: stoppedAfterMs, leadingAgainAfterMs: transitions[2]!.at - restartStarted }));
      expect(stoppedAfterMs).toBeLessThan(1_500 + 250 + 500);
    } finally {
      stop.abort();
      await running;
    }
    expect(transitions.at(-1)?.leading).toBe(false);
  });
});
