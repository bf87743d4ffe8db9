import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ManagementApiError } from "../../../operator/rabbitmq/management-errors.js";
import { NotAdmittedError, Reachability } from "../../../operator/rabbitmq/reachability.js";

const refused = new ManagementApiError({
  kind: "network",
  method: "GET",
  path: "/api/queues/%2F/q",
  reason: "connect ECONNREFUSED 127.0.0.1:15672",
  attempts: 4,
});
const notAdmitted = (fn: () => unknown): NotAdmittedError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof NotAdmittedError) return error;
    throw error;
  }
  throw new Error("admitted");
};

describe("Reachability", () => {
  let now = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 1_000_000;
  });
  afterEach(() => vi.useRealTimers());
  const recovered: string[] = [];
  const reachability = () =>
    new Reachability({ slowMs: 5_000, initialCooldownMs: 1_000, maxCooldownMs: 15_000, now: () => now, onRecovered: (cluster) => recovered.push(cluster) });

  it("sends one request to a cluster not heard from yet, and any number once it has answered promptly", () => {
    const gate = reachability();
    recovered.length = 0;
    const first = gate.admit("a");
    expect(notAdmitted(() => gate.admit("a")).retryAfterMs).toBe(500);
    // Other clusters are not concerned.
    gate.admit("b");
    first.answered(20);
    // A first answer is no recovery.
    expect(recovered).toEqual([]);
    const many = [gate.admit("a"), gate.admit("a"), gate.admit("a"), gate.admit("a"), gate.admit("a")];
    expect(many.every((admission) => !admission.signal.aborted)).toBe(true);
  });

  it("after a failure to reach it admits nothing until a cooldown (1 s doubling to 15 s) has passed, then one probe; a prompt answer ends it and tells onRecovered", () => {
    const gate = reachability();
    gate.admit("a").answered(5);
    gate.admit("a").unreachable(refused);
    const refusal = notAdmitted(() => gate.admit("a"));
    expect(refusal.retryAfterMs).toBe(1_000);
    expect(refusal.lastFailure).toBe(refused);
    now += 1_000;
    gate.admit("a").unreachable(refused);
    expect(notAdmitted(() => gate.admit("a")).retryAfterMs).toBe(2_000);
    for (let i = 0; i < 10; i++) {
      now += 60_000;
      gate.admit("a").unreachable(refused);
    }
    expect(notAdmitted(() => gate.admit("a")).retryAfterMs).toBe(15_000);
    now += 15_000;
    const probe = gate.admit("a");
    // While the probe runs, the others come back no sooner than the cooldown.
    expect(notAdmitted(() => gate.admit("a")).retryAfterMs).toBe(15_000);
    recovered.length = 0;
    probe.answered(10);
    expect(recovered).toEqual(["a"]);
    gate.admit("a");
    gate.admit("a");
  });

  it("once a request has waited slowMs, gives up the others waiting on the cluster and lets that one probe alone", () => {
    const gate = reachability();
    gate.admit("a").answered(5);
    const waiting = [gate.admit("a"), gate.admit("a"), gate.admit("a")];
    vi.advanceTimersByTime(4_999);
    expect(waiting.some((admission) => admission.signal.aborted)).toBe(false);
    vi.advanceTimersByTime(1);
    expect(waiting.map((admission) => admission.signal.aborted)).toEqual([false, true, true]);
    expect(String(waiting[1]!.signal.reason)).toContain("left another request unanswered for 5000 ms");
    // The given-up requests end; they say nothing about the cluster.
    waiting[1]!.answered(Number.POSITIVE_INFINITY);
    waiting[2]!.answered(Number.POSITIVE_INFINITY);
    expect(notAdmitted(() => gate.admit("a")).lastFailure).toBeUndefined();
    // The probe answers, late: still suspect; the next one, promptly: healthy again.
    waiting[0]!.answered(12_000);
    const next = gate.admit("a");
    expect(() => gate.admit("a")).toThrow(NotAdmittedError);
    next.answered(30);
    gate.admit("a");
    gate.admit("a");
  });
});
