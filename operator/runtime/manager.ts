// The manager, as controller-runtime's: shared informers, controllers and the writers they use,
// leader election, /metrics, /healthz, /readyz and graceful shutdown. Controllers run only while
// this process leads (informers run always, so that a new leader starts with a warm cache).
import type { KubeConfig, Middleware } from "@kubernetes/client-node";
import type { KubeObject } from "./kube-object.js";
import { ObjectWriter } from "./apply.js";
import { makeClients, FIELD_MANAGER, type KubeClients } from "./clients.js";
import { sleep, systemClock, type Clock } from "./clock.js";
import { Controller, type Reconciler } from "./controller.js";
import { describeError } from "./errors.js";
import { KubeEventRecorder, type EventRecorder } from "./events.js";
import { startHttpServer, type Check, type RunningHttpServer } from "./http-server.js";
import { Informer, type EventSource, type InformerEventType } from "./informer.js";
import { keyOf, ownerKeys } from "./keys.js";
import { IgnoreStatusOnlyUpdates } from "./predicates.js";
import { LeaderElector, candidateIdentity, type LeaderElectionConfig } from "./leader-election.js";
import { ShardCoordinator, type ShardingConfig } from "./shard-coordinator.js";
import { createLogger, type Logger } from "./logger.js";
import { OperatorMetrics } from "./metrics.js";
import type { BackoffOptions } from "./rate-limiter.js";
import type { ResourceType } from "./resource-types.js";
import { StatusWriter } from "./status.js";

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  /** Watch these namespaces only; all namespaces when empty or undefined. */
  namespaces?: readonly string[];
  /** Lease to hold while running controllers; false runs them without election (one replica). */
  leaderElection: (Omit<LeaderElectionConfig, "identity"> & { identity?: string }) | false;
  /**
   * Instead of one leader, replicas share the work by shard (shard-coordinator.ts): each
   * controller reconciles only the keys of the shards this process holds. Needs leaderElection false.
   */
  sharding?: Omit<ShardingConfig, "identity"> & { identity?: string };
  /** Port of /metrics (0: any free port); no metrics server when undefined. */
  metricsPort?: number;
  /** Port of /healthz and /readyz (0: any free port; may equal metricsPort); none when undefined. */
  healthPort?: number;
  /** Default 0.0.0.0; tests use 127.0.0.1. */
  bindHost?: string;
  /**
   * /readyz fails while not leading. Off by default: a Deployment rolling out a new pod waits
   * for it to be ready before stopping the old one, which holds the Lease until it stops.
   */
  readyRequiresLeadership?: boolean;
  resyncPeriodMs?: number;
  /** How long shutdown waits for reconciles in flight. */
  gracefulShutdownTimeoutMs?: number;
  fieldManager?: string;
  /** Extra client middleware (tests count writes with it). */
  clientMiddleware?: Middleware[];
  eventAggregationWindowMs?: number;
  logger?: Logger;
  clock?: Clock;
}

export interface WatchSpec {
  readonly informer: EventSource;
  readonly map: (object: KubeObject) => string[];
}

/** Watch another kind: map each of its objects to the keys of primary objects to reconcile. */
export function mapTo<U extends KubeObject>(informer: Informer<U>, map: (object: U) => string[]): WatchSpec {
  return { informer, map: (object) => map(object as U) };
}

/**
 * Work that runs while this process leads, next to the controllers (controller-runtime's
 * Runnable that needs leader election): started once the caches have synced, its signal aborted
 * when leadership is lost or the manager stops, and awaited before the manager stops. With
 * sharding it runs in every replica and does only the work of shards held (Manager.owns).
 */
export interface Runnable {
  readonly name: string;
  run(signal: AbortSignal): Promise<void>;
}

