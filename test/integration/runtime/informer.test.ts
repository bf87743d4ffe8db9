// Informers against the real API server: the cache follows creates, updates and deletes, in the
// namespaces asked for only; label queries; resync; child objects map to their owner's key.
import { CoreV1Api, type V1ConfigMap, type V1Secret } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Informer, RESOURCES, keyOf, ownerKeys, type InformerEventType } from "../../../operator/runtime/index.js";
import { createNamespace, eventually, loadKubeConfig } from "./helpers.js";

const kubeConfig = loadKubeConfig(inject("kubeconfig"));
const core = kubeConfig.makeApiClient(CoreV1Api);
let first: Awaited<ReturnType<typeof createNamespace>>;
let second: Awaited<ReturnType<typeof createNamespace>>;
let unwatched: Awaited<ReturnType<typeof createNamespace>>;

beforeAll(async () => {
  [first, second, unwatched] = await Promise.all([
    createNamespace(kubeConfig, "inf-a"),
    createNamespace(kubeConfig, "inf-b"),
    createNamespace(kubeConfig, "inf-c"),
  ]);
});
afterAll(async () => {
  await Promise.all([first, second, unwatched].map((namespace) => namespace?.remove()));
});

const configMap = (namespace: string, name: string, data: Record<string, string>, labels: Record<string, string> = {}): V1ConfigMap => ({
  metadata: { name, namespace, labels },
  data,
});

