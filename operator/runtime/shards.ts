// The pure core of sharding (shard-coordinator.ts does the I/O): which shard a key falls in, which
// shards each live replica should hold, and which replicas are alive, from Lease records alone.
// Every replica computes the same answers from the same Leases, so they agree without talking.
import { recordVersion, type LeaseRecord } from "./leader-election.js";

/** FNV-1a, 32 bits: stable across processes and versions (not a security hash; spread is what counts). */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The shard of a shard key (for topology, the key of the cluster an object is declared in). */
export function shardOf(shardKey: string, shards: number): number {
  return fnv1a(shardKey) % shards;
}

/**
 * Shards for each member: rendezvous hashing (each shard to the member that scores it highest),
 * with a bound of ceil(shards / members) per member so that the work is spread evenly. A member
 * joining or leaving moves few shards: the others keep the shards they score highest.
 */
export function assignShards(shards: number, members: readonly string[]): Map<string, number[]> {
  const sorted = [...new Set(members)].sort();
  const assignment = new Map<string, number[]>(sorted.map((member) => [member, []]));
  if (sorted.length === 0) return assignment;
  const bound = Math.ceil(shards / sorted.length);
  for (let shard = 0; shard < shards; shard++) {
    const ranked = sorted
      .map((member) => ({ member, score: fnv1a(`${shard}\u0000${member}`) }))
      .sort((a, b) => b.score - a.score || (a.member < b.member ? -1 : 1));
    const chosen = ranked.find(({ member }) => assignment.get(member)!.length < bound)!;
    assignment.get(chosen.member)!.push(shard);
  }
  return assignment;
}

/**
 * When this observer first saw each Lease's current record: a Lease is alive while its record
 * changes at least every leaseDurationSeconds as measured on this observer's clock (client-go's
 * rule, which makes clock skew between replicas irrelevant).
 */
export class LeaseObservations {
  private readonly seen = new Map<string, { version: string; changedAtMs: number }>();

  /** Records the Lease's current record; returns when it was first seen as it is now. */
  observe(name: string, record: LeaseRecord | undefined, nowMs: number): number {
    const version = recordVersion(record);
    const previous = this.seen.get(name);
    if (previous && previous.version === version) return previous.changedAtMs;
    this.seen.set(name, { version, changedAtMs: nowMs });
    return nowMs;
  }

  changedAt(name: string): number | undefined {
    return this.seen.get(name)?.changedAtMs;
  }

  /** Forgets Leases no longer listed. */
  retain(names: ReadonlySet<string>): void {
    for (const name of this.seen.keys()) if (!names.has(name)) this.seen.delete(name);
  }
}

/** Whether a Lease's holder counts as alive: it has one, and its record changed within its duration. */
export function isHeld(record: LeaseRecord | undefined, changedAtMs: number, nowMs: number, defaultDurationMs: number): boolean {
  if (!record?.holderIdentity) return false;
  const durationMs = record.leaseDurationSeconds !== undefined ? record.leaseDurationSeconds * 1000 : defaultDurationMs;
  return nowMs < changedAtMs + durationMs;
}
