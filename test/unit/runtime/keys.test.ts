import { describe, expect, it } from "vitest";
import { collectionPath, customResource, formatKey, groupOf, keyOf, ownerKeys, parseKey, RESOURCES } from "../../../operator/runtime/index.js";
import { RABBIT_CLUSTER } from "../../../operator/api/index.js";

describe("keys", () => {
  it("formats and parses namespace/name keys, and bare names for cluster-scoped objects", () => {
    expect(keyOf({ metadata: { namespace: "ns", name: "a" } })).toBe("ns/a");
    expect(keyOf({ metadata: { name: "node-1" } })).toBe("node-1");
    expect(parseKey("ns/a")).toEqual({ namespace: "ns", name: "a" });
    expect(parseKey("node-1")).toEqual({ namespace: "", name: "node-1" });
    expect(formatKey(parseKey("ns/a"))).toBe("ns/a");
    expect(() => keyOf({ metadata: {} })).toThrow();
  });

  it("maps a child to its controller owner of the given kind, at any version", () => {
    const rabbitCluster = customResource(RABBIT_CLUSTER);
    const child = {
      metadata: {
        namespace: "ns",
        name: "demo-disc",
        ownerReferences: [
          { apiVersion: "rabbit.operator.dev/v1beta1", kind: "RabbitCluster", name: "demo", uid: "1", controller: true },
          { apiVersion: "rabbit.operator.dev/v1alpha1", kind: "RabbitCluster", name: "other", uid: "2" },
          { apiVersion: "example.com/v1alpha1", kind: "RabbitCluster", name: "foreign", uid: "3", controller: true },
        ],
      },
    };
    expect(ownerKeys(child, rabbitCluster)).toEqual(["ns/demo"]);
    expect(ownerKeys(child, rabbitCluster, { controllerOnly: false })).toEqual(["ns/demo", "ns/other"]);
    expect(ownerKeys({ metadata: { name: "x" } }, rabbitCluster)).toEqual([]);
  });

  it("builds collection paths for core, grouped, namespaced and cluster-scoped kinds", () => {
    expect(groupOf("v1")).toBe("");
    expect(groupOf("apps/v1")).toBe("apps");
    expect(collectionPath(RESOURCES.ConfigMap, "ns")).toBe("/api/v1/namespaces/ns/configmaps");
    expect(collectionPath(RESOURCES.ConfigMap)).toBe("/api/v1/configmaps");
    expect(collectionPath(RESOURCES.StatefulSet, "ns")).toBe("/apis/apps/v1/namespaces/ns/statefulsets");
    expect(collectionPath(RESOURCES.Namespace, "ignored")).toBe("/api/v1/namespaces");
    expect(collectionPath(customResource(RABBIT_CLUSTER), "ns")).toBe("/apis/rabbit.operator.dev/v1alpha1/namespaces/ns/rabbitclusters");
  });
});
