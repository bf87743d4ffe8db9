// How many requests may wait on one cluster's management API at a time, so that a silent cluster
// never holds every worker while healthy clusters wait:
// - a cluster that answers promptly gets any number;
// - once a request has waited slowMs without an answer, the cluster is suspect: that request goes
//   on as the one probe, the others waiting on it are abandoned (they fail as timeouts, and their
//   reconciles back off), and new ones are not admitted while the probe runs;
// - after a failure to reach it (connection refused, timeout), not even a probe until a cooldown
//   has passed (1 s doubling to 15 s); a prompt answer makes it healthy again, and onRecovered
//   lets the caller bring back at once what it had put off.
// A cluster not heard from yet gets one request first. Not admitted means NotAdmittedError at
// once, without a request: the caller tries again later instead of holding a worker. One
// instance per process, shared by every client, per base URL.
import type { ManagementApiError } from "./management-errors.js";

/** A request to a cluster that is not admitting more now: try again after retryAfterMs. */
export class NotAdmittedError extends Error {
  override readonly name = "NotAdmittedError";
  constructor(
    readonly cluster: string,
    readonly retryAfterMs: number,
    /** The failure that made the cluster suspect, if one did. */
    readonly lastFailure: ManagementApiError | undefined,
  ) {
    super(`${cluster}: not admitting another request for ${retryAfterMs} ms${lastFailure ? ` (last: ${lastFailure.reason})` : ""}`);
  }
}

export interface ReachabilityOptions {
  /** A request waiting longer makes its cluster suspect. */
  slowMs?: number;
  initialCooldownMs?: number;
  maxCooldownMs?: number;
  now?: () => number;
  /** Told when a cluster that failed or was slow answers promptly again: what waits for it can go now. */
  onRecovered?: (cluster: string) => void;
}

export interface Admission {
  /** Aborted when the request is abandoned (its cluster turned suspect while another request probes it). */
  readonly signal: AbortSignal;
  /** The request got an answer (any HTTP status: the cluster is there). */
  answered(durationMs: number): void;
  /** The request got no answer (connection refused, timeout). */
  unreachable(error: ManagementApiError): void;
}

interface InFlight {
  abandon(): void;
}

interface ClusterState {
  /** Answered promptly since the last failure or slow request: any number of requests. */
  healthy: boolean;
  inFlight: Set<InFlight>;
  /** The one request that may run while the cluster is not healthy. */
  probe: InFlight | undefined;
  consecutiveFailures: number;
  closedUntil: number;
  lastFailure?: ManagementApiError;
  /** Turned suspect by a slow request (rather than by a failure). */
  suspected: boolean;
}

export const DEFAULT_SLOW_MS = 5_000;
/** Retry delay, at least, for a request not admitted while a probe runs. */
const WHILE_PROBING_RETRY_MS = 500;

export class Reachability {
  private readonly states = new Map<string, ClusterState>();
  private readonly slowMs: number;
  private readonly initialCooldownMs: number;
  private readonly maxCooldownMs: number;
  private readonly now: () => number;
  private readonly onRecovered: ((cluster: string) => void) | undefined;

  constructor(options: ReachabilityOptions = {}) {
    this.onRecovered = options.onRecovered;
    this.slowMs = options.slowMs ?? DEFAULT_SLOW_MS;
    this.initialCooldownMs = options.initialCooldownMs ?? 1_000;
    this.maxCooldownMs = options.maxCooldownMs ?? 15_000;
    this.now = options.now ?? Date.now;
  }

  /** An admission for one request to this cluster; throws NotAdmittedError when there is none. */
  admit(cluster: string): Admission {
    const state = this.stateOf(cluster);
    const now = this.now();
    if (!state.healthy) {
      if (state.probe) throw new NotAdmittedError(cluster, Math.max(WHILE_PROBING_RETRY_MS, this.cooldown(state)), state.lastFailure);
      if (now < state.closedUntil) throw new NotAdmittedError(cluster, state.closedUntil - now, state.lastFailure);
    }
    const abort = new AbortController();
    const entry: InFlight = { abandon: () => abort.abort(new Error(`given up: the cluster has left another request unanswered for ${this.slowMs} ms`)) };
    state.inFlight.add(entry);
    if (!state.healthy) state.probe = entry;
    const slowTimer = setTimeout(() => this.turnSuspect(state, entry), this.slowMs);
    slowTimer.unref();
    let done = false;
    const finish = () => {
      if (done) return false;
      done = true;
      clearTimeout(slowTimer);
      state.inFlight.delete(entry);
      if (state.probe === entry) state.probe = undefined;
      return true;
    };
    return {
      signal: abort.signal,
      answered: (durationMs) => {
        if (!finish() || durationMs >= this.slowMs) return;
        const recovered = !state.healthy && (state.consecutiveFailures > 0 || state.suspected);
        state.suspected = false;
        state.healthy = true;
        state.consecutiveFailures = 0;
        state.closedUntil = 0;
        state.lastFailure = undefined;
        if (recovered) this.onRecovered?.(cluster);
      },
      unreachable: (error) => {
        if (!finish()) return;
        state.healthy = false;
        state.consecutiveFailures++;
        state.lastFailure = error;
        state.closedUntil = this.now() + this.cooldown(state);
      },
    };
  }

  /** A request has waited slowMs: it probes on alone, the others waiting with it are abandoned. */
  private turnSuspect(state: ClusterState, slow: InFlight): void {
    state.healthy = false;
    state.suspected = true;
    state.probe ??= slow;
    for (const other of state.inFlight) if (other !== state.probe) other.abandon();
  }

  /** 0 before any failure, then initialCooldownMs doubling per consecutive failure up to maxCooldownMs. */
  private cooldown(state: ClusterState): number {
    if (state.consecutiveFailures === 0) return 0;
    return Math.min(this.maxCooldownMs, this.initialCooldownMs * 2 ** (state.consecutiveFailures - 1));
  }

  private stateOf(cluster: string): ClusterState {
    let state = this.states.get(cluster);
    if (!state) {
      // Not heard from yet: one request first, the rest once it has answered.
      state = { healthy: false, inFlight: new Set(), probe: undefined, consecutiveFailures: 0, closedUntil: 0, suspected: false };
      this.states.set(cluster, state);
    }
    return state;
  }
}
