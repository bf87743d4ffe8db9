// The work queue between informers and reconcilers, with client-go's semantics:
// - a key waits in the queue at most once (dedup), however many events named it;
// - a key being processed is not handed to another worker: if it is added meanwhile, it is
//   queued again when done() is called, so the change is never lost nor reconciled twice at once;
// - addAfter() delays a key (requeue-after), addRateLimited() delays it by its backoff;
// - shutDown() hands out nothing more; drain() waits for the keys being processed.
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
}

export class WorkQueue {
  private readonly ready: string[] = [];
  /** Keys that need processing: in `ready`, or added again while being processed. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, { readyAt: number; timer: Timer }>();
  private readonly waitingWorkers: Array<(key: string | undefined) => void> = [];
  private readonly drainWaiters: Array<() => void> = [];
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly observer: WorkQueueObserver | undefined;
  private stopped = false;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.rateLimiter = options.rateLimiter ?? new ExponentialBackoff();
    this.observer = options.observer;
  }

  /** Keys ready to be handed out (the workqueue_depth metric). */
  get depth(): number {
    return this.ready.length;
  }

  /** Keys waiting for their delay (requeue-after or backoff) to pass. */
  get delayedCount(): number {
    return this.delayed.size;
  }

  get processingCount(): number {
    return this.processing.size;
  }

  get shuttingDown(): boolean {
    return this.stopped;
  }

  add(key: string): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.observer?.added();
    if (!this.processing.has(key)) this.handOut(key);
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
    const key = this.ready.shift();
    if (key !== undefined) {
      this.startProcessing(key);
      return Promise.resolve(key);
    }
    if (this.stopped) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waitingWorkers.push(resolve));
  }

  /** Marks key processed; if it was added meanwhile, it is queued again now. */
  done(key: string): void {
    if (!this.processing.delete(key)) return;
    if (this.dirty.has(key) && !this.stopped) this.handOut(key);
    if (this.processing.size === 0) this.drainWaiters.splice(0).forEach((resolve) => resolve());
  }

  /** Hands out no more keys; queued and delayed keys are dropped (a new leader relists them). */
  shutDown(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.ready.length = 0;
    this.dirty.clear();
    this.waitingWorkers.splice(0).forEach((resolve) => resolve(undefined));
  }

  /** Resolves when no key is being processed. */
  drain(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private handOut(key: string): void {
    const worker = this.waitingWorkers.shift();
    if (worker) {
      this.startProcessing(key);
      worker(key);
    } else {
      this.ready.push(key);
    }
  }

  private startProcessing(key: string): void {
    this.dirty.delete(key);
    this.processing.add(key);
  }
}
