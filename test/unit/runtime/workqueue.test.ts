import { describe, expect, it } from "vitest";
import { ExponentialBackoff, WorkQueue } from "../../../operator/runtime/index.js";
import { FakeClock } from "./fake-clock.js";

function queue(clock = new FakeClock(), random = () => 0) {
  return new WorkQueue({ clock, rateLimiter: new ExponentialBackoff({ baseDelayMs: 100, maxDelayMs: 10_000, jitter: 0.5, random }) });
}

describe("WorkQueue", () => {
  it("holds a key once however often it is added, and hands keys out in order", async () => {
    const q = queue();
    q.add("ns/a");
    q.add("ns/b");
    q.add("ns/a");
    expect(q.depth).toBe(2);
    expect(await q.get()).toBe("ns/a");
    expect(await q.get()).toBe("ns/b");
    expect(q.depth).toBe(0);
  });

  it("never hands out a key being processed; one added meanwhile comes back after done()", async () => {
    const q = queue();
    q.add("ns/a");
    const first = await q.get();
    q.add("ns/a");
    q.add("ns/a");
    expect(q.depth).toBe(0);
    let second: string | undefined;
    void q.get().then((key) => (second = key));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(first!);
    await Promise.resolve();
    expect(second).toBe("ns/a");
    q.done("ns/a");
    expect(q.depth).toBe(0);
  });

  it("wakes a waiting worker when a key arrives", async () => {
    const q = queue();
    const waiting = q.get();
    q.add("ns/x");
    expect(await waiting).toBe("ns/x");
    expect(q.processingCount).toBe(1);
  });

  it("adds a key after its delay; the earliest of several delays wins", () => {
    const clock = new FakeClock();
    const q = queue(clock);
    q.addAfter("ns/a", 5_000);
    q.addAfter("ns/a", 1_000);
    q.addAfter("ns/a", 3_000);
    expect(q.delayedCount).toBe(1);
    clock.advance(999);
    expect(q.depth).toBe(0);
    clock.advance(1);
    expect(q.depth).toBe(1);
    clock.advance(10_000);
    expect(q.depth).toBe(1);
  });

  it("backs off exponentially per key up to the cap, and forget() resets", () => {
    const clock = new FakeClock();
    const q = queue(clock);
    const delays = Array.from({ length: 9 }, () => {
      q.addRateLimited("ns/a");
      const [delay] = clock.pending;
      clock.advance(delay!);
      return delay;
    });
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
    expect(q.numRequeues("ns/a")).toBe(9);
    q.addRateLimited("ns/b");
    expect(clock.pending).toEqual([100]);
    q.forget("ns/a");
    expect(q.numRequeues("ns/a")).toBe(0);
  });

  it("shortens delays by the jitter, never beyond the cap", () => {
    const limiter = new ExponentialBackoff({ baseDelayMs: 100, maxDelayMs: 1_000, jitter: 0.5, random: () => 1 });
    expect([1, 2, 3, 4, 5].map(() => limiter.when("k"))).toEqual([50, 100, 200, 400, 500]);
    const spread = new Set(Array.from({ length: 50 }, () => new ExponentialBackoff({ baseDelayMs: 1000, jitter: 0.2 }).when("k")));
    expect(Math.min(...spread)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...spread)).toBeLessThanOrEqual(1000);
    expect(spread.size).toBeGreaterThan(1);
  });

  it("after shutDown hands out nothing, drops queued and delayed keys, and drains the ones in flight", async () => {
    const clock = new FakeClock();
    const q = queue(clock);
    q.add("ns/a");
    q.add("ns/b");
    q.addAfter("ns/c", 1_000);
    const inFlight = await q.get();
    q.shutDown();
    q.add("ns/d");
    expect(await q.get()).toBeUndefined();
    expect(q.depth).toBe(0);
    expect(q.delayedCount).toBe(0);
    let drained = false;
    const draining = q.drain().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done(inFlight!);
    await draining;
    expect(drained).toBe(true);
    clock.advance(5_000);
    expect(q.depth).toBe(0);
  });

  it("releases a worker waiting for a key when shut down", async () => {
    const q = queue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    await q.drain();
  });

  it("counts adds and retries for metrics", () => {
    let added = 0;
    let retried = 0;
    const q = new WorkQueue({ clock: new FakeClock(), observer: { added: () => added++, retried: () => retried++ } });
    q.add("a");
    q.add("a");
    q.add("b");
    q.addRateLimited("c");
    expect({ added, retried }).toEqual({ added: 2, retried: 1 });
  });
});
