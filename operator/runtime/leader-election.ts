// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics:
// - a candidate takes the Lease when it does not exist, was released (no holder), or has not
//   changed for leaseDuration as measured on the candidate's own clock since it last saw it
//   change (so clock skew between processes does not matter);
// - the leader renews every retryPeriod and gives up leadership if it could not renew for
//   renewDeadline (< leaseDuration, so it stops before anyone else may start);
// - on shutdown the leader releases the Lease, and the next candidate takes it at once.
// Every write carries the resourceVersion it was computed from: two candidates cannot both win.
import { V1MicroTime, type CoordinationV1Api, type V1Lease, type V1LeaseSpec } from "@kubernetes/client-node";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { sleep, systemClock, type Clock } from "./clock.js";
import { describeError, isNotFound } from "./errors.js";
import { silentLogger, type Logger } from "./logger.js";

export interface LeaderElectionCallbacks {
  /** This process became the leader: start the work only a leader may do. */
  onStartedLeading(): void | Promise<void>;
  /** This process is no longer the leader (lost, or stopping): stop that work now. */
  onStoppedLeading(): void | Promise<void>;
  /** Another (or no) holder was observed. */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  /** Unique per process: the pod name, plus a random suffix against restarts with the same name. */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Release the Lease when stopped, so that another candidate need not wait for it to expire. */
  releaseOnStop?: boolean;
}

/**
 * An identity of this process alone: its pod (or host) name and a random suffix, as client-go
 * makes it. Not the pid: in a container the operator is pid 1 in every life, so a restarted
 * container would find the dead process's Lease under its own name and lead at once, while
 * whatever that process had started may still be settling.
 */
export function candidateIdentity(name: string = hostname()): string {
  return `${name}_${randomUUID().slice(0, 8)}`;
}

export const DEFAULT_LEADER_ELECTION = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;

export type LeaseTiming = { readonly [K in keyof typeof DEFAULT_LEADER_ELECTION]: number };

/** The timing of a Lease's holder, defaults filled in; what holds a Lease checks it (`what` names it in the error). */
export function leaseTiming(options: Partial<LeaseTiming>, what: string): LeaseTiming {
  const timing = {
    leaseDurationMs: options.leaseDurationMs ?? DEFAULT_LEADER_ELECTION.leaseDurationMs,
    renewDeadlineMs: options.renewDeadlineMs ?? DEFAULT_LEADER_ELECTION.renewDeadlineMs,
    retryPeriodMs: options.retryPeriodMs ?? DEFAULT_LEADER_ELECTION.retryPeriodMs,
  };
  if (!(timing.retryPeriodMs < timing.renewDeadlineMs && timing.renewDeadlineMs < timing.leaseDurationMs)) {
    throw new Error(`${what} needs retryPeriod < renewDeadline < leaseDuration`);
  }
  return timing;
}

/** What a candidate knows of the Lease record. */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: Date | string;
  renewTime?: Date | string;
  leaseTransitions?: number;
}

export type ElectionDecision =
  { action: "create"; record: LeaseRecord } | { action: "update"; record: LeaseRecord } | { action: "wait"; holder: string; expiresAtMs: number };

/**
 * One step of the election, without I/O: given the Lease (undefined if it does not exist) and
 * when this candidate first saw its current record, what to write, or that someone else holds it.
 */
export function decideElection(input: {
  identity: string;
  nowMs: number;
  leaseDurationMs: number;
  lease: LeaseRecord | undefined;
  observedChangeAtMs: number;
}): ElectionDecision {
  const { identity, nowMs, leaseDurationMs, lease } = input;
  const leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
  const now = new V1MicroTime(nowMs);
  if (!lease) {
    return { action: "create", record: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 } };
  }
  const holder = lease.holderIdentity ?? "";
  if (holder && holder !== identity) {
    // The holder's own duration counts, not ours: candidates may be configured differently.
    const expiresAtMs = input.observedChangeAtMs + (lease.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (expiresAtMs > nowMs) return { action: "wait", holder, expiresAtMs };
  }
  const renewing = holder === identity;
  return {
    action: "update",
    record: {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: renewing && lease.acquireTime ? lease.acquireTime : now,
      renewTime: now,
      leaseTransitions: renewing ? (lease.leaseTransitions ?? 0) : (lease.leaseTransitions ?? 0) + 1,
    },
  };
}

/** Identity of a record, to tell whether it changed since last seen. */
export function recordVersion(record: LeaseRecord | undefined): string {
  if (!record) return "";
  const time = (value: Date | string | undefined) => (value === undefined ? "" : new Date(value).getTime());
  return [record.holderIdentity ?? "", record.leaseTransitions ?? 0, time(record.acquireTime), time(record.renewTime), record.leaseDurationSeconds ?? ""].join(
    "|",
  );
}

export interface LeaderElectorOptions extends LeaderElectionConfig {
  callbacks: LeaderElectionCallbacks;
  clock?: Clock;
  logger?: Logger;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly options: LeaderElectorOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observedVersion = "";
  private observedChangeAtMs = 0;
  private observedHolder: string | undefined;
  private leading = false;

