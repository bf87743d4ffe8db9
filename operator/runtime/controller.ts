// A controller: one work queue and a bounded number of workers calling one reconciler, as
// controller-runtime's Controller. Events enqueue keys; the reconciler reads the current state
// from the informer caches, so it always acts on the latest state, never on the event.
import { systemClock, type Clock } from "./clock.js";
import { TerminalError, describeError } from "./errors.js";
import { parseKey } from "./keys.js";
import { silentLogger, type Logger } from "./logger.js";
import { ExponentialBackoff, type BackoffOptions } from "./rate-limiter.js";
import { WorkQueue, type WorkQueueObserver } from "./workqueue.js";

export interface ReconcileRequest {
  readonly namespace: string;
  readonly name: string;
  /** "namespace/name", or "name" for cluster-scoped objects. */
  readonly key: string;
  /** Aborted when the controller stops (shutdown, lost leadership): long waits should end. */
  readonly signal: AbortSignal;
}

/** Thrown by a reconcile that stopped before acting because its signal was aborted. */
export class StoppedLeadingError extends Error {
  override readonly name = "StoppedLeadingError";
  constructor() {
    super("the controller stopped (shutdown or lost leadership): nothing more is done in this reconcile");
  }
}

/**
 * Called right before every write a former leader must not make: a reconcile that outlives its
 * leadership (a long exec, a slow API) stops there instead of acting on a cluster that another
 * replica now manages.
 */
export function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new StoppedLeadingError();
}

export interface ReconcileResult {
  /** Reconcile this key again after this delay, even if nothing changes (polling). */
  requeueAfterMs?: number;
}

/**
 * Makes the world match the object named by the request. Throws to be retried with backoff
 * (TerminalError: not retried). Must be idempotent: it may run again at any time, and may have
 * been interrupted at any line before.
 */
export interface Reconciler {
  reconcile(request: ReconcileRequest): Promise<ReconcileResult | void>;
}

/**
 * Which keys this process may reconcile, when replicas share the work (sharding): a key it may
 * not is dropped when enqueued and when handed out; one it may is reconciled with a signal that
 * aborts when it no longer may (its shard handed over or lost).
 */
export interface WorkGate {
  /** Undefined (or aborted) when this process may not reconcile key now. */
  signal(key: string): AbortSignal | undefined;
}

export type ReconcileOutcome = "success" | "requeue_after" | "error" | "terminal_error";

export interface ControllerObserver {
  queue?: WorkQueueObserver;
  reconciled(outcome: ReconcileOutcome, durationSeconds: number): void;
  activeWorkers(count: number): void;
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  /** Workers: keys reconciled at the same time (never the same key twice). Default 1. */
  maxConcurrentReconciles?: number;
  /**
   * The group of a key (the cluster its object is declared in) and how many keys of one group
   * are reconciled at once: keys are handed out round-robin across groups (workqueue.ts).
   */
  group?: (key: string) => string;
  maxConcurrentPerGroup?: number;
  backoff?: BackoffOptions;
  gate?: WorkGate;
  clock?: Clock;
  logger?: Logger;
  observer?: ControllerObserver;
}

