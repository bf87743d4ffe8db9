// Sharding across replicas: the work is split into a fixed number of shards (a RabbitCluster and
// the topology declared in it fall in one shard), each held through a coordination.k8s.io/v1
// Lease of its own, with leader election's semantics per Lease (leader-election.ts). Replicas
// announce themselves with a member Lease each; every replica computes the same assignment of
// shards to the live members (shards.ts) and campaigns only for its own, releasing those that now
// belong to another. A replica that dies stops renewing: its shards are taken by the others once
// their Leases expire.
//
// Never two replicas on one shard: a shard's work stops (its signal aborted, reconciles in flight
// waited for) before its Lease is released, and a holder that cannot renew stops the work after
// renewDeadline, before anyone may take the Lease (leaseDuration, counted from the last change a
// candidate saw).
import { V1MicroTime, type CoordinationV1Api, type V1Lease, type V1LeaseSpec } from "@kubernetes/client-node";
import { sleep, systemClock, type Clock } from "./clock.js";
import { describeError, isNotFound } from "./errors.js";
import { DEFAULT_LEADER_ELECTION, decideElection, withTimeout } from "./leader-election.js";
import { silentLogger, type Logger } from "./logger.js";
import { LeaseObservations, assignShards, fnv1a, isHeld } from "./shards.js";

/** Label of every Lease of one set of shards (the value is the set's name). */
export const SHARD_SET_LABEL = "rabbit-operator.io/shard-set";
const ROLE_LABEL = "rabbit-operator.io/shard-lease";

export interface ShardingConfig {
  namespace: string;
  /** Name of the set: its Leases are `<name>-shard-<n>` and `<name>-member-<hash of identity>`. */
  name: string;
  shards: number;
  /** Unique per process (candidateIdentity()). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ShardCallbacks {
  /** This process holds the shard now: start its work. */
  acquired(shard: number): void;
  /** The shard's signal (given) is aborted: resolve once none of its work runs any more. */
  stopped(shard: number, signal: AbortSignal): Promise<void>;
}

export interface ShardCoordinatorOptions extends ShardingConfig {
  callbacks: ShardCallbacks;
  clock?: Clock;
  logger?: Logger;
  onHeldChanged?: (held: number) => void;
}

interface Holding {
  abort: AbortController;
  lastRenewMs: number;
}

export function shardLeaseName(set: string, shard: number): string {
  return `${set}-shard-${shard}`;
}

export function memberLeaseName(set: string, identity: string): string {
  return `${set}-member-${fnv1a(identity).toString(16).padStart(8, "0")}`;
}

export class ShardCoordinator {
  private readonly api: CoordinationV1Api;
  private readonly options: ShardCoordinatorOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly observations = new LeaseObservations();
  private readonly holdings = new Map<number, Holding>();
  /** Shards whose work is stopping: neither renewed nor taken again until it has stopped. */
  private readonly stopping = new Map<number, Promise<void>>();
  private rounds = 0;

  constructor(api: CoordinationV1Api, options: ShardCoordinatorOptions) {
    if (!Number.isInteger(options.shards) || options.shards < 1) throw new Error(`shards must be a whole number >= 1, not ${options.shards}`);
    this.api = api;
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child({ shardSet: `${options.namespace}/${options.name}`, identity: options.identity });
    this.leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEADER_ELECTION.leaseDurationMs;
    this.renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_LEADER_ELECTION.renewDeadlineMs;
    this.retryPeriodMs = options.retryPeriodMs ?? DEFAULT_LEADER_ELECTION.retryPeriodMs;
    if (!(this.retryPeriodMs < this.renewDeadlineMs && this.renewDeadlineMs < this.leaseDurationMs)) {
      throw new Error("sharding needs retryPeriod < renewDeadline < leaseDuration");
    }
  }

  get shards(): number {
    return this.options.shards;
  }

  /** The shards this process holds, ascending. */
  held(): number[] {
    return [...this.holdings.keys()].sort((a, b) => a - b);
  }

  /** Aborted when this process stops working on the shard; undefined if it does not hold it. */
  signal(shard: number): AbortSignal | undefined {
    return this.holdings.get(shard)?.abort.signal;
  }

