// The transport under the management API client: URL building, basic auth, a timeout per
// attempt, retries with backoff for idempotent requests, and typed errors. Knows nothing about
// vhosts or queues.
import { Agent, type Dispatcher } from "undici";
import { ManagementApiError, parseErrorBody } from "./management-errors.js";
import type { Admission, Reachability } from "./reachability.js";
import { sleep, systemClock } from "../runtime/clock.js";
import { DEFAULT_RETRY_POLICY, retryDelay, type AttemptFailure, type RetryPolicy } from "./management-retry.js";
import type { JsonValue, ManagementConnection } from "./management-types.js";

export type HttpMethod = "GET" | "PUT" | "POST" | "DELETE";

export interface ManagementRequest {
  method: HttpMethod;
  /** From apiPath(): every segment already encoded. */
  path: string;
  query?: Record<string, string | undefined>;
  body?: JsonValue;
  /** Whether the request may be repeated; by default every method but POST. */
  idempotent?: boolean;
  /** Statuses that are answers rather than errors (a failed health check's 503). */
  acceptStatuses?: readonly number[];
  /**
   * A request that takes long by nature (starting a vhost recovers its message store): this
   * timeout instead of the client's, one attempt, and left out of the cluster's reachability
   * (a slow answer here says nothing of the cluster, and must not hold other requests back).
   */
  longRunningTimeoutMs?: number;
}

export interface ManagementResponse {
  status: number;
  /** The parsed JSON body; undefined for an empty body (204). */
  body: JsonValue | undefined;
  /** The Location header of a 201 (a new binding's address). */
  location: string | undefined;
}

/** One attempt, reported for metrics and tests. */
export interface AttemptEvent {
  method: HttpMethod;
  /** The management API's base URL (normalized): which cluster, or which node, was asked. */
  baseUrl: string;
  path: string;
  attempt: number;
  durationMs: number;
  status?: number;
  failure?: AttemptFailure;
}