export class Controller {
  readonly name: string;
  private readonly options: ControllerOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private queue: WorkQueue | undefined;
  private abort: AbortController | undefined;
  private workers: Promise<void>[] = [];
  private active = 0;
  /** The gate's signal of each reconcile in flight (drained() waits for those of one signal). */
  private readonly admittedUnder = new Map<string, AbortSignal>();
  private drainWaiters: Array<{ signal: AbortSignal; resolve: () => void }> = [];
  private combinedSignals = new WeakMap<AbortSignal, AbortSignal>();
  private combinedTerm: AbortSignal | undefined;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child({ controller: options.name });
  }

  get running(): boolean {
    return this.queue !== undefined && !this.queue.shuttingDown;
  }

  /** The live queue, for metrics and tests; undefined while stopped. */
  get workQueue(): WorkQueue | undefined {
    return this.queue;
  }

  /** Queues key for reconciliation; ignored while the controller is stopped (not leading) or the gate refuses it. */
  enqueue(key: string): void {
    if (!this.queue || (this.options.gate && !isOpen(this.options.gate.signal(key)))) return;
    this.queue.add(key);
  }

  /**
   * Resolves when no reconcile admitted under this gate signal runs any more (after it aborted,
   * none starts), or after timeoutMs.
   */
  async drained(signal: AbortSignal, timeoutMs = 30_000): Promise<void> {
    const running = () => [...this.admittedUnder.values()].some((admitted) => admitted === signal);
    if (!running()) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = await Promise.race([
      new Promise<true>((resolve) => this.drainWaiters.push({ signal, resolve: () => resolve(true) })),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!done) this.logger.warn("reconciles of a stopped shard still running", { timeoutMs });
  }

  /** Starts the workers with a fresh queue (and fresh backoff state). */
  start(): void {
    if (this.running) return;
    const queue = new WorkQueue({
      clock: this.clock,
      rateLimiter: new ExponentialBackoff(this.options.backoff),
      observer: this.options.observer?.queue,
      group: this.options.group,
      maxPerGroup: this.options.maxConcurrentPerGroup,
    });
    const abort = new AbortController();
    this.queue = queue;
    this.abort = abort;
    const count = Math.max(1, this.options.maxConcurrentReconciles ?? 1);
    this.workers = Array.from({ length: count }, () => this.work(queue, abort.signal));
    this.logger.info("controller started", { workers: count });
  }

  /**
   * Stops handing out keys, aborts the signal of the reconciles in flight and waits for them, at
   * most timeoutMs; queued keys are dropped (whoever runs next lists everything again).
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    const queue = this.queue;
    if (!queue) return;
    queue.shutDown();
    this.abort?.abort();
    const drained = await Promise.race([
      Promise.all(this.workers).then(() => true),
      new Promise<false>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        timer.unref();
      }),
    ]);
    if (!drained) this.logger.warn("reconciles still running at shutdown", { timeoutMs, processing: queue.processingCount });
    this.queue = undefined;
    this.workers = [];
    this.logger.info("controller stopped");
  }

  private async work(queue: WorkQueue, signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const gate = this.options.gate;
      const admitted = gate?.signal(key);
      if (gate && !isOpen(admitted)) {
        // Another replica's now: it reconciles the key from its own full list.
        queue.forget(key);
        queue.done(key);
        continue;
      }
      this.options.observer?.activeWorkers(++this.active);
      if (admitted) this.admittedUnder.set(key, admitted);
      try {
        await this.reconcileKey(queue, key, admitted ? this.termAndGate(signal, admitted) : signal);
      } finally {
        this.admittedUnder.delete(key);
        if (admitted) this.wakeDrainWaiters();
        this.options.observer?.activeWorkers(--this.active);
        queue.done(key);
      }
    }
  }

  /**
   * One signal per gate signal (shard) and term, aborted when either is: shared by the reconciles
   * of the shard, so that the long-lived signals get a listener per shard, not one per reconcile.
   */
  private termAndGate(term: AbortSignal, gate: AbortSignal): AbortSignal {
    let combined = this.combinedSignals.get(gate);
    if (!combined || this.combinedTerm !== term) {
      if (this.combinedTerm !== term) this.combinedSignals = new WeakMap();
      this.combinedTerm = term;
      const controller = new AbortController();
      // Whichever aborts first removes both listeners: the term outlives many shards.
      const abort = () => {
        term.removeEventListener("abort", abort);
        gate.removeEventListener("abort", abort);
        controller.abort();
      };
      if (term.aborted || gate.aborted) controller.abort();
      else {
        term.addEventListener("abort", abort);
        gate.addEventListener("abort", abort);
      }
      combined = controller.signal;
      this.combinedSignals.set(gate, combined);
    }
    return combined;
  }

  private wakeDrainWaiters(): void {
    const admitted = new Set(this.admittedUnder.values());
    const [done, waiting] = partition(this.drainWaiters, (waiter) => !admitted.has(waiter.signal));
    this.drainWaiters = waiting;
    for (const waiter of done) waiter.resolve();
  }

  private async reconcileKey(queue: WorkQueue, key: string, signal: AbortSignal): Promise<void> {
    const started = this.clock.now();
    const log = this.logger.child({ key });
    // With "reconciled", the span of every reconcile (the sharding test checks that no two replicas' overlap).
    log.debug("reconciling");
    let outcome: ReconcileOutcome;
    try {
      const result = await this.options.reconciler.reconcile({ ...parseKey(key), key, signal });
      queue.forget(key);
      const requeueAfterMs = result?.requeueAfterMs;
      if (requeueAfterMs !== undefined && requeueAfterMs > 0) {
        queue.addAfter(key, requeueAfterMs);
        outcome = "requeue_after";
      } else {
        outcome = "success";
      }
    } catch (error) {
      if (signal.aborted) {
        // Stopped leading mid-reconcile: whoever leads next starts over from a full list.
        outcome = "error";
        log.info("reconcile stopped: the controller is stopping", { error: describeError(error) });
      } else if (error instanceof TerminalError) {
        queue.forget(key);
        outcome = "terminal_error";
        log.error("reconcile failed; not retried until the object changes", { error: describeError(error) });
      } else {
        // Backoff first, so that numRequeues() in the log is the retry about to happen.
        queue.addRateLimited(key);
        outcome = "error";
        log.error("reconcile failed; retrying with backoff", { error: describeError(error), retries: queue.numRequeues(key) });
      }
    }
    const durationSeconds = (this.clock.now() - started) / 1000;
    this.options.observer?.reconciled(outcome, durationSeconds);
    log.debug("reconciled", { outcome, durationMs: Math.round(durationSeconds * 1000) });
  }
}

function isOpen(signal: AbortSignal | undefined): signal is AbortSignal {
  return signal !== undefined && !signal.aborted;
}

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