export interface ControllerSpec<T extends KubeObject> {
  /** Names the controller in logs and metrics; by convention the primary kind. */
  name: string;
  /** The primary kind: a change of an object enqueues the object's own key. */
  for: Informer<T>;
  /** Kinds whose objects the primary kind owns: a change enqueues the controller owner's key. */
  owns?: readonly EventSource[];
  watches?: readonly WatchSpec[];
  reconciler: Reconciler;
  maxConcurrentReconciles?: number;
  /** Groups of keys reconciled with a bound each (Controller's group and maxConcurrentPerGroup). */
  group?: (key: string) => string;
  maxConcurrentPerGroup?: number;
  backoff?: BackoffOptions;
  /**
   * Not to act on updates of a primary object that change only its status (predicates.ts): for
   * controllers whose reconcile does not depend on the status it finds.
   */
  ignoreStatusOnlyUpdates?: boolean;
  /**
   * With sharding (required then): the shard key of a primary key, the unit that is never split
   * between replicas (for RabbitMQ objects, the cluster they are declared in).
   */
  shardKey?: (key: string) => string;
}

export class Manager {
  readonly clients: KubeClients;
  readonly writer: ObjectWriter;
  readonly status: StatusWriter;
  readonly events: EventRecorder;
  readonly metrics: OperatorMetrics;
  readonly logger: Logger;
  private readonly options: ManagerOptions;
  /** The clock the runtime and the runnables added to it read (a fake one in tests). */
  readonly clock: Clock;
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly controllers: Array<{ controller: Controller; primary: EventSource; shardKey?: (key: string) => string }> = [];
  private readonly runnables: Runnable[] = [];
  private runnablesRunning: Promise<void>[] = [];
  private readonly elector: LeaderElector | undefined;
  private readonly coordinator: ShardCoordinator | undefined;
  private coordinatorRun: Promise<void> | undefined;
  private readonly shutdown = new AbortController();
  private servers: RunningHttpServer[] = [];
  private electorRun: Promise<void> | undefined;
  private term: AbortController | undefined;
  private controllersRunning: Promise<void> = Promise.resolve();
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(options: ManagerOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? createLogger();
    this.metrics = new OperatorMetrics();
    this.clients = makeClients(options.kubeConfig, { middleware: [this.metrics.requestCounter(), ...(options.clientMiddleware ?? [])] });
    const fieldManager = options.fieldManager ?? FIELD_MANAGER;
    this.writer = new ObjectWriter(this.clients, { fieldManager, logger: this.logger });
    this.status = new StatusWriter(this.clients, { fieldManager, logger: this.logger });
    this.events = new KubeEventRecorder(this.clients, { clock: this.clock, logger: this.logger, aggregationWindowMs: options.eventAggregationWindowMs });
    if (options.leaderElection) {
      const election = options.leaderElection;
      const identity = election.identity ?? candidateIdentity();
      this.elector = new LeaderElector(this.clients.coordination, {
        ...election,
        identity,
        clock: this.clock,
        logger: this.logger,
        callbacks: {
          onStartedLeading: () => {
            this.metrics.setLeader(election.name, true);
            this.startControllers();
          },
          onStoppedLeading: async () => {
            this.metrics.setLeader(election.name, false);
            await this.stopControllers();
          },
        },
      });
    }
    if (options.sharding) {
      if (options.leaderElection) throw new Error("sharding and leader election exclude each other: with sharding every replica works, on its shards");
      const sharding = options.sharding;
      this.coordinator = new ShardCoordinator(this.clients.coordination, {
        ...sharding,
        identity: sharding.identity ?? candidateIdentity(),
        clock: this.clock,
        logger: this.logger,
        onHeldChanged: (held) => this.metrics.setShardsHeld(sharding.name, held),
        callbacks: {
          acquired: (shard) => this.enqueueShard(shard),
          stopped: (_shard, signal) => this.drainShard(signal),
        },
      });
    }
  }

  /**
   * Whether this process does the work of this shard key now: with sharding, whether it holds the
   * key's shard; without, always (a leader's runnables run only while it leads anyway).
   */
  owns(shardKey: string): boolean {
    if (!this.coordinator) return true;
    const signal = this.coordinator.signalOf(shardKey);
    return signal !== undefined && !signal.aborted;
  }

  /** A shard just taken: what happened in it meanwhile is unknown, so every key of it is reconciled once. */
  private enqueueShard(shard: number): void {
    const coordinator = this.coordinator!;
    for (const { controller, primary, shardKey } of this.controllers) {
      for (const key of primary.keys()) if (shardKey && coordinator.shardOf(shardKey(key)) === shard) controller.enqueue(key);
    }
  }