  /** Takes part until signal aborts; then stops every shard's work and releases its Leases. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.tick();
      } catch (error) {
        this.logger.warn("shard round failed", { error: describeError(error) });
      }
      await sleep(this.clock, this.retryPeriodMs, signal);
    }
    await Promise.all(this.held().map((shard) => this.stop(shard, "shutdown", true)));
    await Promise.all(this.stopping.values());
    await withTimeout(this.api.deleteNamespacedLease({ name: this.memberName, namespace: this.options.namespace }), this.renewDeadlineMs).catch(
      (error: unknown) => this.logger.debug("could not delete the member lease; it expires by itself", { error: describeError(error) }),
    );
  }

  private get memberName(): string {
    return memberLeaseName(this.options.name, this.options.identity);
  }

  /** One round: list the set's Leases, renew membership, campaign for, renew or release each shard. */
  private async tick(): Promise<void> {
    const { namespace, name, shards, identity } = this.options;
    let leases: V1Lease[];
    try {
      leases = (await withTimeout(this.api.listNamespacedLease({ namespace, labelSelector: `${SHARD_SET_LABEL}=${name}` }), this.renewDeadlineMs / 2)).items;
    } catch (error) {
      this.logger.debug("cannot list the shard leases", { error: describeError(error) });
      this.dropOverdue();
      return;
    }
    const nowMs = this.clock.now();
    const byName = new Map(leases.map((lease) => [lease.metadata?.name ?? "", lease]));
    this.observations.retain(new Set(byName.keys()));
    for (const [leaseName, lease] of byName) this.observations.observe(leaseName, lease.spec, nowMs);

    await this.renewMembership(byName.get(this.memberName));
    // A replica's first round only announces it: replicas started together (a Deployment's) then see
    // each other before they campaign, instead of the first taking every shard only to hand most over.
    if (this.rounds++ === 0) return;
    const members = [identity];
    for (const lease of leases) {
      if (lease.metadata?.labels?.[ROLE_LABEL] !== "member" || lease.metadata.name === this.memberName) continue;
      const changedAt = this.observations.changedAt(lease.metadata.name ?? "") ?? nowMs;
      if (isHeld(lease.spec, changedAt, nowMs, this.leaseDurationMs)) members.push(lease.spec!.holderIdentity!);
      else if (nowMs - changedAt > 4 * this.leaseDurationMs) void this.deleteStaleMember(lease);
    }
    const mine = new Set(assignShards(shards, members).get(identity));
    await Promise.all(Array.from({ length: shards }, (_, shard) => this.step(shard, byName.get(shardLeaseName(name, shard)), mine.has(shard), nowMs)));
  }

  private async step(shard: number, lease: V1Lease | undefined, mine: boolean, nowMs: number): Promise<void> {
    const holding = this.holdings.get(shard);
    if (holding) {
      if (lease?.spec?.holderIdentity && lease.spec.holderIdentity !== this.options.identity) {
        this.logger.warn("shard lease taken by another replica", { shard, holder: lease.spec.holderIdentity });
        void this.stop(shard, "lost", false);
        return;
      }
      if (!mine) {
        // Another replica should hold it now (one joined): hand it over once its work has stopped.
        void this.stop(shard, "handed over", true);
        return;
      }
      if (lease && (await this.write(shard, lease, nowMs))) holding.lastRenewMs = nowMs;
      else if (this.clock.now() - holding.lastRenewMs >= this.renewDeadlineMs) void this.stop(shard, "not renewed within the renew deadline", false);
      return;
    }
    if (!mine || this.stopping.has(shard)) return;
    if (await this.write(shard, lease, nowMs)) {
      this.holdings.set(shard, { abort: new AbortController(), lastRenewMs: nowMs });
      this.logger.info("holding shard", { shard, held: this.held() });
      this.options.onHeldChanged?.(this.holdings.size);
      this.options.callbacks.acquired(shard);
    }
  }

