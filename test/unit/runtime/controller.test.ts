import { describe, expect, it } from "vitest";
import {
  Controller,
  StoppedLeadingError,
  TerminalError,
  throwIfStopped,
  type ReconcileOutcome,
  type Reconciler,
  type ReconcileRequest,
  type ReconcileResult,
} from "../../../operator/runtime/index.js";
import { FakeClock, settle } from "./fake-clock.js";

/** A reconciler whose answers the test scripts, recording every call. */
function scripted(answer: (request: ReconcileRequest, call: number) => Promise<ReconcileResult | void> | ReconcileResult | void) {
  const calls: string[] = [];
  return {
    calls,
    reconciler: {
      async reconcile(request: ReconcileRequest) {
        calls.push(request.key);
        return answer(request, calls.length);
      },
    },
  };
}

function controllerWith(reconciler: Reconciler, clock: FakeClock, workers = 1) {
  const outcomes: ReconcileOutcome[] = [];
  const controller = new Controller({
    name: "test",
    reconciler,
    clock,
    maxConcurrentReconciles: workers,
    backoff: { baseDelayMs: 100, maxDelayMs: 1_000, jitter: 0 },
    observer: { reconciled: (outcome) => outcomes.push(outcome), activeWorkers: () => {} },
  });
  return { controller, outcomes };
}

