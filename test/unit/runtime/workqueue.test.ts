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

describe("WorkQueue with groups", () => {
  // Keys "cluster:name": the group is the cluster.
  const grouped = (maxPerGroup: number) => new WorkQueue({ group: (key) => key.split(":")[0]!, maxPerGroup });

  it("serves groups in turn: a single key of a second group is handed out second, not after 1,000 of the first", async () => {
    const q = grouped(4);
    for (let i = 0; i < 1000; i++) q.add(`big:${i}`);
    q.add("small:only");
    expect(q.depth).toBe(1001);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(["big:0", "small:only", "big:1"]);
  });

  it("never processes more than maxPerGroup keys of one group at once; a done() frees a place for the group's next key", async () => {
    const q = grouped(2);
    for (const key of ["slow:1", "slow:2", "slow:3", "slow:4", "fast:1", "fast:2", "fast:3"]) q.add(key);
    const handedOut = [await q.get(), await q.get(), await q.get(), await q.get()];
    expect(handedOut).toEqual(["slow:1", "fast:1", "slow:2", "fast:2"]);
    // Both groups are at their bound: a fifth worker waits although keys of both are ready.
    let fifth: string | undefined;
    void q.get().then((key) => (fifth = key));
    await Promise.resolve();
    expect(fifth).toBeUndefined();
    expect(q.depth).toBe(3);
    q.done("fast:1");
    await Promise.resolve();
    expect(fifth).toBe("fast:3");
    // slow:3 waits for a slow key to be done, whatever else is free.
    let sixth: string | undefined;
    void q.get().then((key) => (sixth = key));
    q.done("fast:2");
    q.done("fast:3");
    await Promise.resolve();
    expect(sixth).toBeUndefined();
    q.done("slow:1");
    await Promise.resolve();
    expect(sixth).toBe("slow:3");
    expect(q.processingCount).toBe(2);
  });

  it("a key added again while processed comes back in its group, still bounded", async () => {
    const q = grouped(1);
    q.add("a:1");
    q.add("a:2");
    const first = await q.get();
    expect(first).toBe("a:1");
    q.add("a:1");
    let next: string | undefined;
    void q.get().then((key) => (next = key));
    await Promise.resolve();
    expect(next).toBeUndefined();
    q.done("a:1");
    await Promise.resolve();
    // a:2 was ready first; a:1 is queued behind it.
    expect(next).toBe("a:2");
    expect(q.depth).toBe(1);
    q.done("a:2");
    expect(await q.get()).toBe("a:1");
  });

  it("drain() waits until no key of any group is processed", async () => {
    const q = grouped(1);
    q.add("a:1");
    q.add("b:1");
    const [first, second] = [await q.get(), await q.get()];
    let drained = false;
    void q.drain().then(() => (drained = true));
    q.done(first!);
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done(second!);
    await Promise.resolve();
    expect(drained).toBe(true);
  });

  it("a key stays counted against the group it was handed out under, though its object moved to another cluster meanwhile", async () => {
    const clusterOf = new Map([["obj", "old"]]);
    const q = new WorkQueue({ group: (key) => clusterOf.get(key) ?? key.split(":")[0]!, maxPerGroup: 1 });
    q.add("obj");
    expect(await q.get()).toBe("obj");
    clusterOf.set("obj", "new");
    q.add("old:other");
    let next: string | undefined;
    void q.get().then((key) => (next = key));
    await Promise.resolve();
    expect(next).toBeUndefined();
    q.done("obj");
    await Promise.resolve();
    expect(next).toBe("old:other");
  });

  it("a group function that throws does not lose the key: it goes to the default group", async () => {
    const q = new WorkQueue({
      group: () => {
        throw new Error("no cluster");
      },
      maxPerGroup: 1,
    });
    q.add("ns/a");
    expect(await q.get()).toBe("ns/a");
  });

  it("shutDown() releases workers waiting on a group at its bound", async () => {
    const q = grouped(1);
    q.add("a:1");
    q.add("a:2");
    await q.get();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
  });

  it("keeps order within a group over many keys (the queue's FIFO compacts as it is consumed)", async () => {
    const q = grouped(1);
    for (let i = 0; i < 5000; i++) q.add(`g:${i}`);
    for (let i = 0; i < 5000; i++) {
      const key = await q.get();
      expect(key).toBe(`g:${i}`);
      q.done(key!);
    }
    expect(q.depth).toBe(0);
  });
});