  /** Creates, takes or renews a shard's Lease as decideElection says; false if it is someone else's or the write failed. */
  private async write(shard: number, lease: V1Lease | undefined, nowMs: number): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const leaseName = shardLeaseName(name, shard);
    const decision = decideElection({
      identity,
      nowMs,
      leaseDurationMs: this.leaseDurationMs,
      lease: lease?.spec,
      observedChangeAtMs: this.observations.changedAt(leaseName) ?? nowMs,
    });
    if (decision.action === "wait") return false;
    const spec = decision.record as V1LeaseSpec;
    try {
      if (decision.action === "create") {
        await withTimeout(this.api.createNamespacedLease({ namespace, body: this.newLease(leaseName, "shard", spec) }), this.renewDeadlineMs / 2);
      } else {
        // The resourceVersion of what we read: a conflict (409) if anyone wrote it since.
        await withTimeout(this.api.replaceNamespacedLease({ name: leaseName, namespace, body: { ...lease, spec } }), this.renewDeadlineMs / 2);
      }
      this.observations.observe(leaseName, spec, this.clock.now());
      return true;
    } catch (error) {
      this.logger.debug("shard lease write failed", { shard, error: describeError(error) });
      return false;
    }
  }

  private async renewMembership(lease: V1Lease | undefined): Promise<void> {
    const { namespace, identity } = this.options;
    const now = new V1MicroTime(this.clock.now());
    const spec: V1LeaseSpec = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000), renewTime: now };
    try {
      if (!lease) {
        await withTimeout(
          this.api.createNamespacedLease({ namespace, body: this.newLease(this.memberName, "member", { ...spec, acquireTime: now }) }),
          this.renewDeadlineMs / 2,
        );
      } else {
        await withTimeout(
          this.api.replaceNamespacedLease({ name: this.memberName, namespace, body: { ...lease, spec: { ...lease.spec, ...spec } } }),
          this.renewDeadlineMs / 2,
        );
      }
    } catch (error) {
      this.logger.debug("member lease write failed", { error: describeError(error) });
    }
  }

  /** A member Lease nobody has renewed for long (a replica killed): removed, unless renewed meanwhile. */
  private async deleteStaleMember(lease: V1Lease): Promise<void> {
    const name = lease.metadata?.name ?? "";
    try {
      await withTimeout(
        this.api.deleteNamespacedLease({
          name,
          namespace: this.options.namespace,
          body: { preconditions: { resourceVersion: lease.metadata?.resourceVersion } },
        }),
        this.renewDeadlineMs / 2,
      );
      this.logger.info("deleted the lease of a replica gone", { lease: name, holder: lease.spec?.holderIdentity });
    } catch (error) {
      if (!isNotFound(error)) this.logger.debug("could not delete a stale member lease", { lease: name, error: describeError(error) });
    }
  }

  /** Shards not renewed within the renew deadline (the API server unreachable) stop. */
  private dropOverdue(): void {
    for (const [shard, holding] of this.holdings) {
      if (this.clock.now() - holding.lastRenewMs >= this.renewDeadlineMs) void this.stop(shard, "not renewed within the renew deadline", false);
    }
  }

  /**
   * Stops a shard's work: its signal aborted at once (no reconcile of it starts any more), then
   * waits for what runs; releases the Lease after that when asked (and it is still ours).
   */
  private stop(shard: number, reason: string, release: boolean): Promise<void> {
    const holding = this.holdings.get(shard);
    if (!holding) return this.stopping.get(shard) ?? Promise.resolve();
    this.holdings.delete(shard);
    holding.abort.abort();
    this.options.onHeldChanged?.(this.holdings.size);
    this.logger.info("stopping shard", { shard, reason, held: this.held() });
    const done = (async () => {
      try {
        await this.options.callbacks.stopped(shard, holding.abort.signal);
      } catch (error) {
        this.logger.error("stopping a shard's work failed", { shard, error: describeError(error) });
      }
      if (release) await this.release(shard);
    })().finally(() => this.stopping.delete(shard));
    this.stopping.set(shard, done);
    return done;
  }

  private async release(shard: number): Promise<void> {
    const { namespace, name, identity } = this.options;
    const leaseName = shardLeaseName(name, shard);
    try {
      const lease = await withTimeout(this.api.readNamespacedLease({ name: leaseName, namespace }), this.renewDeadlineMs / 2);
      if (lease.spec?.holderIdentity !== identity) return;
      const now = new V1MicroTime(this.clock.now());
      const spec: V1LeaseSpec = { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now };
      await withTimeout(this.api.replaceNamespacedLease({ name: leaseName, namespace, body: { ...lease, spec } }), this.renewDeadlineMs / 2);
      this.logger.info("released shard", { shard });
    } catch (error) {
      this.logger.warn("could not release a shard lease; it expires by itself", { shard, error: describeError(error) });
    }
  }

  private newLease(leaseName: string, role: "shard" | "member", spec: V1LeaseSpec): V1Lease {
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: leaseName,
        namespace: this.options.namespace,
        labels: { "app.kubernetes.io/managed-by": "rabbit-operator", [SHARD_SET_LABEL]: this.options.name, [ROLE_LABEL]: role },
      },
      spec,
    };
  }
}