export interface ManagementHttpOptions {
  /** Per attempt, including reading the body. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Injected in tests to run the backoff without waiting. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Shared per-cluster admission (see reachability.ts); every request is admitted when absent. */
  reachability?: Reachability;
  onAttempt?: (event: AttemptEvent) => void;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/** A name the management API cannot address (see apiPath): no request was sent. */
export class UnaddressableNameError extends Error {
  override readonly name = "UnaddressableNameError";
  constructor(readonly segment: string) {
    super(`"${segment}" cannot be addressed through RabbitMQ's management API`);
  }
}

/**
 * `/api/` followed by the segments, each percent-encoded: the default vhost "/" becomes %2F, a
 * queue "a b" becomes a%20b. "." and ".." cannot be sent as segments at all: URL parsers resolve
 * them (encoded or not) before the request leaves, so they would address another resource.
 */
export function apiPath(...segments: string[]): string {
  for (const segment of segments) {
    if (segment === "." || segment === "..") throw new UnaddressableNameError(segment);
  }
  return `/api/${segments.map((segment) => encodeURIComponent(segment)).join("/")}`;
}

/** Base URL without trailing slashes and without credentials (fetch refuses URLs that carry them). */
export function normalizeBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`management API URL is not a URL: ${withoutUserinfo(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(`management API URL must be http or https: ${withoutUserinfo(url)}`);
  }
  parsed.username = "";
  parsed.password = "";
  parsed.search = "";
  parsed.hash = "";
  return parsed.toString().replace(/\/+$/, "");
}

/** A URL as it may be shown: a password written into it (user:password@) is not. */
function withoutUserinfo(url: string): string {
  return url.replace(/\/\/[^/@]*@/, "//…@");
}

export function withQuery(path: string, query: Record<string, string | undefined> | undefined): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * One connection pool per CA bundle, shared by every client that trusts it (clients come and go
 * per reconcile; their connections are kept alive across them, as the default pool's are).
 */
const poolsByCa = new Map<string, Agent>();

function poolFor(ca: string): Dispatcher {
  let pool = poolsByCa.get(ca);
  if (!pool) poolsByCa.set(ca, (pool = new Agent({ connect: { ca, rejectUnauthorized: true } })));
  return pool;
}

export class ManagementHttp {
  readonly baseUrl: string;
  /** Undefined: fetch's own pool, which verifies https against the system's CAs. */
  private readonly dispatcher: Dispatcher | undefined;
  private readonly authorization: string;
  private readonly timeoutMs: number;
  private readonly policy: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly onAttempt: ((event: AttemptEvent) => void) | undefined;
  private readonly reachability: Reachability | undefined;

  constructor(connection: ManagementConnection, options: ManagementHttpOptions = {}) {
    this.baseUrl = normalizeBaseUrl(connection.url);
    this.dispatcher = connection.ca && this.baseUrl.startsWith("https:") ? poolFor(connection.ca) : undefined;
    this.authorization = `Basic ${Buffer.from(`${connection.username}:${connection.password}`).toString("base64")}`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.sleep = options.sleep ?? ((ms) => sleep(systemClock, ms));
    this.random = options.random ?? Math.random;
    this.onAttempt = options.onAttempt;
    this.reachability = options.reachability;
  }

  /** Throws NotAdmittedError, without a request, while the cluster admits no more (reachability.ts). */
  async request(request: ManagementRequest): Promise<ManagementResponse> {
    const pathAndQuery = withQuery(request.path, request.query);
    const idempotent = request.longRunningTimeoutMs === undefined && (request.idempotent ?? request.method !== "POST");
    const admission = request.longRunningTimeoutMs === undefined ? this.reachability?.admit(this.baseUrl) : undefined;
    try {
      return await this.attempts(request, pathAndQuery, idempotent, admission);
    } finally {
      // Released whatever happened (a no-op when the outcome was already reported).
      admission?.answered(Number.POSITIVE_INFINITY);
    }
  }

  private async attempts(request: ManagementRequest, pathAndQuery: string, idempotent: boolean, admission: Admission | undefined): Promise<ManagementResponse> {
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      const outcome = await this.attempt(request, pathAndQuery, attempt, admission?.signal);
      const durationMs = Date.now() - started;
      if ("response" in outcome) {
        this.onAttempt?.({ method: request.method, baseUrl: this.baseUrl, path: pathAndQuery, attempt, durationMs, status: outcome.response.status });
        admission?.answered(durationMs);
        return outcome.response;
      }
      this.onAttempt?.({
        method: request.method,
        baseUrl: this.baseUrl,
        path: pathAndQuery,
        attempt,
        durationMs,
        status: outcome.error.status,
        failure: outcome.failure,
      });
      if (admission?.signal.aborted) {
        // Abandoned for a probe of a silent cluster: no retry, and it says nothing about the cluster.
        admission.answered(Number.POSITIVE_INFINITY);
        throw outcome.error;
      }
      const delay = retryDelay(this.policy, attempt, outcome.failure, idempotent, this.random);
      if (delay === undefined) {
        if (outcome.error.isUnreachable) admission?.unreachable(outcome.error);
        else admission?.answered(durationMs);
        throw outcome.error;
      }
      await this.sleep(delay);
    }
  }

  private async attempt(
    request: ManagementRequest,
    pathAndQuery: string,
    attempt: number,
    abandoned?: AbortSignal,
  ): Promise<{ response: ManagementResponse } | { error: ManagementApiError; failure: AttemptFailure }> {
    // Some resources (purge, limits) offer no JSON representation and answer 406 to a strict Accept.
    const headers: Record<string, string> = { authorization: this.authorization, accept: "application/json, */*;q=0.5" };
    if (request.body !== undefined) headers["content-type"] = "application/json";
    const base = { method: request.method, path: pathAndQuery, attempts: attempt };
    let status: number;
    let text: string;
    let location: string | null;
    // A timer of our own, held until the body is read: AbortSignal.any() holds its sources
    // weakly, and a collected AbortSignal.timeout() never fires (the request then waits forever).
    const controller = new AbortController();
    const timeoutMs = request.longRunningTimeoutMs ?? this.timeoutMs;
    const timer = setTimeout(() => controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError")), timeoutMs);
    const onAbandoned = () => controller.abort(abandoned?.reason);
    abandoned?.addEventListener("abort", onAbandoned, { once: true });
    try {
      const response = await fetch(this.baseUrl + pathAndQuery, {
        method: request.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: controller.signal,
        redirect: "error",
        // Node's fetch is undici 6 (the version pinned in package.json): it takes undici's dispatchers.
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      } as RequestInit);
      status = response.status;
      location = response.headers.get("location");
      text = await response.text();
    } catch (error) {
      if (abandoned?.aborted) {
        const reason = abandoned.reason instanceof Error ? abandoned.reason.message : "abandoned";
        return { error: new ManagementApiError({ ...base, kind: "timeout", reason }), failure: { kind: "timeout" } };
      }
      if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
        const reason = `timed out after ${timeoutMs} ms`;
        return { error: new ManagementApiError({ ...base, kind: "timeout", reason }), failure: { kind: "timeout" } };
      }
      return { error: new ManagementApiError({ ...base, kind: "network", reason: networkReason(error) }), failure: { kind: "network" } };
    } finally {
      clearTimeout(timer);
      abandoned?.removeEventListener("abort", onAbandoned);
    }
    if ((status >= 200 && status < 300) || request.acceptStatuses?.includes(status)) {
      return { response: { status, body: parseJson(text), location: location ?? undefined } };
    }
    const { error, reason } = parseErrorBody(text);
    return {
      error: new ManagementApiError({ ...base, kind: "http", status, error, reason: reason || `HTTP ${status}` }),
      failure: { kind: "status", status },
    };
  }
}

function parseJson(text: string): JsonValue | undefined {
  if (text.trim() === "") return undefined;
  // JSON.parse yields JSON values only; the cast names that fact for the compiler.
  return JSON.parse(text) as JsonValue;
}

/** fetch says only "fetch failed"; the cause says what happened (ECONNREFUSED 127.0.0.1:15672). */
function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message;
  }
  return error.message;
}
