// Server-side apply, status, finalizers and delete against the real API server, with the real
// RabbitCluster builders: the first apply creates, a second apply of the same desired state
// issues no request at all (writes counted by client middleware), changes write only what
// changed, drift is repaired, fields no longer desired are removed.
import { CoreV1Api, type KubernetesObject, type V1ConfigMap } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { API_VERSION, RABBIT_CLUSTER, type RabbitCluster, type RabbitClusterStatus } from "../../../operator/api/index.js";
import { buildChildren } from "../../../operator/resources/index.js";
import {
  Informer,
  ObjectWriter,
  RESOURCES,
  StatusWriter,
  customResource,
  findCondition,
  isConflict,
  makeClients,
  setConditions,
  type ResourceType,
} from "../../../operator/runtime/index.js";
import { context, fullCluster } from "../../unit/fixtures.js";
import { createNamespace, eventually, installCrds, loadKubeConfig, writeRecorder } from "./helpers.js";

const kubeconfigPath = inject("kubeconfig");
const kubeConfig = loadKubeConfig(kubeconfigPath);
const recorder = writeRecorder();
const clients = makeClients(kubeConfig, { middleware: [recorder.middleware] });
const writer = new ObjectWriter(clients);
const statusWriter = new StatusWriter(clients);
const RABBIT_CLUSTERS = customResource(RABBIT_CLUSTER);
const CHILD_KINDS: ResourceType[] = [
  RESOURCES.ServiceAccount,
  RESOURCES.Secret,
  RESOURCES.ConfigMap,
  RESOURCES.Service,
  RESOURCES.StatefulSet,
  RESOURCES.PodDisruptionBudget,
];

let namespace: Awaited<ReturnType<typeof createNamespace>>;
let clusters: Informer<RabbitCluster>;
const children = new Map<string, Informer<KubernetesObject>>();

const informerFor = (object: KubernetesObject) => children.get(object.kind!)!;
const observedOf = (object: KubernetesObject) => informerFor(object).get(object.metadata!.name!, object.metadata!.namespace);

beforeAll(async () => {
  await installCrds(kubeconfigPath);
  namespace = await createNamespace(kubeConfig, "apply");
  clusters = new Informer<RabbitCluster>(kubeConfig, RABBIT_CLUSTERS, { namespaces: [namespace.name] });
  clusters.start();
  for (const kind of CHILD_KINDS) {
    const informer = new Informer<KubernetesObject>(kubeConfig, kind, {
      namespaces: [namespace.name],
      labelSelector: "app.kubernetes.io/managed-by=rabbit-operator",
    });
    informer.start();
    children.set(kind.kind, informer);
  }
  for (const informer of [clusters, ...children.values()]) expect(await informer.waitForSync(20_000)).toBe(true);
});

afterAll(async () => {
  await Promise.all([clusters, ...children.values()].map((informer) => informer?.stop()));
  await namespace?.remove();
});

/** Applies every child built from the cached cluster, each compared with its cached counterpart. */
async function applyChildren() {
  const stored = clusters.get("demo", namespace.name)!;
  const results = [];
  for (const desired of buildChildren(stored, context)) {
    const result = await writer.apply(desired, observedOf(desired));
    results.push({ key: `${desired.kind}/${desired.metadata!.name}`, written: result.written, differences: result.differences });
  }
  return results;
}

/** Waits until every informer has seen every object at the version the API server has now. */
async function cachesCaughtUp() {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const marker = await core.createNamespacedConfigMap({
    namespace: namespace.name,
    body: { metadata: { generateName: "marker-", labels: { "app.kubernetes.io/managed-by": "rabbit-operator" } } },
  });
  // Informers of one API server deliver events in resourceVersion order per kind; a marker written
  // last, once seen, shows the ConfigMap informer is current; the others get a moment more.
  await eventually("caches caught up", () => children.get("ConfigMap")!.get(marker.metadata!.name!, namespace.name) !== undefined);
  await core.deleteNamespacedConfigMap({ namespace: namespace.name, name: marker.metadata!.name! });
  await new Promise((resolve) => setTimeout(resolve, 300));
}

