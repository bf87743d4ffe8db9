// When a management API request is tried again, and after how long. Pure: the clock (sleep) and
// the randomness (jitter) are passed in, so the policy is tested without waiting.

export interface RetryPolicy {
  /** Attempts in all, the first included; 1 disables retries. */
  maxAttempts: number;
  /** Delay before the first retry. */
  initialDelayMs: number;
  /** Cap on any delay. */
  maxDelayMs: number;
  /** Growth of the delay from one retry to the next. */
  multiplier: number;
  /** Fraction of the delay drawn at random (0..1) so that many clients do not retry in step. */
  jitter: number;
}

/**
 * About 4 s of retrying in all: enough to ride over a node restart's connection refusals or a
 * management listener that is still starting, short enough that a reconcile reports the failure
 * quickly and the work queue's own backoff takes over.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, initialDelayMs: 250, maxDelayMs: 2_000, multiplier: 2, jitter: 0.2 };

/** How an attempt failed. */
export type AttemptFailure =
  | { kind: "status"; status: number }
  /** No answer: connection refused or reset, DNS failure. */
  | { kind: "network" }
  /** No answer within the per-request timeout. */
  | { kind: "timeout" };

/**
 * Whether a failure may go away by itself. 4xx answers never do (the request is wrong or refused
 * for a reason that a retry does not change); 5xx, connection errors and timeouts may. 501 and 505
 * are permanent.
 */
export function isTransient(failure: AttemptFailure): boolean {
  if (failure.kind !== "status") return true;
  return failure.status >= 500 && failure.status !== 501 && failure.status !== 505;
}

/**
 * The delay before retry number `retry` (1 for the first retry): exponential from
 * initialDelayMs, capped at maxDelayMs, with the last `jitter` fraction drawn from random().
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const exponential = policy.initialDelayMs * policy.multiplier ** Math.max(0, retry - 1);
  const capped = Math.min(policy.maxDelayMs, exponential);
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.round(capped * (1 - jitter) + capped * jitter * random());
}

/**
 * The decision after a failed attempt: undefined to give up, else the delay before the next one.
 * Non-idempotent requests are never repeated, because RabbitMQ may have applied the first one.
 */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  failure: AttemptFailure,
  idempotent: boolean,
  random: () => number = Math.random,
): number | undefined {
  if (!idempotent || !isTransient(failure) || attempt >= policy.maxAttempts) return undefined;
  return backoffDelay(policy, attempt, random);
}