  private async drainShard(signal: AbortSignal): Promise<void> {
    const timeoutMs = this.options.gracefulShutdownTimeoutMs ?? 30_000;
    await Promise.all(this.controllers.map(({ controller }) => controller.drained(signal, timeoutMs)));
  }

  /** Whether the controllers run: leading, or started when there is no election (sharding included). */
  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader : this.started;
  }

  /** Ports actually bound, in the order metrics, health (for tests that asked for port 0). */
  get ports(): number[] {
    return this.servers.map((server) => server.port);
  }

  /** What the shared informers cache, one line each: `<group>/<Kind>?<label selector>&<field selector>[&metadata]`. */
  get caches(): string[] {
    return [...this.informers.keys()].sort();
  }

  /** The shared informer of a kind (one per kind and label selector). */
  informer<T extends KubeObject>(
    resource: ResourceType,
    options: { labelSelector?: string; fieldSelector?: string; metadataOnly?: boolean } = {},
  ): Informer<T> {
    const id = `${resource.group}/${resource.kind}?${options.labelSelector ?? ""}&${options.fieldSelector ?? ""}${options.metadataOnly ? "&metadata" : ""}`;
    let informer = this.informers.get(id);
    if (!informer) {
      informer = new Informer<KubeObject>(this.options.kubeConfig, resource, {
        namespaces: this.options.namespaces,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        metadataOnly: options.metadataOnly,
        resyncPeriodMs: this.options.resyncPeriodMs,
        clock: this.clock,
        logger: this.logger,
        observer: this.metrics.informer(resource.plural),
      });
      this.informers.set(id, informer);
      if (this.started) informer.start();
    }
    return informer as unknown as Informer<T>;
  }

  /** Adds a controller; all controllers are added before start(). */
  addController<T extends KubeObject>(spec: ControllerSpec<T>): Controller {
    if (this.started) throw new Error(`controller ${spec.name} added after the manager started`);
    const coordinator = this.coordinator;
    const shardKey = spec.shardKey;
    if (coordinator && !shardKey) throw new Error(`controller ${spec.name} has no shardKey: with sharding every controller needs one`);
    const live: { controller?: Controller } = {};
    const depth = () => live.controller?.workQueue?.depth ?? 0;
    const controller = new Controller({
      name: spec.name,
      reconciler: spec.reconciler,
      maxConcurrentReconciles: spec.maxConcurrentReconciles,
      group: spec.group,
      maxConcurrentPerGroup: spec.maxConcurrentPerGroup,
      backoff: spec.backoff,
      gate: coordinator && shardKey ? { signal: (key) => coordinator.signalOf(shardKey(key)) } : undefined,
      clock: this.clock,
      logger: this.logger,
      observer: this.metrics.controller(spec.name, depth),
    });
    live.controller = controller;
    const enqueue = (keys: string[], type: InformerEventType) => {
      for (const key of keys) controller.enqueue(key);
      if (keys.length > 0) this.logger.debug("enqueued", { controller: spec.name, keys, event: type });
    };
    const filter = spec.ignoreStatusOnlyUpdates ? new IgnoreStatusOnlyUpdates() : undefined;
    spec.for.addHandler((type, object) => {
      if (!filter || filter.passes(type, object)) enqueue([keyOf(object)], type);
    });
    for (const owned of spec.owns ?? []) owned.addHandler((type, object) => enqueue(ownerKeys(object, spec.for.resource), type));
    for (const watch of spec.watches ?? []) watch.informer.addHandler((type, object) => enqueue(watch.map(object), type));
    this.controllers.push({ controller, primary: spec.for, shardKey });
    return controller;
  }

  /** Adds work that runs while leading (see Runnable); all runnables are added before start(). */
  addRunnable(runnable: Runnable): void {
    if (this.started) throw new Error(`runnable ${runnable.name} added after the manager started`);
    this.runnables.push(runnable);
  }

  /** Starts servers, informers and leader election (or controllers) and returns. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.startServers();
    for (const informer of this.informers.values()) informer.start();
    if (this.elector) this.electorRun = this.elector.run(this.shutdown.signal);
    else this.startControllers();
    this.logger.info("manager started", {
      namespaces: this.options.namespaces?.length ? this.options.namespaces : "all",
      leaderElection: Boolean(this.elector),
      shards: this.coordinator?.shards,
    });
  }

  /**
   * Starts, then runs until one of the signals (or stop()), then shuts down gracefully:
   * reconciles in flight finish, the Lease is released, watches close.
   */
  async run(signals: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"]): Promise<void> {
    const onSignal = (signal: NodeJS.Signals) => {
      this.logger.info("shutting down", { signal });
      void this.stop();
    };
    for (const signal of signals) process.once(signal, onSignal);
    try {
      await this.start();
      await new Promise<void>((resolve) => this.shutdown.signal.addEventListener("abort", () => resolve(), { once: true }));
      await this.stop();
    } finally {
      for (const signal of signals) process.off(signal, onSignal);
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    // Controllers first, while still leading: the next leader must not overlap our last writes.
    await this.stopControllers();
    this.shutdown.abort();
    await this.electorRun;
    await this.coordinatorRun;
    await Promise.all([...this.informers.values()].map((informer) => informer.stop()));
    await Promise.all(this.servers.map((server) => server.close()));
    this.servers = [];
    this.logger.info("manager stopped");
  }

  private startControllers(): void {
    const term = new AbortController();
    this.term = term;
    this.controllersRunning = (async () => {
      const informers = [...this.informers.values()];
      let waited = 0;
      while (!informers.every((informer) => informer.synced)) {
        if (term.signal.aborted) return;
        // Real time, as in Informer.waitForSync: informers sync on the API server's time, not the injected clock's.
        await sleep(systemClock, 50);
        if ((waited += 50) % 30_000 === 0) {
          this.logger.warn("waiting for informers to sync", { unsynced: informers.filter((i) => !i.synced).map((i) => i.resource.plural) });
        }
      }
      if (term.signal.aborted) return;
      for (const { controller, primary } of this.controllers) {
        controller.start();
        // What happened while we were not leading is unknown: reconcile everything once.
        for (const key of primary.keys()) controller.enqueue(key);
      }
      // With sharding the controllers run from the start and their gate lets through the keys of
      // shards held; a replica takes shards only once its caches have synced (one that never
      // syncs must not hold shards it cannot work on).
      if (this.coordinator && !this.coordinatorRun) this.coordinatorRun = this.coordinator.run(this.shutdown.signal);
      this.runnablesRunning = this.runnables.map((runnable) =>
        runnable.run(term.signal).catch((error: unknown) => {
          // A runnable that fails stays stopped until the next leadership term; the process lives on.
          this.logger.error("runnable failed", { runnable: runnable.name, error: describeError(error) });
        }),
      );
    })();
  }

  private async stopControllers(): Promise<void> {
    this.term?.abort();
    await this.controllersRunning;
    await Promise.all(this.runnablesRunning);
    this.runnablesRunning = [];
    const timeoutMs = this.options.gracefulShutdownTimeoutMs ?? 30_000;
    await Promise.all(this.controllers.map(({ controller }) => controller.stop(timeoutMs)));
  }

  private async startServers(): Promise<void> {
    const host = this.options.bindHost ?? "0.0.0.0";
    const readiness: Check[] = [
      {
        name: "informers",
        check: () => {
          const unsynced = [...this.informers.values()].filter((informer) => !informer.synced).map((informer) => informer.resource.plural);
          return unsynced.length ? `not synced: ${unsynced.join(", ")}` : undefined;
        },
      },
    ];
    if (this.options.readyRequiresLeadership && this.elector) {
      const elector = this.elector;
      readiness.push({ name: "leader", check: () => (elector.isLeader ? undefined : "not leading") });
    }
    const metrics = () => this.metrics.render();
    const { metricsPort, healthPort } = this.options;
    if (metricsPort !== undefined && metricsPort === healthPort && metricsPort !== 0) {
      this.servers.push(await startHttpServer(metricsPort, host, { metrics, liveness: [], readiness }));
      return;
    }
    if (metricsPort !== undefined) this.servers.push(await startHttpServer(metricsPort, host, { metrics }));
    if (healthPort !== undefined) this.servers.push(await startHttpServer(healthPort, host, { liveness: [], readiness }));
  }
}
