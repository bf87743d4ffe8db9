// The work queue between informers and reconcilers, with client-go's semantics:
// - a key waits in the queue at most once (dedup), however many events named it;
// - a key being processed is not handed to another worker: if it is added meanwhile, it is
//   queued again when done() is called, so the change is never lost nor reconciled twice at once;
// - addAfter() delays a key (requeue-after), addRateLimited() delays it by its backoff;
// - shutDown() hands out nothing more; drain() waits for the keys being processed;
// - with a `group` function, keys are handed out round-robin across groups, at most `maxPerGroup`
//   of one group at a time: one slow RabbitMQ cluster's objects hold a few workers, never all of
//   them, and a cluster with 10,000 keys queued does not make another's single key wait its turn.
import { systemClock, type Clock, type Timer } from "./clock.js";
import { ExponentialBackoff, type RateLimiter } from "./rate-limiter.js";

/** Counters for /metrics; depth is read from the queue when scraped. */
export interface WorkQueueObserver {
  added(): void;
  retried(): void;
}

export interface WorkQueueOptions {
  clock?: Clock;
  rateLimiter?: RateLimiter;
  observer?: WorkQueueObserver;
  /** The group of a key (e.g. the cluster its object belongs to), read when the key is queued. */
  group?: (key: string) => string;
  /** Keys of one group processed at once, at most. Default: no bound. */
  maxPerGroup?: number;
}

export class WorkQueue {
  /** Ready keys per group, each in the order they became ready. */
  private readonly ready = new Map<string, Fifo>();
  /** Groups with ready keys, in the order they are served (round robin). */
  private readonly turns: string[] = [];
  private readyCount = 0;
  /** The group each key being processed was handed out under, and how many each group has. */
  private readonly processingGroup = new Map<string, string>();
  private readonly processingPerGroup = new Map<string, number>();
  /** Keys that need processing: in `ready`, or added again while being processed. */
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, { readyAt: number; timer: Timer }>();
  private readonly waitingWorkers: Array<(key: string | undefined) => void> = [];
  private readonly drainWaiters: Array<() => void> = [];
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly observer: WorkQueueObserver | undefined;
  private readonly groupOf: (key: string) => string;
  private readonly maxPerGroup: number;
  private stopped = false;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.rateLimiter = options.rateLimiter ?? new ExponentialBackoff();
    this.observer = options.observer;
    this.groupOf = options.group ?? (() => "");
    this.maxPerGroup = Math.max(1, options.maxPerGroup ?? Number.POSITIVE_INFINITY);
  }

  /** Keys ready to be handed out (the workqueue_depth metric). */
  get depth(): number {
    return this.readyCount;
  }

  /** Keys waiting for their delay (requeue-after or backoff) to pass. */
  get delayedCount(): number {
    return this.delayed.size;
  }

  get processingCount(): number {
    return this.processingGroup.size;
  }

  get shuttingDown(): boolean {
    return this.stopped;
  }

  add(key: string): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.observer?.added();
    if (!this.processingGroup.has(key)) this.makeReady(key);
  }

  /** Adds key after delayMs. Of several pending delays for one key, the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.readyAt <= readyAt) return;
    pending?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { readyAt, timer });
  }

  /** Adds key after its backoff: each call without forget() in between doubles the delay. */
  addRateLimited(key: string): void {
    if (this.stopped) return;
    this.observer?.retried();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Resets the backoff of key; call it when key was processed successfully. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.retries(key);
  }

  /** The next key to process, waiting for one; undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    const key = this.takeReady();
    if (key !== undefined) return Promise.resolve(key);
    if (this.stopped) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waitingWorkers.push(resolve));
  }

  /** Marks key processed; if it was added meanwhile, it is queued again now. */
  done(key: string): void {
    const group = this.processingGroup.get(key);
    if (group === undefined) return;
    this.processingGroup.delete(key);
    const count = (this.processingPerGroup.get(group) ?? 1) - 1;
    if (count > 0) this.processingPerGroup.set(group, count);
    else this.processingPerGroup.delete(group);
    if (this.dirty.has(key) && !this.stopped) this.makeReady(key);
    else this.serveWaitingWorkers();
    if (this.processingGroup.size === 0) this.drainWaiters.splice(0).forEach((resolve) => resolve());
  }

  /** Hands out no more keys; queued and delayed keys are dropped (a new leader relists them). */
  shutDown(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.ready.clear();
    this.turns.length = 0;
    this.readyCount = 0;
    this.dirty.clear();
    this.waitingWorkers.splice(0).forEach((resolve) => resolve(undefined));
  }

  /** Resolves when no key is being processed. */
  drain(): Promise<void> {
    if (this.processingGroup.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private makeReady(key: string): void {
    const group = this.safeGroupOf(key);
    const keys = this.ready.get(group);
    if (keys) keys.push(key);
    else {
      this.ready.set(group, new Fifo(key));
      this.turns.push(group);
    }
    this.readyCount++;
    this.serveWaitingWorkers();
  }

  /** A group function that throws must not lose the key (it is marked dirty already): the default group. */
  private safeGroupOf(key: string): string {
    try {
      return this.groupOf(key);
    } catch {
      return "";
    }
  }

  private serveWaitingWorkers(): void {
    while (this.waitingWorkers.length > 0) {
      const key = this.takeReady();
      if (key === undefined) return;
      this.waitingWorkers.shift()!(key);
    }
  }

  /** The next ready key of the first group in turn that may process one more, marked processing. */
  private takeReady(): string | undefined {
    for (let i = 0; i < this.turns.length; i++) {
      const group = this.turns[i]!;
      const processing = this.processingPerGroup.get(group) ?? 0;
      if (processing >= this.maxPerGroup) continue;
      const keys = this.ready.get(group)!;
      const key = keys.shift();
      this.readyCount--;
      // This group's turn is over: to the back of the line, or out of it with nothing left.
      this.turns.splice(i, 1);
      if (keys.length > 0) this.turns.push(group);
      else this.ready.delete(group);
      this.dirty.delete(key);
      this.processingGroup.set(key, group);
      this.processingPerGroup.set(group, processing + 1);
      return key;
    }
    return undefined;
  }
}

/** A first-in first-out list whose shift() does not move the rest (Array.shift() on 10,000 keys does). */
class Fifo {
  private items: string[];
  private head = 0;

  constructor(first: string) {
    this.items = [first];
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: string): void {
    this.items.push(item);
  }

  /** The first item; only called when length > 0. */
  shift(): string {
    const item = this.items[this.head++]!;
    // Compacted once half is consumed, so memory follows what is left.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
