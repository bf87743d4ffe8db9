// Per-key exponential backoff, as client-go's ItemExponentialFailureRateLimiter, with jitter so
// that keys failing together (the API server was down) do not retry together.

export interface RateLimiter {
  /** Records a failure of key and returns how long to wait before retrying it. */
  when(key: string): number;
  /** Forgets the failures of key (it succeeded): its next failure waits baseDelayMs again. */
  forget(key: string): void;
  /** Failures recorded for key since it was last forgotten. */
  retries(key: string): number;
}

export interface BackoffOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * Fraction by which a delay is randomly shortened: delay * (1 - jitter * random()). Shortening
   * rather than lengthening keeps maxDelayMs a hard cap and keeps keys at the cap spread out.
   */
  jitter?: number;
  random?: () => number;
}

export const DEFAULT_BACKOFF = { baseDelayMs: 100, maxDelayMs: 300_000, jitter: 0.2 } as const;

export class ExponentialBackoff implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? DEFAULT_BACKOFF.baseDelayMs;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs;
    this.jitter = Math.min(1, Math.max(0, options.jitter ?? DEFAULT_BACKOFF.jitter));
    this.random = options.random ?? Math.random;
  }

  when(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    // 2 ** failures overflows to Infinity long after the cap is reached: min() keeps it finite.
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** failures);
    return Math.round(delay * (1 - this.jitter * this.random()));
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}