describe("server-side apply of the RabbitCluster children", () => {
  it("creates every child, then writes nothing when applied again with the same desired state", async () => {
    const spec = fullCluster().spec;
    const created = await writer.apply<RabbitCluster>(
      { apiVersion: API_VERSION, kind: "RabbitCluster", metadata: { name: "demo", namespace: namespace.name }, spec },
      undefined,
    );
    expect(created.written).toBe(true);
    await eventually("cluster cached", () => clusters.get("demo", namespace.name) !== undefined);

    recorder.reset();
    const first = await applyChildren();
    expect(first.map((r) => r.written)).toEqual(first.map(() => true));
    expect(recorder.writes).toHaveLength(first.length);
    expect(recorder.writes.every((w) => w.method === "PATCH")).toBe(true);
    await eventually("children cached", () => buildChildren(clusters.get("demo", namespace.name)!, context).every((child) => observedOf(child) !== undefined));
    await cachesCaughtUp();

    recorder.reset();
    const versionsBefore = buildChildren(clusters.get("demo", namespace.name)!, context).map((child) => observedOf(child)?.metadata?.resourceVersion);
    const second = await applyChildren();
    expect(second.filter((r) => r.written || r.differences.length > 0)).toEqual([]);
    expect(recorder.writes).toEqual([]);
    await cachesCaughtUp();
    const versionsAfter = buildChildren(clusters.get("demo", namespace.name)!, context).map((child) => observedOf(child)?.metadata?.resourceVersion);
    expect(versionsAfter).toEqual(versionsBefore);
  });

  it("writes only the children a spec change affects", async () => {
    const stored = clusters.get("demo", namespace.name)!;
    const generation = stored.metadata.generation ?? 0;
    const changed = { ...stored.spec, nodes: { ...stored.spec.nodes, ram: stored.spec.nodes.ram + 1 } };
    await writer.apply<RabbitCluster>(
      { apiVersion: API_VERSION, kind: "RabbitCluster", metadata: { name: "demo", namespace: namespace.name }, spec: changed },
      stored,
    );
    await eventually("new generation cached", () => (clusters.get("demo", namespace.name)?.metadata.generation ?? 0) > generation);

    recorder.reset();
    const results = await applyChildren();
    const written = results.filter((r) => r.written).map((r) => r.key);
    expect(written).toContain("StatefulSet/demo-ram");
    expect(written).not.toContain("StatefulSet/demo-disc");
    expect(written).not.toContain("Secret/demo-erlang-cookie");
    expect(recorder.writes).toHaveLength(written.length);
    await cachesCaughtUp();
    recorder.reset();
    expect((await applyChildren()).filter((r) => r.written)).toEqual([]);
    expect(recorder.writes).toEqual([]);
  });

  it("repairs drift in a field it sets, and leaves alone fields others set", async () => {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await core.patchNamespacedConfigMap({
      namespace: namespace.name,
      name: "demo-server-conf",
      body: [
        { op: "add", path: "/data/operator-defaults.conf", value: "tampered = true\n" },
        { op: "add", path: "/metadata/annotations", value: { "someone.else/note": "hello" } },
      ],
    });
    await eventually(
      "drift cached",
      () =>
        (observedOf({ kind: "ConfigMap", metadata: { name: "demo-server-conf", namespace: namespace.name } }) as V1ConfigMap)?.data?.[
          "operator-defaults.conf"
        ] === "tampered = true\n",
    );

    recorder.reset();
    const results = await applyChildren();
    const repaired = results.find((r) => r.key === "ConfigMap/demo-server-conf")!;
    expect(repaired.written).toBe(true);
    expect(repaired.differences.join("\n")).toContain("operator-defaults.conf");
    expect(recorder.writes).toHaveLength(1);

    const stored = await core.readNamespacedConfigMap({ namespace: namespace.name, name: "demo-server-conf" });
    expect(stored.data?.["operator-defaults.conf"]).not.toBe("tampered = true\n");
    expect(stored.metadata?.annotations?.["someone.else/note"]).toBe("hello");
  });

  it("removes a field it set before and no longer desires", async () => {
    const base: V1ConfigMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "shrinking", namespace: namespace.name, labels: { "app.kubernetes.io/managed-by": "rabbit-operator" } },
      data: { keep: "1", drop: "2" },
    };
    await writer.apply(base, undefined);
    await eventually("cached", () => observedOf(base) !== undefined);
    const smaller: V1ConfigMap = { ...base, data: { keep: "1" } };
    const result = await writer.apply(smaller, observedOf(smaller));
    expect(result.differences).toEqual(["data.drop: set before, no longer desired"]);
    await eventually("field removed", () => (observedOf(smaller) as V1ConfigMap | undefined)?.data?.drop === undefined);
    expect((await writer.apply(smaller, observedOf(smaller))).written).toBe(false);
  });
});

