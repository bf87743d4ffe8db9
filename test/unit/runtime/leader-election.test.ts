import { describe, expect, it } from "vitest";
import { candidateIdentity, decideElection, recordVersion, type LeaseRecord } from "../../../operator/runtime/index.js";

const NOW = Date.UTC(2025, 0, 1, 0, 0, 30);
const LEASE_MS = 15_000;

function held(holder: string, extra: Partial<LeaseRecord> = {}): LeaseRecord {
  return {
    holderIdentity: holder,
    leaseDurationSeconds: 15,
    acquireTime: new Date(NOW - 60_000),
    renewTime: new Date(NOW - 1_000),
    leaseTransitions: 3,
    ...extra,
  };
}

const decide = (lease: LeaseRecord | undefined, observedChangeAtMs: number, identity = "b") =>
  decideElection({ identity, nowMs: NOW, leaseDurationMs: LEASE_MS, lease, observedChangeAtMs });

describe("decideElection", () => {
  it("creates a missing Lease, holding it from now", () => {
    const decision = decide(undefined, NOW);
    expect(decision.action).toBe("create");
    if (decision.action !== "create") return;
    expect(decision.record).toMatchObject({ holderIdentity: "b", leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(new Date(decision.record.renewTime!).getTime()).toBe(NOW);
  });

  it("waits while another holder's record changed less than its lease duration ago (on our clock)", () => {
    // The holder's renewTime says it renewed long ago; what counts is when we saw the change.
    const decision = decide(held("a", { renewTime: new Date(NOW - 3_600_000) }), NOW - 14_999);
    expect(decision).toEqual({ action: "wait", holder: "a", expiresAtMs: NOW + 1 });
  });

  it("uses the holder's lease duration, not ours", () => {
    expect(decide(held("a", { leaseDurationSeconds: 60 }), NOW - 30_000).action).toBe("wait");
  });

  it("takes over an expired Lease, counting a transition and restarting acquireTime", () => {
    const decision = decide(held("a"), NOW - 15_000);
    expect(decision.action).toBe("update");
    if (decision.action !== "update") return;
    expect(decision.record).toMatchObject({ holderIdentity: "b", leaseTransitions: 4 });
    expect(new Date(decision.record.acquireTime!).getTime()).toBe(NOW);
  });

  it("takes a released Lease (no holder) at once", () => {
    const decision = decide(held(""), NOW);
    expect(decision).toMatchObject({ action: "update", record: { holderIdentity: "b", leaseTransitions: 4 } });
  });

  it("renews its own Lease, keeping acquireTime and the transition count", () => {
    const lease = held("b");
    const decision = decide(lease, NOW - 100_000);
    expect(decision).toMatchObject({ action: "update", record: { holderIdentity: "b", leaseTransitions: 3, acquireTime: lease.acquireTime } });
  });
});

describe("recordVersion", () => {
  it("changes when the holder renews, and not for the same instant in another form", () => {
    const record = held("a");
    expect(recordVersion(record)).toBe(recordVersion({ ...record, renewTime: new Date(record.renewTime!).toISOString() }));
    expect(recordVersion(record)).not.toBe(recordVersion({ ...record, renewTime: new Date(NOW) }));
    expect(recordVersion(undefined)).toBe("");
  });
});

describe("candidateIdentity", () => {
  it("differs for every life of a process in the same pod, pid 1 in each as in a container", () => {
    // The pid is the same in every life of a container; the identity must not be.
    const lives = Array.from({ length: 20 }, () => candidateIdentity("rabbit-operator-6f7d9-abcde"));
    expect(new Set(lives).size).toBe(20);
    for (const identity of lives) expect(identity).toMatch(/^rabbit-operator-6f7d9-abcde_[0-9a-f]{8}$/);
  });
});