describe("Controller", () => {
  it("reconciles each key, parsing it into namespace and name", async () => {
    const clock = new FakeClock();
    const seen: Array<[string, string]> = [];
    const { controller } = controllerWith({ reconcile: async (r) => void seen.push([r.namespace, r.name]) }, clock);
    controller.start();
    controller.enqueue("ns/a");
    controller.enqueue("cluster-scoped");
    await settle();
    expect(seen).toEqual([
      ["ns", "a"],
      ["", "cluster-scoped"],
    ]);
    await controller.stop();
  });

  it("retries a failing key with growing backoff, and resets it after a success", async () => {
    const clock = new FakeClock();
    const { calls, reconciler } = scripted((_request, call) => {
      if (call <= 3) throw new Error(`failure ${call}`);
    });
    const { controller, outcomes } = controllerWith(reconciler, clock);
    controller.start();
    controller.enqueue("ns/a");
    await settle();
    expect(calls).toHaveLength(1);
    expect(clock.pending).toEqual([100]);
    clock.advance(99);
    await settle();
    expect(calls).toHaveLength(1);
    clock.advance(1);
    await settle();
    expect(clock.pending).toEqual([200]);
    clock.advance(200);
    await settle();
    expect(clock.pending).toEqual([400]);
    clock.advance(400);
    await settle();
    expect(calls).toHaveLength(4);
    expect(outcomes).toEqual(["error", "error", "error", "success"]);
    expect(controller.workQueue?.numRequeues("ns/a")).toBe(0);
    await controller.stop();
  });

  it("requeues after the requested delay, and does not retry terminal errors", async () => {
    const clock = new FakeClock();
    const { calls, reconciler } = scripted((request) => {
      if (request.name === "bad") throw new TerminalError("invalid");
      return { requeueAfterMs: 30_000 };
    });
    const { controller, outcomes } = controllerWith(reconciler, clock);
    controller.start();
    controller.enqueue("ns/poll");
    controller.enqueue("ns/bad");
    await settle();
    expect(clock.pending).toEqual([30_000]);
    clock.advance(30_000);
    await settle();
    expect(calls).toEqual(["ns/poll", "ns/bad", "ns/poll"]);
    expect(outcomes).toEqual(["requeue_after", "terminal_error", "requeue_after"]);
    await controller.stop();
  });

  it("runs at most maxConcurrentReconciles at once, and never one key twice at once", async () => {
    const clock = new FakeClock();
    let active = 0;
    let maxActive = 0;
    const activeKeys = new Set<string>();
    let overlap = false;
    const reconciled: string[] = [];
    const release: Array<() => void> = [];
    const { controller } = controllerWith(
      {
        async reconcile(request) {
          if (activeKeys.has(request.key)) overlap = true;
          activeKeys.add(request.key);
          reconciled.push(request.key);
          maxActive = Math.max(maxActive, ++active);
          await new Promise<void>((resolve) => release.push(resolve));
          active--;
          activeKeys.delete(request.key);
        },
      },
      clock,
      2,
    );
    controller.start();
    for (const key of ["a", "b", "c", "a", "a"]) controller.enqueue(key);
    await settle();
    expect(active).toBe(2);
    controller.enqueue("a"); // "a" is being reconciled: it runs again afterwards, not now
    while (release.length > 0) {
      release.shift()!();
      await settle();
    }
    expect(maxActive).toBe(2);
    expect(overlap).toBe(false);
    expect(reconciled.sort()).toEqual(["a", "a", "b", "c"]);
    await controller.stop();
  });

  it("stops: aborts the signal of the reconcile in flight, waits for it, and ignores new keys", async () => {
    const clock = new FakeClock();
    let finished = false;
    const { controller } = controllerWith(
      {
        async reconcile(request) {
          await new Promise((resolve) => request.signal.addEventListener("abort", resolve));
          finished = true;
        },
      },
      clock,
    );
    controller.start();
    controller.enqueue("ns/slow");
    await settle();
    await controller.stop();
    expect(finished).toBe(true);
    expect(controller.running).toBe(false);
    controller.enqueue("ns/other");
    expect(controller.workQueue).toBeUndefined();
  });

  it("a reconcile that outlives its leadership makes none of the writes it guards with throwIfStopped", async () => {
    const clock = new FakeClock();
    const writes: string[] = [];
    let releaseSlowStep: () => void = () => {};
    const { controller } = controllerWith(
      {
        async reconcile(request) {
          throwIfStopped(request.signal);
          writes.push("before the slow step");
          // A long step (an exec, a slow API) during which the Lease is lost.
          await new Promise<void>((resolve) => (releaseSlowStep = resolve));
          throwIfStopped(request.signal);
          writes.push("after the slow step");
        },
      },
      clock,
    );
    controller.start();
    controller.enqueue("ns/a");
    await settle();
    const stopped = controller.stop();
    releaseSlowStep();
    await stopped;
    expect(writes).toEqual(["before the slow step"]);
    expect(() => throwIfStopped(AbortSignal.abort())).toThrow(StoppedLeadingError);
    expect(() => throwIfStopped(new AbortController().signal)).not.toThrow();
  });

  describe("with a gate (sharding)", () => {
    function gated(reconciler: Reconciler, clock: FakeClock, gate: Map<string, AbortController>, workers = 1) {
      // The gate opens a key by its first letter: "a/1" is shard "a".
      return new Controller({ name: "test", reconciler, clock, maxConcurrentReconciles: workers, gate: { signal: (key) => gate.get(key[0]!)?.signal } });
    }

    it("reconciles only the keys the gate lets through, refusing the others when enqueued and when handed out", async () => {
      const clock = new FakeClock();
      const gate = new Map([["a", new AbortController()]]);
      const { calls, reconciler } = scripted(() => {});
      const controller = gated(reconciler, clock, gate);
      controller.start();
      controller.enqueue("b/1");
      controller.enqueue("a/1");
      await settle();
      expect(calls).toEqual(["a/1"]);
      // Queued while open, closed before a worker takes it (the worker runs after this synchronous code): dropped when handed out.
      controller.enqueue("a/2");
      expect(controller.workQueue?.processingCount).toBe(1);
      gate.get("a")!.abort();
      await settle();
      expect(calls).toEqual(["a/1"]);
      expect(controller.workQueue?.processingCount).toBe(0);
      expect(controller.workQueue?.depth).toBe(0);
      await controller.stop();
    });

    it("aborts the signal of a reconcile in flight when its gate closes, and drained() waits for it, not for other shards", async () => {
      const clock = new FakeClock();
      const gate = new Map([
        ["a", new AbortController()],
        ["b", new AbortController()],
      ]);
      const release = new Map<string, () => void>();
      const signals = new Map<string, AbortSignal>();
      const controller = gated(
        {
          reconcile: (request) =>
            new Promise<void>((resolve) => {
              signals.set(request.key, request.signal);
              release.set(request.key, resolve);
            }),
        },
        clock,
        gate,
        2,
      );
      controller.start();
      controller.enqueue("a/1");
      controller.enqueue("b/1");
      await settle();
      const shardA = gate.get("a")!;
      shardA.abort();
      expect(signals.get("a/1")!.aborted).toBe(true);
      expect(signals.get("b/1")!.aborted).toBe(false);
      let drained = false;
      const waiting = controller.drained(shardA.signal).then(() => (drained = true));
      await settle();
      expect(drained).toBe(false);
      release.get("a/1")!();
      await waiting;
      expect(drained).toBe(true);
      // b/1 still runs: drained() for shard a did not wait for it.
      expect(controller.workQueue?.processingCount).toBe(1);
      release.get("b/1")!();
      await controller.stop();
    });
  });
});
