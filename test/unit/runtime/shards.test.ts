import { describe, expect, it } from "vitest";
import { LeaseObservations, assignShards, isHeld, shardOf } from "../../../operator/runtime/shards.js";

const members = (n: number) => Array.from({ length: n }, (_, i) => `operator-${i}_${(i * 7919).toString(16)}`);

function owners(assignment: Map<string, number[]>): Map<number, string> {
  const owner = new Map<number, string>();
  for (const [member, shards] of assignment) for (const shard of shards) owner.set(shard, member);
  return owner;
}

describe("shardOf", () => {
  it("gives one key the same shard every time, within range, and spreads many keys over all shards", () => {
    expect(shardOf("cluster:ns/a", 12)).toBe(shardOf("cluster:ns/a", 12));
    const counts = new Array<number>(12).fill(0);
    for (let i = 0; i < 1200; i++) counts[shardOf(`secret:ns-${i % 7}/rabbit-${i}`, 12)]!++;
    expect(counts.every((count) => count > 50)).toBe(true);
  });
});

describe("assignShards", () => {
  it("assigns every shard to exactly one member, at most ceil(shards / members) each", () => {
    for (const [shards, count] of [
      [12, 1],
      [12, 3],
      [16, 3],
      [5, 7],
    ] as const) {
      const assignment = assignShards(shards, members(count));
      const all = [...assignment.values()].flat().sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: shards }, (_, i) => i));
      for (const held of assignment.values()) expect(held.length).toBeLessThanOrEqual(Math.ceil(shards / count));
    }
  });

  it("is the same whatever order the members are listed in (every replica computes the same)", () => {
    const list = members(4);
    expect(assignShards(16, [...list].reverse())).toEqual(assignShards(16, list));
    expect(assignShards(16, [...list, list[0]!])).toEqual(assignShards(16, list));
  });

  it("moves the shards of a member that leaves, and few others", () => {
    const list = members(3);
    const before = owners(assignShards(12, list));
    const gone = list[1]!;
    const after = owners(
      assignShards(
        12,
        list.filter((member) => member !== gone),
      ),
    );
    const movedFromSurvivors = [...before].filter(([shard, owner]) => owner !== gone && after.get(shard) !== owner);
    expect([...after.values()]).not.toContain(gone);
    // The survivors keep most of what they had: only shards beyond the new bound may move.
    expect(movedFromSurvivors.length).toBeLessThanOrEqual(2);
  });
});

describe("LeaseObservations and isHeld", () => {
  it("counts a holder alive while its record changes within its duration, on the observer's own clock", () => {
    const observations = new LeaseObservations();
    const record = { holderIdentity: "a", leaseDurationSeconds: 15, renewTime: "2026-01-01T00:00:00.000000Z" };
    // The record's times are another machine's: only when this observer saw it change matters.
    expect(observations.observe("lease", record, 1_000)).toBe(1_000);
    expect(observations.observe("lease", record, 10_000)).toBe(1_000);
    expect(isHeld(record, 1_000, 15_999, 60_000)).toBe(true);
    expect(isHeld(record, 1_000, 16_000, 60_000)).toBe(false);
    const renewed = { ...record, renewTime: "2026-01-01T00:00:02.000000Z" };
    expect(observations.observe("lease", renewed, 16_500)).toBe(16_500);
    expect(isHeld({ ...record, holderIdentity: "" }, 1_000, 1_000, 60_000)).toBe(false);
  });
});
