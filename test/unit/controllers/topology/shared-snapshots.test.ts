import { describe, expect, it } from "vitest";
import { SharedSnapshots } from "../../../../operator/controllers/topology/shared-snapshots.js";
import { SnapshotIndex } from "../../../../operator/controllers/topology/snapshot.js";
import type { TopologyListing } from "../../../../operator/rabbitmq/management.js";

function counting() {
  const taken: TopologyListing[][] = [];
  return {
    taken,
    take: (listings: ReadonlySet<TopologyListing>) => {
      taken.push([...listings].sort());
      return Promise.resolve(new SnapshotIndex({}));
    },
  };
}

describe("SharedSnapshots", () => {
  it("shares one snapshot per cluster while it is younger than maxAge, then takes a new one", async () => {
    let now = 0;
    const shared = new SharedSnapshots({ maxAgeMs: 5_000, now: () => now });
    const { taken, take } = counting();
    const first = await shared.get("a", ["queues"], take);
    now = 4_999;
    expect(await shared.get("a", ["queues"], take)).toBe(first);
    expect(await shared.get("b", ["queues"], take)).not.toBe(first);
    now = 5_000;
    expect(await shared.get("a", ["queues"], take)).not.toBe(first);
    expect(taken).toEqual([["queues"], ["queues"], ["queues"]]);
  });

  it("a kind that needs another listing takes a snapshot of both, which the first kind then shares", async () => {
    const shared = new SharedSnapshots({ now: () => 0 });
    const { taken, take } = counting();
    await shared.get("a", ["queues"], take);
    const both = await shared.get("a", ["bindings"], take);
    expect(await shared.get("a", ["queues"], take)).toBe(both);
    expect(taken).toEqual([["queues"], ["bindings", "queues"]]);
  });

  it("does not share a listing that failed", async () => {
    const shared = new SharedSnapshots({ now: () => 0 });
    await expect(shared.get("a", ["queues"], () => Promise.reject(new Error("unreachable")))).rejects.toThrow("unreachable");
    const { taken, take } = counting();
    await shared.get("a", ["queues"], take);
    expect(taken).toHaveLength(1);
  });

  it("shares the drift detector's snapshot, but not one older than the one it has", async () => {
    let now = 1_000;
    const shared = new SharedSnapshots({ now: () => now });
    const { taken, take } = counting();
    const drift = new SnapshotIndex({});
    shared.put("a", ["queues", "exchanges"], drift, 900);
    expect(await shared.get("a", ["queues"], take)).toBe(drift);
    const older = new SnapshotIndex({});
    shared.put("a", ["queues"], older, 800);
    expect(await shared.get("a", ["queues"], take)).toBe(drift);
    now = 6_000;
    expect(await shared.get("a", ["queues"], take)).not.toBe(drift);
    expect(taken).toHaveLength(1);
  });
});