describe("Informer", () => {
  it("caches only metadata when asked: a Secret's value never enters it, from the list or the watch", async () => {
    const secretValue = "s3cr3t-value-never-cached";
    await core.createNamespacedSecret({ namespace: first.name, body: { metadata: { name: "listed" }, stringData: { password: secretValue } } });
    const informer = new Informer<V1Secret>(kubeConfig, RESOURCES.Secret, { namespaces: [first.name], metadataOnly: true });
    const seen: unknown[] = [];
    informer.addHandler((_type, object) => seen.push(object));
    informer.start();
    try {
      expect(await informer.waitForSync(10_000)).toBe(true);
      await core.createNamespacedSecret({
        namespace: first.name,
        body: { metadata: { name: "watched", labels: { v: "1" } }, stringData: { password: secretValue } },
      });
      await core.patchNamespacedSecret({ namespace: first.name, name: "watched", body: [{ op: "replace", path: "/metadata/labels/v", value: "2" }] });
      await eventually("the label change in the cache", () => informer.get("watched", first.name)?.metadata?.labels?.v === "2");
      for (const name of ["listed", "watched"]) {
        const cached = informer.get(name, first.name);
        // Patchable by metadata: the object's own kind, not PartialObjectMetadata.
        expect(cached).toMatchObject({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: first.name } });
        expect(cached?.data).toBeUndefined();
      }
      expect(seen.length).toBeGreaterThanOrEqual(3);
      expect(JSON.stringify(seen)).not.toContain(Buffer.from(secretValue).toString("base64"));
      expect(JSON.stringify(seen)).not.toContain(secretValue);
    } finally {
      await informer.stop();
    }
  });

  it("follows creates, updates and deletes in the watched namespaces only", async () => {
    // One object exists before the informer starts: it must come from the list.
    await core.createNamespacedConfigMap({ namespace: first.name, body: configMap(first.name, "before", { v: "0" }) });
    const informer = new Informer<V1ConfigMap>(kubeConfig, RESOURCES.ConfigMap, { namespaces: [first.name, second.name] });
    const events: Array<[InformerEventType, string]> = [];
    informer.addHandler((type, object) => events.push([type, keyOf(object)]));
    informer.start();
    try {
      expect(await informer.waitForSync(10_000)).toBe(true);
      expect(informer.get("before", first.name)?.data).toEqual({ v: "0" });
      expect(informer.get("before", first.name)?.kind).toBe("ConfigMap");

      await core.createNamespacedConfigMap({ namespace: second.name, body: configMap(second.name, "created", { v: "1" }, { tier: "gold" }) });
      await core.createNamespacedConfigMap({ namespace: unwatched.name, body: configMap(unwatched.name, "elsewhere", { v: "1" }) });
      await eventually("created object in cache", () => informer.get("created", second.name) !== undefined);

      await core.patchNamespacedConfigMap({ namespace: second.name, name: "created", body: [{ op: "replace", path: "/data/v", value: "2" }] });
      await eventually("update in cache", () => informer.get("created", second.name)?.data?.v === "2");

      await core.deleteNamespacedConfigMap({ namespace: first.name, name: "before" });
      await eventually("delete in cache", () => informer.get("before", first.name) === undefined);

      expect(events).toEqual([
        ["add", `${first.name}/before`],
        ["add", `${second.name}/created`],
        ["update", `${second.name}/created`],
        ["delete", `${first.name}/before`],
      ]);
      expect(informer.get("elsewhere", unwatched.name)).toBeUndefined();
      expect(informer.list({ labels: { tier: "gold" } }).map(keyOf)).toEqual([`${second.name}/created`]);
      expect(informer.list({ namespace: second.name }).map(keyOf)).toEqual([`${second.name}/created`]);
      expect(informer.list({ namespace: first.name })).toEqual([]);
      // Timestamps are as on the wire (strings), whether the object came from the list or a watch.
      expect(typeof informer.get("created", second.name)?.metadata?.creationTimestamp).toBe("string");
    } finally {
      await informer.stop();
    }
  });

  it("an index follows creates, updates that change an object's values, and deletes, and is current before any handler runs", async () => {
    await core.createNamespacedConfigMap({ namespace: second.name, body: configMap(second.name, "idx-listed", { colors: "red,blue" }) });
    const informer = new Informer<V1ConfigMap>(kubeConfig, RESOURCES.ConfigMap, { namespaces: [second.name] });
    const colors = (object: V1ConfigMap) => (object.data?.colors ? object.data.colors.split(",") : []);
    const names = (color: string) =>
      informer
        .byIndex("color", color)
        .map((object) => object.metadata?.name ?? "")
        .sort();
    informer.addIndex("color", colors);
    // What a handler sees of the index when it hears of a change: the change already in it.
    const seenByHandler: string[][] = [];
    informer.addHandler((_type, object) => {
      if (object.metadata?.name === "idx-watched") seenByHandler.push(names("green"));
    });
    informer.start();
    try {
      expect(await informer.waitForSync(10_000)).toBe(true);
      expect(names("red")).toEqual(["idx-listed"]);
      expect(names("blue")).toEqual(["idx-listed"]);

      await core.createNamespacedConfigMap({ namespace: second.name, body: configMap(second.name, "idx-watched", { colors: "green,red" }) });
      await eventually("the created object indexed", () => names("green").length === 1);
      expect(names("red")).toEqual(["idx-listed", "idx-watched"]);

      await core.patchNamespacedConfigMap({ namespace: second.name, name: "idx-watched", body: [{ op: "replace", path: "/data/colors", value: "blue" }] });
      await eventually("the update re-indexed", () => names("green").length === 0);
      expect(names("red")).toEqual(["idx-listed"]);
      expect(names("blue")).toEqual(["idx-listed", "idx-watched"]);

      await core.deleteNamespacedConfigMap({ namespace: second.name, name: "idx-listed" });
      await eventually("the deleted object gone from the index", () => names("red").length === 0);
      expect(names("blue")).toEqual(["idx-watched"]);
      expect(seenByHandler).toEqual([["idx-watched"], []]);
      expect(() => informer.addIndex("color", colors)).toThrow(/index color exists/);
      expect(() => informer.byIndex("size", "L")).toThrow(/no index size/);
    } finally {
      await informer.stop();
      await core.deleteNamespacedConfigMap({ namespace: second.name, name: "idx-watched" });
    }
  });

  it("watches all namespaces with a label selector, hands every object to the handlers again on resync", async () => {
    const informer = new Informer<V1ConfigMap>(kubeConfig, RESOURCES.ConfigMap, { labelSelector: "resync-test=yes", resyncPeriodMs: 300 });
    await core.createNamespacedConfigMap({ namespace: unwatched.name, body: configMap(unwatched.name, "labelled", { v: "1" }, { "resync-test": "yes" }) });
    await core.createNamespacedConfigMap({ namespace: unwatched.name, body: configMap(unwatched.name, "unlabelled", { v: "1" }) });
    const resyncs: string[] = [];
    informer.addHandler((type, object) => type === "resync" && resyncs.push(keyOf(object)));
    informer.start();
    try {
      expect(await informer.waitForSync(10_000)).toBe(true);
      expect(informer.list().map(keyOf)).toEqual([`${unwatched.name}/labelled`]);
      await eventually("two resyncs", () => resyncs.length >= 2, 5_000);
      expect(new Set(resyncs)).toEqual(new Set([`${unwatched.name}/labelled`]));
    } finally {
      await informer.stop();
    }
  });

  it("maps a child to its owner's key, and replays the cache to a handler added late", async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: first.name, body: configMap(first.name, "owner", {}) });
    await core.createNamespacedConfigMap({
      namespace: first.name,
      body: {
        metadata: {
          name: "child",
          namespace: first.name,
          ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata!.uid!, controller: true }],
        },
      },
    });
    const informer = new Informer<V1ConfigMap>(kubeConfig, RESOURCES.ConfigMap, { namespaces: [first.name] });
    informer.start();
    try {
      expect(await informer.waitForSync(10_000)).toBe(true);
      const ownerKeysSeen: string[] = [];
      informer.addHandler((_type, object) => ownerKeysSeen.push(...ownerKeys(object, RESOURCES.ConfigMap)));
      expect(ownerKeysSeen).toEqual([`${first.name}/owner`]);
    } finally {
      await informer.stop();
    }
  });

  it("keeps retrying, never giving up, while its kind does not exist", async () => {
    const informer = new Informer(
      kubeConfig,
      { group: "example.invalid", version: "v1", kind: "Missing", plural: "missings", namespaced: true },
      {
        restartBackoff: { baseDelayMs: 50, maxDelayMs: 200 },
      },
    );
    informer.start();
    try {
      await eventually("several restarts", () => informer.stats.watchRestarts >= 3, 10_000);
      expect(informer.synced).toBe(false);
      expect(informer.stats.lastError).toMatch(/404|not found/i);
    } finally {
      await informer.stop();
    }
  });
});