  constructor(api: CoordinationV1Api, options: LeaderElectorOptions) {
    this.api = api;
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
    ({
      leaseDurationMs: this.leaseDurationMs,
      renewDeadlineMs: this.renewDeadlineMs,
      retryPeriodMs: this.retryPeriodMs,
    } = leaseTiming(options, "leader election"));
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns, leads, and campaigns again after losing the Lease, until signal aborts; then
   * releases the Lease if leading. Resolves when done. Never rejects.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.acquire(signal))) break;
      this.leading = true;
      this.logger.info("started leading");
      await this.callback("onStartedLeading", () => this.options.callbacks.onStartedLeading());
      await this.renewWhileLeading(signal);
      this.leading = false;
      if (signal.aborted && (this.options.releaseOnStop ?? true)) await this.release();
      this.logger.info(signal.aborted ? "stopped leading (shutdown)" : "stopped leading (lease lost)");
      await this.callback("onStoppedLeading", () => this.options.callbacks.onStoppedLeading());
    }
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      // No deadline while campaigning: a slow API server must not keep a candidate out forever.
      if (await this.tryAcquireOrRenew(this.renewDeadlineMs)) return true;
      await sleep(this.clock, this.retryPeriodMs, signal);
    }
    return false;
  }

  private async renewWhileLeading(signal: AbortSignal): Promise<void> {
    let lastRenewMs = this.clock.now();
    while (!signal.aborted) {
      await sleep(this.clock, this.retryPeriodMs, signal);
      if (signal.aborted) return;
      // Each attempt ends by the renew deadline, so that leadership is given up in time even
      // when the API server does not answer at all.
      const remainingMs = lastRenewMs + this.renewDeadlineMs - this.clock.now();
      const renewed = remainingMs > 0 && (await this.tryAcquireOrRenew(Math.min(remainingMs, this.renewDeadlineMs / 2)));
      if (renewed) {
        lastRenewMs = this.clock.now();
        continue;
      }
      if (this.observedHolder !== undefined && this.observedHolder !== this.options.identity) {
        this.logger.warn("lease taken by another candidate", { holder: this.observedHolder });
        return;
      }
      if (this.clock.now() - lastRenewMs >= this.renewDeadlineMs) {
        this.logger.warn("could not renew the lease within the renew deadline", { renewDeadlineMs: this.renewDeadlineMs });
        return;
      }
    }
  }

  private async tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    try {
      let lease: V1Lease | undefined;
      try {
        lease = await withTimeout(this.api.readNamespacedLease({ name, namespace }), timeoutMs);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      this.observe(lease?.spec);
      const decision = decideElection({
        identity,
        nowMs: this.clock.now(),
        leaseDurationMs: this.leaseDurationMs,
        lease: lease?.spec,
        observedChangeAtMs: this.observedChangeAtMs,
      });
      if (decision.action === "wait") return false;
      const spec = decision.record as V1LeaseSpec;
      if (decision.action === "create") {
        await withTimeout(
          this.api.createNamespacedLease({ namespace, body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name, namespace }, spec } }),
          timeoutMs,
        );
      } else {
        // replace, not patch: the resourceVersion in the body makes it fail with 409 if anyone
        // wrote the Lease since we read it.
        await withTimeout(this.api.replaceNamespacedLease({ name, namespace, body: { ...lease, spec } }), timeoutMs);
      }
      this.observe(spec);
      return true;
    } catch (error) {
      this.logger.debug("lease attempt failed", { error: describeError(error) });
      return false;
    }
  }

  private observe(record: LeaseRecord | undefined): void {
    const version = recordVersion(record);
    if (version !== this.observedVersion) {
      this.observedVersion = version;
      this.observedChangeAtMs = this.clock.now();
    }
    const holder = record?.holderIdentity ?? "";
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder !== this.options.identity) {
        this.logger.info("observed leader", { holder: holder || "(none)" });
        this.options.callbacks.onNewLeader?.(holder);
      }
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.options;
    try {
      const lease = await withTimeout(this.api.readNamespacedLease({ name, namespace }), this.renewDeadlineMs);
      if (lease.spec?.holderIdentity !== identity) return;
      const now = new V1MicroTime(this.clock.now());
      // An empty holder is free for the taking; a 1 s duration makes older clients agree.
      const spec: V1LeaseSpec = { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now };
      await withTimeout(this.api.replaceNamespacedLease({ name, namespace, body: { ...lease, spec } }), this.renewDeadlineMs);
      this.logger.info("released the lease");
    } catch (error) {
      this.logger.warn("could not release the lease; it expires by itself", { error: describeError(error) });
    }
  }

  private async callback(name: string, run: () => void | Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      this.logger.error(`${name} threw`, { error: describeError(error) });
    }
  }
}

/** Rejects after timeoutMs; the request itself is left to finish or fail on its own. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${Math.round(timeoutMs)} ms`)), Math.max(1, timeoutMs));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
