// Informers: a cache of one kind kept current by list + watch, and handlers called on changes.
//
// client-node's ListWatch does the list, the watch from the list's resourceVersion, the relist on
// 410 Gone and the cache. What it lacks is written here:
// - a supervisor: ListWatch stops for good after any error other than 410 (API server restarted,
//   connection reset, 5xx); we restart it with backoff, resuming from the last resourceVersion;
// - watch bookmarks and a server-side watch timeout (plus a client-side watchdog), so a resumed
//   watch rarely needs a relist and a silently dead connection is noticed;
// - periodic resync (every cached object handed to the handlers again);
// - a list of namespaces (one ListWatch each) or all namespaces;
// - lists that return plain JSON, like the watch does (see get-json.ts);
// - metadata-only caches (what controller-runtime calls OnlyMetadata).
import type { KubeObject } from "./kube-object.js";
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from "@kubernetes/client-node";
import { sleep, systemClock, type Clock, type Timer } from "./clock.js";
import { describeError, isGone } from "./errors.js";
import { getJson } from "./get-json.js";
import { formatKey, keyOf, parseKey } from "./keys.js";
import { silentLogger, type Logger } from "./logger.js";
import { ExponentialBackoff, type BackoffOptions } from "./rate-limiter.js";
import { collectionPath, withTypeMeta, type ResourceType } from "./resource-types.js";

export type InformerEventType = "add" | "update" | "delete" | "resync";
export type InformerHandler<T extends KubeObject> = (type: InformerEventType, object: T) => void;

/** What controllers need of an informer, whatever its object type. */
export interface EventSource {
  readonly resource: ResourceType;
  readonly synced: boolean;
  addHandler(handler: InformerHandler<KubeObject>): void;
  keys(): string[];
}

export interface InformerObserver {
  listed(): void;
  watchRestarted(): void;
}

export interface InformerOptions {
  /** Watch only these namespaces (one watch each); all namespaces when empty or undefined. */
  namespaces?: readonly string[];
  /** Server-side label selector: the cache holds only matching objects. */
  labelSelector?: string;
  /** Server-side field selector, e.g. `type!=helm.sh/release.v1` to keep large Secrets out of a cache. */
  fieldSelector?: string;
  /**
   * Cache only each object's metadata (the API server's PartialObjectMetadata): names, labels,
   * owners, finalizers, resourceVersion; never a Secret's data. Objects keep their own
   * apiVersion and kind, so they can be patched by metadata.
   */
  metadataOnly?: boolean;
  /** Hand every cached object to the handlers again this often; 0 disables. Default 10 hours. */
  resyncPeriodMs?: number;
  /** Server-side watch timeout; each watch gets a random one between this and twice this. */
  minWatchTimeoutSeconds?: number;
  /** Objects per list page. */
  pageSize?: number;
  /** Backoff between restarts of a failed watch. */
  restartBackoff?: BackoffOptions;
  clock?: Clock;
  logger?: Logger;
  observer?: InformerObserver;
}

export const DEFAULT_RESYNC_PERIOD_MS = 10 * 60 * 60 * 1000;

export class Informer<T extends KubeObject> implements EventSource {
  readonly resource: ResourceType;
  private readonly watchers: NamespaceWatcher<T>[];
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly indexes = new Map<string, CacheIndex<T>>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly resyncPeriodMs: number;
  private resyncTimer: Timer | undefined;
  private running = false;

  constructor(kubeConfig: KubeConfig, resource: ResourceType, options: InformerOptions = {}) {
    this.resource = resource;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child({ informer: resource.plural });
    this.resyncPeriodMs = options.resyncPeriodMs ?? DEFAULT_RESYNC_PERIOD_MS;
    const namespaces = resource.namespaced && options.namespaces?.length ? [...new Set(options.namespaces)] : [undefined];
    this.watchers = namespaces.map(
      (namespace) => new NamespaceWatcher<T>(kubeConfig, resource, namespace, options, this.clock, this.logger, (type, object) => this.dispatch(type, object)),
    );
  }

  /** True once every watched namespace has been listed (the cache is complete). */
  get synced(): boolean {
    return this.watchers.every((watcher) => watcher.synced);
  }

  get stats(): { lists: number; watchRestarts: number; lastError: string | undefined } {
    return {
      lists: this.watchers.reduce((sum, watcher) => sum + watcher.lists, 0),
      watchRestarts: this.watchers.reduce((sum, watcher) => sum + watcher.restarts, 0),
      lastError: this.watchers.map((watcher) => watcher.lastError).find((error) => error !== undefined),
    };
  }

