// Sharding across replicas: the work is split into a fixed number of shards (a RabbitCluster and
// the topology declared in it fall in one shard), each held through a coordination.k8s.io/v1
// Lease of its own, with leader election's semantics per Lease (leader-election.ts). Replicas
// announce themselves with a member Lease each; every replica computes the same assignment of
// shards to the live members (shards.ts) and campaigns only for its own, releasing those that now
// belong to another. A replica that dies stops renewing: its shards are taken by the others once
// their Leases expire.
//
// Never two replicas on one shard: a shard's work stops (its signal aborted, reconciles in flight
// waited for) before its Lease is released, and renewed meanwhile; a holder that cannot renew
// stops the work renewDeadline after it sent its last successful renewal (a timer, whatever the
// rounds are doing), before anyone may take the Lease (leaseDuration, counted from the last change
// a candidate saw). Replicas of another shard count, and a leader elected on the Lease named as
// the set (the operator run with --leader-elect), keep a replica from taking shards: during a
// rolling update that changes either, the new replicas wait until the old ones are gone.
import { V1MicroTime, type CoordinationV1Api, type V1Lease, type V1LeaseSpec } from "@kubernetes/client-node";
import { sleep, systemClock, type Clock, type Timer } from "./clock.js";
import { describeError, isNotFound } from "./errors.js";
import { decideElection, leaseTiming, withTimeout } from "./leader-election.js";
import { silentLogger, type Logger } from "./logger.js";
import { LeaseObservations, assignShards, fnv1a, isHeld, shardOf } from "./shards.js";