describe("status", () => {
  const statusFor = (conditions: RabbitClusterStatus["conditions"], generation: number): RabbitClusterStatus => ({
    observedGeneration: generation,
    conditions,
    endpoints: { amqp: "amqp://demo:5672", management: "http://demo:15672" },
  });

  it("patches status when it differs and skips the write when it does not; lastTransitionTime holds", async () => {
    const stored = clusters.get("demo", namespace.name)!;
    const generation = stored.metadata.generation!;
    const t0 = Date.UTC(2025, 0, 1);
    const { conditions } = setConditions(
      stored.status?.conditions,
      [
        { type: "Ready", status: "False", reason: "Creating", message: "0 of 5 nodes running", observedGeneration: generation },
        { type: "ReconcileSuccess", status: "True", reason: "Applied", message: "", observedGeneration: generation },
      ],
      t0,
    );

    recorder.reset();
    expect(await statusWriter.update(RABBIT_CLUSTERS, stored, statusFor(conditions, generation))).toBe(true);
    expect(recorder.writes).toEqual([{ method: "PATCH", path: `/apis/rabbit.operator.dev/v1alpha1/namespaces/${namespace.name}/rabbitclusters/demo/status` }]);
    await eventually("status cached", () => clusters.get("demo", namespace.name)?.status?.observedGeneration === generation);

    recorder.reset();
    const cached = clusters.get("demo", namespace.name)!;
    const again = setConditions(
      cached.status?.conditions,
      [
        { type: "Ready", status: "False", reason: "Creating", message: "0 of 5 nodes running", observedGeneration: generation },
        { type: "ReconcileSuccess", status: "True", reason: "Applied", message: "", observedGeneration: generation },
      ],
      t0 + 60_000,
    );
    expect(again.changed).toBe(false);
    expect(await statusWriter.update(RABBIT_CLUSTERS, cached, statusFor(again.conditions, generation))).toBe(false);
    expect(recorder.writes).toEqual([]);

    // A new message, same status: written, transition time unchanged; a removed key is removed.
    const progressed = setConditions(
      cached.status?.conditions,
      [{ type: "Ready", status: "False", reason: "Creating", message: "3 of 5 nodes running", observedGeneration: generation }],
      t0 + 120_000,
    );
    expect(await statusWriter.update(RABBIT_CLUSTERS, cached, { observedGeneration: generation, conditions: progressed.conditions })).toBe(true);
    await eventually(
      "progress cached",
      () => findCondition(clusters.get("demo", namespace.name)?.status?.conditions, "Ready")?.message === "3 of 5 nodes running",
    );
    const latest = clusters.get("demo", namespace.name)!;
    expect(findCondition(latest.status?.conditions, "Ready")?.lastTransitionTime).toBe("2025-01-01T00:00:00Z");
    expect(latest.status?.endpoints).toBeUndefined();
    expect(latest.spec.nodes).toEqual(stored.spec.nodes);
  });
});

describe("finalizers and delete", () => {
  const FINALIZER = "rabbit.operator.dev/cleanup";

  it("adds and removes a finalizer with a resourceVersion precondition", async () => {
    const stored = clusters.get("demo", namespace.name)!;
    recorder.reset();
    const withFinalizer = await writer.addFinalizer(stored, FINALIZER);
    expect(withFinalizer.metadata?.finalizers).toEqual([FINALIZER]);
    expect(await writer.addFinalizer(withFinalizer, FINALIZER)).toBe(withFinalizer);
    expect(recorder.writes).toHaveLength(1);

    // The object read before the finalizer was added is stale: removing from it must not win.
    const stale = await writer
      .removeFinalizer({ ...stored, metadata: { ...stored.metadata, finalizers: [FINALIZER] } }, FINALIZER)
      .catch((error: unknown) => error);
    expect(isConflict(stale)).toBe(true);

    const removed = await writer.removeFinalizer(withFinalizer, FINALIZER);
    expect(removed.metadata?.finalizers ?? []).toEqual([]);
  });

  it("deletes with preconditions and propagation; false when already gone", async () => {
    const shrinking = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "shrinking", namespace: namespace.name } };
    expect(await writer.delete(shrinking)).toBe(true);
    expect(await writer.delete(shrinking)).toBe(false);

    const cluster = clusters.get("demo", namespace.name)!;
    const wrongIncarnation = await writer.delete(cluster, { preconditions: { uid: "00000000-0000-0000-0000-000000000000" } }).catch((error: unknown) => error);
    expect(isConflict(wrongIncarnation)).toBe(true);
    expect(await writer.delete(cluster, { preconditions: { uid: cluster.metadata.uid } })).toBe(true);
    await eventually("cluster gone", () => clusters.get("demo", namespace.name) === undefined);

    // Foreground: the owner stays (with a deletionTimestamp) until the garbage collector has
    // deleted its dependents. A core kind, which the garbage collector watches from its start
    // (it learns of new CRDs only at its next discovery, up to 30 s later).
    const configMaps = children.get("ConfigMap")!;
    const labels = { "app.kubernetes.io/managed-by": "rabbit-operator" };
    const owner = await writer.apply<V1ConfigMap>(
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "owner", namespace: namespace.name, labels } },
      undefined,
    );
    const ownerReferences = [
      { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.object.metadata!.uid!, controller: true, blockOwnerDeletion: true },
    ];
    await writer.apply<V1ConfigMap>(
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "dependent", namespace: namespace.name, labels, ownerReferences } },
      undefined,
    );
    await eventually("both cached", () => configMaps.get("owner", namespace.name) !== undefined && configMaps.get("dependent", namespace.name) !== undefined);
    let ownerSeenDeleting = false;
    configMaps.addHandler((_type, object) => {
      if (object.metadata?.name === "owner" && object.metadata.deletionTimestamp) ownerSeenDeleting = true;
    });
    expect(await writer.delete(owner.object, { propagationPolicy: "Foreground" })).toBe(true);
    await eventually(
      "dependent and owner gone",
      () => configMaps.get("owner", namespace.name) === undefined && configMaps.get("dependent", namespace.name) === undefined,
      30_000,
    );
    expect(ownerSeenDeleting).toBe(true);
  });
});