  /**
   * Calls handler on every change. A handler added to a synced informer is first handed every
   * cached object as "add", so it misses nothing. Handlers must be quick and must not throw:
   * they only map objects to keys and enqueue them.
   */
  addHandler(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
    if (this.synced) for (const object of this.list()) this.call(handler, "add", object);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const watcher of this.watchers) watcher.start();
    this.scheduleResync();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.resyncTimer?.cancel();
    await Promise.all(this.watchers.map((watcher) => watcher.stop()));
  }

  /** Resolves true once synced, false if timeoutMs passes (or the signal aborts) first. */
  async waitForSync(timeoutMs = 60_000, signal?: AbortSignal): Promise<boolean> {
    // Real time, not the injected clock: this bounds how long a caller waits.
    const deadline = Date.now() + timeoutMs;
    while (!this.synced) {
      if (signal?.aborted || Date.now() >= deadline) return false;
      await sleep(systemClock, 20);
    }
    return true;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.watcherFor(namespace)?.get(name, namespace);
  }

  getByKey(key: string): T | undefined {
    const { namespace, name } = parseKey(key);
    return this.get(name, namespace || undefined);
  }

  /** Cached objects, optionally of one namespace and carrying all the given labels. */
  list(filter: { namespace?: string; labels?: Readonly<Record<string, string>> } = {}): T[] {
    const watchers = filter.namespace === undefined ? this.watchers : [this.watcherFor(filter.namespace)].filter((w) => w !== undefined);
    const objects = watchers.flatMap((watcher) => watcher.list(filter.namespace));
    const labels = Object.entries(filter.labels ?? {});
    if (labels.length === 0) return objects;
    return objects.filter((object) => labels.every(([key, value]) => object.metadata?.labels?.[key] === value));
  }

  /**
   * Indexes the cache by values computed from each object (client-go's Indexer): byIndex() then
   * finds the objects with a value without going through the whole cache. Kept current before
   * any handler hears of a change.
   */
  addIndex(name: string, values: (object: T) => readonly string[]): void {
    if (this.indexes.has(name)) throw new Error(`${this.resource.plural}: index ${name} exists`);
    const index = new CacheIndex<T>(values);
    for (const object of this.list()) index.put(object);
    this.indexes.set(name, index);
  }

  /** The cached objects whose index `name` has this value. */
  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`${this.resource.plural}: no index ${name}`);
    return index.get(value);
  }

  keys(): string[] {
    return this.list().map((object) => formatKey({ namespace: object.metadata?.namespace ?? "", name: object.metadata?.name ?? "" }));
  }

  private watcherFor(namespace: string | undefined): NamespaceWatcher<T> | undefined {
    if (this.watchers.length === 1 && this.watchers[0]!.namespace === undefined) return this.watchers[0];
    return this.watchers.find((watcher) => watcher.namespace === namespace);
  }

  private dispatch(type: InformerEventType, object: T): void {
    for (const index of this.indexes.values()) {
      if (type === "delete") index.remove(object);
      else index.put(object);
    }
    for (const handler of this.handlers) this.call(handler, type, object);
  }

  private call(handler: InformerHandler<T>, type: InformerEventType, object: T): void {
    try {
      handler(type, object);
    } catch (error) {
      // A throwing handler would otherwise break ListWatch's processing of the watch stream.
      this.logger.error("informer handler threw", { event: type, name: object.metadata?.name, error: describeError(error) });
    }
  }

  private scheduleResync(): void {
    if (this.resyncPeriodMs <= 0 || !this.running) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      if (!this.running) return;
      if (this.synced) {
        const objects = this.list();
        this.logger.debug("resync", { objects: objects.length });
        for (const object of objects) this.dispatch("resync", object);
      }
      this.scheduleResync();
    }, this.resyncPeriodMs);
  }
}

/** Objects by the values an index function gives them (each object under each of its values). */
class CacheIndex<T extends KubeObject> {
  private readonly objects = new Map<string, Map<string, T>>();
  private readonly valuesOf = new Map<string, readonly string[]>();

  constructor(private readonly values: (object: T) => readonly string[]) {}

  put(object: T): void {
    const key = keyOf(object);
    this.remove(object);
    const values = [...new Set(this.values(object))];
    this.valuesOf.set(key, values);
    for (const value of values) {
      let objects = this.objects.get(value);
      if (!objects) this.objects.set(value, (objects = new Map()));
      objects.set(key, object);
    }
  }

