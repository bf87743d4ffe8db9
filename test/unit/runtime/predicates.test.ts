import { describe, expect, it } from "vitest";
import { IgnoreStatusOnlyUpdates } from "../../../operator/runtime/predicates.js";
import type { KubeObject } from "../../../operator/runtime/kube-object.js";

const queue = (metadata: Partial<NonNullable<KubeObject["metadata"]>>, status?: object): KubeObject =>
  ({
    apiVersion: "rabbit.operator.dev/v1alpha1",
    kind: "Queue",
    metadata: { name: "q", namespace: "ns", generation: 1, ...metadata },
    ...(status ? { status } : {}),
  }) as KubeObject;

describe("IgnoreStatusOnlyUpdates", () => {
  it("lets adds, resyncs and deletes through, and updates that change the spec, the deletion, finalizers, labels or annotations", () => {
    const filter = new IgnoreStatusOnlyUpdates();
    expect(filter.passes("add", queue({}))).toBe(true);
    expect(filter.passes("update", queue({ finalizers: ["f"] }))).toBe(true);
    expect(filter.passes("update", queue({ finalizers: ["f"], generation: 2 }))).toBe(true);
    expect(filter.passes("update", queue({ finalizers: ["f"], generation: 2, labels: { a: "b" } }))).toBe(true);
    expect(filter.passes("update", queue({ finalizers: ["f"], generation: 2, labels: { a: "b" }, annotations: { x: "y" } }))).toBe(true);
    expect(
      filter.passes(
        "update",
        queue({ finalizers: ["f"], generation: 2, labels: { a: "b" }, annotations: { x: "y" }, deletionTimestamp: "2026-01-01T00:00:00Z" }),
      ),
    ).toBe(true);
    expect(
      filter.passes(
        "resync",
        queue({ finalizers: ["f"], generation: 2, labels: { a: "b" }, annotations: { x: "y" }, deletionTimestamp: "2026-01-01T00:00:00Z" }),
      ),
    ).toBe(true);
    expect(filter.passes("delete", queue({}))).toBe(true);
  });

  it("drops an update that changed only the status (or only the resourceVersion)", () => {
    const filter = new IgnoreStatusOnlyUpdates();
    expect(filter.passes("add", queue({ finalizers: ["f"], resourceVersion: "1" }))).toBe(true);
    expect(filter.passes("update", queue({ finalizers: ["f"], resourceVersion: "2" }, { conditions: [{ type: "Ready", status: "True" }] }))).toBe(false);
    expect(filter.passes("update", queue({ finalizers: ["f"], resourceVersion: "3" }))).toBe(false);
  });

  it("forgets a deleted object: one made again under its name starts afresh", () => {
    const filter = new IgnoreStatusOnlyUpdates();
    filter.passes("add", queue({ finalizers: ["f"] }));
    filter.passes("delete", queue({ finalizers: ["f"] }));
    expect(filter.passes("update", queue({ finalizers: ["f"] }))).toBe(true);
  });
});
