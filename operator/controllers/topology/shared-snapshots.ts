// Snapshots of a cluster's topology (snapshot.ts) shared for a few seconds by the reconciles that
// verify objects already declared (after a restart, when a shard is taken over, on a resync): one
// bulk listing per kind serves them all, instead of a GET per object. The drift detector's
// snapshots are shared too, so that the objects it finds different are looked at in the very
// snapshot that found them.
import type { TopologyListing } from "../../rabbitmq/management.js";
import type { SnapshotIndex } from "./snapshot.js";

/**
 * How old a shared snapshot may be. An object deleted in RabbitMQ within that time may be taken
 * as still there by a verification; the next drift round finds it (an object reported absent is
 * read again before anything is declared).
 */
export const SHARED_SNAPSHOT_MAX_AGE_MS = 5_000;

interface Entry {
  listings: ReadonlySet<TopologyListing>;
  snapshot: Promise<SnapshotIndex>;
  takenAtMs: number;
}

export class SharedSnapshots {
  private readonly entries = new Map<string, Entry>();
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(options: { maxAgeMs?: number; now?: () => number } = {}) {
    this.maxAgeMs = options.maxAgeMs ?? SHARED_SNAPSHOT_MAX_AGE_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * A snapshot of the cluster (by connection key) with at least these listings, taken (asked
   * for) at most maxAge ago; a new one when there is none. A new one also takes the listings of
   * the fresh one it replaces, so that kinds verifying at the same time share it.
   */
  get(key: string, listings: readonly TopologyListing[], take: (listings: ReadonlySet<TopologyListing>) => Promise<SnapshotIndex>): Promise<SnapshotIndex> {
    const nowMs = this.now();
    const current = this.fresh(key, nowMs);
    if (current && listings.every((listing) => current.listings.has(listing))) return current.snapshot;
    const wanted = new Set([...(current?.listings ?? []), ...listings]);
    const entry: Entry = { listings: wanted, snapshot: take(wanted), takenAtMs: nowMs };
    this.keep(key, entry);
    // A failed listing is not shared: the next reconcile asks again (and reports what it meets).
    entry.snapshot.catch(() => this.forget(key, entry));
    return entry.snapshot;
  }

  /** A snapshot just taken elsewhere (by the drift detector), from when it was asked for. */
  put(key: string, listings: Iterable<TopologyListing>, snapshot: SnapshotIndex, takenAtMs: number): void {
    const current = this.fresh(key, this.now());
    if (current && current.takenAtMs > takenAtMs) return;
    this.keep(key, { listings: new Set(listings), snapshot: Promise.resolve(snapshot), takenAtMs });
  }

  private fresh(key: string, nowMs: number): Entry | undefined {
    const entry = this.entries.get(key);
    return entry && nowMs - entry.takenAtMs < this.maxAgeMs ? entry : undefined;
  }

  private keep(key: string, entry: Entry): void {
    this.entries.set(key, entry);
    // Not held longer than it may be used: a listing of a large cluster is megabytes.
    setTimeout(() => this.forget(key, entry), Math.max(0, entry.takenAtMs + this.maxAgeMs - this.now())).unref();
  }

  private forget(key: string, entry: Entry): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }
}