  remove(object: T): void {
    const key = keyOf(object);
    for (const value of this.valuesOf.get(key) ?? []) {
      const objects = this.objects.get(value);
      objects?.delete(key);
      if (objects?.size === 0) this.objects.delete(value);
    }
    this.valuesOf.delete(key);
  }

  get(value: string): T[] {
    return [...(this.objects.get(value)?.values() ?? [])];
  }
}

/** One ListWatch (one namespace, or all) and the supervisor that keeps it running. */
class NamespaceWatcher<T extends KubeObject> {
  synced = false;
  lists = 0;
  restarts = 0;
  lastError: string | undefined;
  // client-node types its objects with Date timestamps; ours are wire JSON (kube-object.ts).
  private readonly listWatch: ListWatch<KubernetesObject>;
  private readonly backoff: ExponentialBackoff;
  private readonly activeWatches = new Set<AbortController>();
  private readonly path: string;
  private readonly log: Logger;
  private restartTimer: Timer | undefined;
  private isStopped = true;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly resource: ResourceType,
    readonly namespace: string | undefined,
    private readonly options: InformerOptions,
    private readonly clock: Clock,
    logger: Logger,
    emit: (type: InformerEventType, object: T) => void,
  ) {
    this.path = collectionPath(resource, namespace);
    this.log = namespace ? logger.child({ namespace }) : logger;
    this.backoff = new ExponentialBackoff({ baseDelayMs: 500, maxDelayMs: 30_000, jitter: 0.5, ...options.restartBackoff });
    const watch = new SupervisedWatch(
      options.metadataOnly ? acceptingMetadata(kubeConfig, "PartialObjectMetadata") : kubeConfig,
      this,
      options.metadataOnly ? resource : undefined,
    );
    this.listWatch = new ListWatch<KubernetesObject>(this.path, watch, () => this.listAll(), false, options.labelSelector, options.fieldSelector);
    this.listWatch.on("add", (object) => emit("add", object as T));
    this.listWatch.on("update", (object) => emit("update", object as T));
    this.listWatch.on("delete", (object) => emit("delete", object as T));
    this.listWatch.on("error", (error: unknown) => this.onFailure(error));
  }

  get(name: string, namespace: string | undefined): T | undefined {
    return this.listWatch.get(name, namespace) as T | undefined;
  }

  list(namespace: string | undefined): T[] {
    return [...this.listWatch.list(namespace)] as T[];
  }

  start(): void {
    if (!this.isStopped) return;
    this.isStopped = false;
    this.run();
  }

  async stop(): Promise<void> {
    this.isStopped = true;
    this.restartTimer?.cancel();
    await this.listWatch.stop();
    // ListWatch aborts only the watch it has been handed; one handed back to it a moment later
    // would stay open (for minutes) and keep filling the cache. watchStarted() covers watches
    // still connecting.
    for (const controller of this.activeWatches) controller.abort();
    this.activeWatches.clear();
  }

  // Called by SupervisedWatch: the cache is filled before ListWatch opens a watch.
  watchOpening(): boolean {
    if (this.isStopped) return false;
    this.synced = true;
    return true;
  }

  watchTimeoutSeconds(): number {
    const min = this.options.minWatchTimeoutSeconds ?? 300;
    return Math.round(min * (1 + Math.random()));
  }

  get stopped(): boolean {
    return this.isStopped;
  }

  watchStarted(controller: AbortController): void {
    // stop() may have come while the watch was connecting, before anyone could abort it.
    if (this.isStopped) controller.abort();
    else this.activeWatches.add(controller);
  }

  watchEnded(controller: AbortController): void {
    this.activeWatches.delete(controller);
  }

  watchEvent(phase: string, object: unknown): void {
    // Any event proves the connection works: the next failure starts from the base delay again.
    this.backoff.forget("watch");
    if (phase === "ERROR") {
      const status = object as { code?: number; message?: string } | undefined;
      if (status?.code === 410) this.log.info("watch expired (410 Gone); relisting");
      else this.log.warn("watch error event", { code: status?.code, message: status?.message });
    }
  }

  private run(): void {
    this.listWatch.start().catch((error: unknown) => this.onFailure(error));
  }

  private onFailure(error: unknown): void {
    if (this.isStopped) return;
    this.lastError = describeError(error).message;
    if (isGone(error)) this.log.info("list or watch expired (410 Gone); relisting");
    const delayMs = this.backoff.when("watch");
    this.log.warn("list/watch failed; restarting", { error: describeError(error), retryInMs: delayMs });
    this.restartTimer?.cancel();
    this.restartTimer = this.clock.setTimeout(() => {
      if (this.isStopped) return;
      this.restarts++;
      this.options.observer?.watchRestarted();
      this.run();
    }, delayMs);
  }

  private async listAll(): Promise<KubernetesListObject<KubernetesObject>> {
    const items: KubernetesObject[] = [];
    let continueToken: string | undefined;
    let resourceVersion = "";
    do {
      const query = new URLSearchParams({ limit: String(this.options.pageSize ?? 500) });
      if (this.options.labelSelector) query.set("labelSelector", this.options.labelSelector);
      if (this.options.fieldSelector) query.set("fieldSelector", this.options.fieldSelector);
      if (continueToken) query.set("continue", continueToken);
      const accept = this.options.metadataOnly ? metadataAccept("PartialObjectMetadataList") : undefined;
      const page = (await getJson(this.kubeConfig, `${this.path}?${query}`, { accept })) as KubernetesListObject<KubernetesObject>;
      for (const item of page.items ?? []) items.push(withTypeMeta(this.resource, item));
      // All pages are of one snapshot: the first page's resourceVersion is the list's.
      resourceVersion ||= page.metadata?.resourceVersion ?? "";
      // Plain JSON: the wire name `continue`, not client-node's `_continue`.
      continueToken = (page.metadata as { continue?: string } | undefined)?.continue;
    } while (continueToken);
    this.lists++;
    this.backoff.forget("watch");
    this.options.observer?.listed();
    this.log.debug("listed", { objects: items.length, resourceVersion });
    return { metadata: { resourceVersion }, items };
  }
}