/** Label of every Lease of one set of shards (the value is the set's name). */
export const SHARD_SET_LABEL = "rabbit-operator.io/shard-set";
const ROLE_LABEL = "rabbit-operator.io/shard-lease";
/** On a member Lease: the number of shards that replica divides the work into. */
const SHARDS_LABEL = "rabbit-operator.io/shards";

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
  /** When the last successful renewal was sent (the Lease is valid from then for leaseDuration). */
  lastRenewMs: number;
  /** Stops the shard renewDeadline after lastRenewMs. */
  deadline: Timer;
  /** Set while the shard's work stops before its Lease is released (it is still renewed). */
  handingOver?: Promise<void>;
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
  /** Shards this process holds the Lease of, those being handed over included. */
  private readonly holdings = new Map<number, Holding>();
  private rounds = 0;
  /** Why this replica takes no shard now (logged when it changes). */
  private waitingFor = "";

  constructor(api: CoordinationV1Api, options: ShardCoordinatorOptions) {
    if (!Number.isInteger(options.shards) || options.shards < 1) throw new Error(`shards must be a whole number >= 1, not ${options.shards}`);
    this.api = api;
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child({ shardSet: `${options.namespace}/${options.name}`, identity: options.identity });
    ({ leaseDurationMs: this.leaseDurationMs, renewDeadlineMs: this.renewDeadlineMs, retryPeriodMs: this.retryPeriodMs } = leaseTiming(options, "sharding"));
  }

  get shards(): number {
    return this.options.shards;
  }

  /** The shards this process works on, ascending (not those being handed over). */
  held(): number[] {
    return [...this.holdings]
      .filter(([, holding]) => !holding.handingOver)
      .map(([shard]) => shard)
      .sort((a, b) => a - b);
  }

  /** Aborted when this process stops working on the shard; undefined if it does not hold it. */
  signal(shard: number): AbortSignal | undefined {
    return this.holdings.get(shard)?.abort.signal;
  }

  /** The shard of a shard key (shards.ts). */
  shardOf(shardKey: string): number {
    return shardOf(shardKey, this.options.shards);
  }

  /** signal() of the shard key's shard. */
  signalOf(shardKey: string): AbortSignal | undefined {
    return this.signal(this.shardOf(shardKey));
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
    // No rounds any more: a shard whose work has not stopped by its renew deadline is given up
    // (its timer) rather than released under work still running.
    for (const shard of this.held()) this.handOver(shard, "shutdown");
    await Promise.all([...this.holdings.values()].map((holding) => holding.handingOver));
    await withTimeout(this.api.deleteNamespacedLease({ name: this.memberName, namespace: this.options.namespace }), this.renewDeadlineMs).catch(
      (error: unknown) => this.logger.debug("could not delete the member lease; it expires by itself", { error: describeError(error) }),
    );
  }

  private get memberName(): string {
    return memberLeaseName(this.options.name, this.options.identity);
  }

  /** One round: list the set's Leases, renew membership, campaign for, renew or hand over each shard. */
  private async tick(): Promise<void> {
    const { namespace, name, shards, identity } = this.options;
    let leases: V1Lease[];
    let electionLease: V1Lease | undefined;
    try {
      [leases, electionLease] = await withTimeout(
        Promise.all([
          this.api.listNamespacedLease({ namespace, labelSelector: `${SHARD_SET_LABEL}=${name}` }).then((list) => list.items),
          this.api.readNamespacedLease({ name, namespace }).catch((error: unknown) => {
            if (isNotFound(error)) return undefined;
            throw error;
          }),
        ]),
        this.renewDeadlineMs / 2,
      );
    } catch (error) {
      // The shards held stop by their deadline timers if this goes on.
      this.logger.debug("cannot read the shard leases", { error: describeError(error) });
      return;
    }
    const nowMs = this.clock.now();
    const byName = new Map(leases.map((lease) => [lease.metadata?.name ?? "", lease]));
    if (electionLease) byName.set(name, electionLease);
    this.observations.retain(new Set(byName.keys()));
    for (const [leaseName, lease] of byName) this.observations.observe(leaseName, lease.spec, nowMs);

    const members = [identity];
    const otherCounts = new Set<string>();
    for (const lease of leases) {
      if (lease.metadata?.labels?.[ROLE_LABEL] !== "member" || lease.metadata.name === this.memberName) continue;
      const changedAt = this.observations.changedAt(lease.metadata.name ?? "") ?? nowMs;
      if (!isHeld(lease.spec, changedAt, nowMs, this.leaseDurationMs)) {
        if (nowMs - changedAt > 4 * this.leaseDurationMs) void this.deleteStaleMember(lease);
        continue;
      }
      // A replica of another count is no peer: the shards are not handed to it.
      const count = lease.metadata.labels[SHARDS_LABEL];
      if (count === String(shards)) members.push(lease.spec!.holderIdentity!);
      else otherCounts.add(count ?? "?");
    }
    const leader = electionLease && isHeld(electionLease.spec, this.observations.changedAt(name) ?? nowMs, nowMs, this.leaseDurationMs);
    const waitingFor = leader
      ? `the leader ${electionLease?.spec?.holderIdentity} of Lease ${name} (a replica run with --leader-elect) to go`
      : otherCounts.size > 0
        ? `the replicas that divide the work into ${[...otherCounts].join(", ")} shards (not ${shards}) to go`
        : "";
    if (waitingFor !== this.waitingFor) {
      if (waitingFor) this.logger.warn(`taking no shard until ${waitingFor}`);
      this.waitingFor = waitingFor;
    }
    // A replica's first round only announces it: replicas started together (a Deployment's) then
    // see each other before they campaign, instead of the first taking every shard only to hand most over.
    const campaigning = this.rounds++ > 0 && !waitingFor;
    const mine = new Set(assignShards(shards, members).get(identity));
    await Promise.all([
      this.renewMembership(byName.get(this.memberName)),
      ...Array.from({ length: shards }, (_, shard) => this.step(shard, byName.get(shardLeaseName(name, shard)), mine.has(shard), campaigning, nowMs)),
    ]);
  }

  private async step(shard: number, lease: V1Lease | undefined, mine: boolean, campaigning: boolean, nowMs: number): Promise<void> {
    const holding = this.holdings.get(shard);
    if (!holding) {
      if (!mine || !campaigning) return;
      if (await this.write(shard, lease, nowMs, this.renewDeadlineMs / 2)) this.acquired(shard, nowMs);
      return;
    }
    if (lease?.spec?.holderIdentity && lease.spec.holderIdentity !== this.options.identity) {
      this.lose(shard, holding, `taken by ${lease.spec.holderIdentity}`);
      return;
    }
    // Another replica should hold it now (one joined): its work stops first, renewed meanwhile.
    if (!mine && !holding.handingOver) this.handOver(shard, "assigned to another replica");
    const remainingMs = holding.lastRenewMs + this.renewDeadlineMs - this.clock.now();
    if (remainingMs <= 0) return;
    if (await this.write(shard, lease, nowMs, Math.min(remainingMs, this.renewDeadlineMs / 2))) {
      if (this.holdings.get(shard) !== holding) return;
      holding.lastRenewMs = nowMs;
      holding.deadline.cancel();
      holding.deadline = this.deadlineOf(shard, holding);
    } else if (!lease) {
      // Its Lease was deleted and someone else made it again (or the API server refuses): not ours.
      this.lose(shard, holding, "its lease was deleted");
    }
  }

  private acquired(shard: number, renewedAtMs: number): void {
    const holding: Holding = { abort: new AbortController(), lastRenewMs: renewedAtMs, deadline: { cancel: () => undefined } };
    holding.deadline = this.deadlineOf(shard, holding);
    this.holdings.set(shard, holding);
    this.logger.info("holding shard", { shard, held: this.held() });
    this.options.onHeldChanged?.(this.held().length);
    this.options.callbacks.acquired(shard);
  }

  private deadlineOf(shard: number, holding: Holding): Timer {
    return this.clock.setTimeout(
      () => this.lose(shard, holding, "not renewed within the renew deadline"),
      holding.lastRenewMs + this.renewDeadlineMs - this.clock.now(),
    );
  }

  /** Creates, takes or renews a shard's Lease as decideElection says; false if it is someone else's or the write failed. */
  private async write(shard: number, lease: V1Lease | undefined, nowMs: number, timeoutMs: number): Promise<boolean> {
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
        await withTimeout(this.api.createNamespacedLease({ namespace, body: this.newLease(leaseName, "shard", spec) }), timeoutMs);
      } else {
        // The resourceVersion of what we read: a conflict (409) if anyone wrote it since.
        await withTimeout(this.api.replaceNamespacedLease({ name: leaseName, namespace, body: { ...lease, spec } }), timeoutMs);
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
        const body = this.newLease(this.memberName, "member", { ...spec, acquireTime: now });
        body.metadata!.labels![SHARDS_LABEL] = String(this.options.shards);
        await withTimeout(this.api.createNamespacedLease({ namespace, body }), this.renewDeadlineMs / 2);
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

  /**
   * Hands a shard over: its signal aborted at once (no reconcile of it starts any more), its work
   * waited for while rounds keep renewing its Lease, then the Lease released (if still ours).
   */
  private handOver(shard: number, reason: string): void {
    const holding = this.holdings.get(shard);
    if (!holding || holding.handingOver) return;
    holding.abort.abort();
    this.logger.info("stopping shard", { shard, reason });
    holding.handingOver = (async () => {
      try {
        await this.options.callbacks.stopped(shard, holding.abort.signal);
      } catch (error) {
        this.logger.error("stopping a shard's work failed", { shard, error: describeError(error) });
      }
      // Lost meanwhile (not renewed in time, taken): nothing to release.
      if (this.holdings.get(shard) !== holding) return;
      holding.deadline.cancel();
      this.holdings.delete(shard);
      await this.release(shard);
    })();
    this.options.onHeldChanged?.(this.held().length);
  }

  /** The Lease is not ours any more (or may soon not be): the work stops now, nothing is written. */
  private lose(shard: number, holding: Holding, reason: string): void {
    if (this.holdings.get(shard) !== holding) return;
    this.holdings.delete(shard);
    holding.deadline.cancel();
    holding.abort.abort();
    this.logger.warn("lost shard", { shard, reason, held: this.held() });
    this.options.onHeldChanged?.(this.held().length);
    if (!holding.handingOver) {
      void this.options.callbacks
        .stopped(shard, holding.abort.signal)
        .catch((error: unknown) => this.logger.error("stopping a shard's work failed", { shard, error: describeError(error) }));
    }
  }

  /** Gives the Lease up (holder empty), after a fresh read; retried once if a renewal of ours got in between. */
  private async release(shard: number): Promise<void> {
    const { namespace, name, identity } = this.options;
    const leaseName = shardLeaseName(name, shard);
    for (let attempt = 1; ; attempt++) {
      try {
        const lease = await withTimeout(this.api.readNamespacedLease({ name: leaseName, namespace }), this.renewDeadlineMs / 2);
        if (lease.spec?.holderIdentity !== identity) return;
        const now = new V1MicroTime(this.clock.now());
        const spec: V1LeaseSpec = { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now };
        await withTimeout(this.api.replaceNamespacedLease({ name: leaseName, namespace, body: { ...lease, spec } }), this.renewDeadlineMs / 2);
        this.logger.info("released shard", { shard });
        return;
      } catch (error) {
        if (attempt < 2) continue;
        this.logger.warn("could not release a shard lease; it expires by itself", { shard, error: describeError(error) });
        return;
      }
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
