// Drift found by comparing desired objects with one bulk snapshot of a cluster.
import { describe, expect, it } from "vitest";
import { findDrift, isDriftCandidate, type DriftCheck } from "../../../../operator/controllers/topology/drift.js";
import { desiredPolicy, policyAdapter } from "../../../../operator/controllers/topology/kinds/policy.js";
import { desiredQueue, queueAdapter } from "../../../../operator/controllers/topology/kinds/queue.js";
import { TOPOLOGY_FINALIZER } from "../../../../operator/controllers/topology/reconciler.js";
import { SnapshotIndex } from "../../../../operator/controllers/topology/snapshot.js";
import { policy, queue } from "./fixtures.js";

function check<D, O>(
  kind: string,
  key: string,
  adapter: { differences(d: D, o: O | undefined): string[]; observeInSnapshot(s: SnapshotIndex, d: D): O | undefined },
  desired: D,
): DriftCheck {
  return { kind, key, compare: (snapshot) => adapter.differences(desired, adapter.observeInSnapshot(snapshot, desired)) };
}

describe("findDrift", () => {
  const snapshot = new SnapshotIndex({
    queues: [
      { name: "orders", vhost: "/", type: "quorum", durable: true, autoDelete: false, arguments: { "x-queue-type": "quorum" } },
      { name: "orders", vhost: "other", type: "classic", durable: true, autoDelete: false, arguments: {} },
    ],
    policies: [{ vhost: "/", name: "limits", pattern: "^q", applyTo: "all", priority: 0, definition: { "max-length": 1 } }],
  });

  it("returns only the objects RabbitMQ no longer has as declared, with what differs", () => {
    const checks = [
      check("Queue", "ns/orders", queueAdapter, desiredQueue(queue({ name: "orders", type: "quorum" }).spec)),
      check("Queue", "ns/orders-other", queueAdapter, desiredQueue(queue({ name: "orders", vhost: "other", type: "quorum" }).spec)),
      check("Queue", "ns/gone", queueAdapter, desiredQueue(queue({ name: "gone" }).spec)),
      check("Policy", "ns/limits", policyAdapter, desiredPolicy(policy({ name: "limits", pattern: "^q", definition: { "max-length": 100 } }).spec)),
    ];
    expect(findDrift(checks, snapshot)).toEqual([
      { kind: "Queue", key: "ns/orders-other", differences: ['type is "classic", want "quorum"'] },
      { kind: "Queue", key: "ns/gone", differences: ["absent from RabbitMQ"] },
      { kind: "Policy", key: "ns/limits", differences: ['definition is {"max-length":1}, want {"max-length":100}'] },
    ]);
  });

  it("refuses to read a listing that was not taken: absent from a listing must mean absent", () => {
    expect(() => new SnapshotIndex({}).queue("/", "orders")).toThrow(/no queues listing/);
  });
});

describe("isDriftCandidate", () => {
  const declared = { ...queue({ name: "q" }), metadata: { ...queue({ name: "q" }).metadata, finalizers: [TOPOLOGY_FINALIZER] } };
  const ready = {
    observedGeneration: 1,
    conditions: [{ type: "Ready", status: "True" as const, lastTransitionTime: "2026-01-01T00:00:00Z", reason: "Declared", message: "" }],
  };

  it("checks objects declared for their current generation, not failing, changed or deleted ones", () => {
    expect(isDriftCandidate({ ...declared, status: ready })).toBe(true);
    expect(isDriftCandidate(declared)).toBe(false);
    expect(isDriftCandidate({ ...declared, status: { ...ready, conditions: [{ ...ready.conditions[0]!, status: "False" }] } })).toBe(false);
    expect(isDriftCandidate({ ...declared, metadata: { ...declared.metadata, generation: 2 }, status: ready })).toBe(false);
    expect(isDriftCandidate({ ...declared, metadata: { ...declared.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" }, status: ready })).toBe(false);
  });
});