/**
 * client-node's Watch, plus: bookmarks, a server-side timeout, a client-side watchdog, and
 * reporting to the supervisor. ListWatch builds the query; this adds to it.
 */
class SupervisedWatch<T extends KubeObject> extends Watch {
  constructor(
    config: KubeConfig,
    private readonly watcher: NamespaceWatcher<T>,
    /** For a metadata-only watch: the kind its objects are given back (they arrive as PartialObjectMetadata). */
    private readonly metadataOf?: ResourceType,
  ) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObject: unknown, watchObject?: unknown) => void,
    done: (error: unknown) => void,
  ): Promise<AbortController> {
    if (!this.watcher.watchOpening()) {
      const idle = new AbortController();
      idle.abort();
      return idle;
    }
    const timeoutSeconds = this.watcher.watchTimeoutSeconds();
    // Assigned when super.watch() returns; the callbacks may run before that.
    const current: { controller?: AbortController } = {};
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    // The server ends the watch after timeoutSeconds; if it has gone silent for longer than that,
    // the connection is dead without having been closed (a vanished peer, a dropped route).
    const armWatchdog = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => current.controller?.abort(), (timeoutSeconds + 30) * 1000);
      watchdog.unref();
    };
    armWatchdog();
    const controller = await super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true, timeoutSeconds },
      (phase, apiObject, watchObject) => {
        // A stopped informer's cache stays as it was, even if a last event slips through.
        if (this.watcher.stopped) return;
        armWatchdog();
        this.watcher.watchEvent(phase, apiObject);
        const typed = this.metadataOf && phase !== "ERROR" && phase !== "BOOKMARK" ? withTypeMeta(this.metadataOf, apiObject as KubernetesObject) : apiObject;
        callback(phase, typed, watchObject);
      },
      (error) => {
        clearTimeout(watchdog);
        if (current.controller) this.watcher.watchEnded(current.controller);
        done(error);
      },
    );
    current.controller = controller;
    if (controller.signal.aborted) clearTimeout(watchdog);
    else this.watcher.watchStarted(controller);
    return controller;
  }
}

/** The Accept header that asks the API server for metadata only. */
function metadataAccept(kind: "PartialObjectMetadata" | "PartialObjectMetadataList"): string {
  return `application/json;as=${kind};g=meta.k8s.io;v=v1`;
}

/** The kubeconfig, with every watch request asking for metadata only. */
function acceptingMetadata(kubeConfig: KubeConfig, kind: "PartialObjectMetadata"): KubeConfig {
  const wrapped = Object.create(kubeConfig) as KubeConfig;
  // client-node copies the request options' headers into the fetch request's.
  wrapped.applyToFetchOptions = (options) => kubeConfig.applyToFetchOptions({ ...options, headers: { ...options.headers, Accept: metadataAccept(kind) } });
  return wrapped;
}
