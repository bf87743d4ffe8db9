// Errors of the management API client: what was asked (method, path), what RabbitMQ answered
// (status, its `error` and `reason`) or why it did not answer, and a CamelCase `conditionReason`
// a controller can put into a status condition as is.

export type ManagementFailureKind = "http" | "network" | "timeout";

export interface ManagementApiErrorDetails {
  kind: ManagementFailureKind;
  method: string;
  /** Path and query, without the base URL (which may carry a host name users do not need to see). */
  path: string;
  /** HTTP status, when RabbitMQ answered. */
  status?: number;
  /** RabbitMQ's `error` field, e.g. "bad_request", "not_found", "Object Not Found". */
  error?: string;
  /** RabbitMQ's `reason` text, the body when it was not JSON, or the network error's message. */
  reason: string;
  attempts: number;
}

/** AMQP error names as RabbitMQ's management API reports them (it folds most into 400 bad_request). */
export type AmqpErrorCode = "PRECONDITION_FAILED" | "NOT_FOUND" | "ACCESS_REFUSED" | "RESOURCE_LOCKED" | "NOT_ALLOWED" | "COMMAND_INVALID";

export class ManagementApiError extends Error {
  override readonly name = "ManagementApiError";
  readonly kind: ManagementFailureKind;
  readonly method: string;
  readonly path: string;
  readonly status: number | undefined;
  readonly error: string | undefined;
  readonly reason: string;
  readonly attempts: number;
  /** The AMQP error behind a 4xx, when the reason shows one (e.g. "inequivalent arg" is PRECONDITION_FAILED). */
  readonly amqpCode: AmqpErrorCode | undefined;

  constructor(details: ManagementApiErrorDetails) {
    super(describe(details));
    this.kind = details.kind;
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.error = details.error;
    this.reason = details.reason;
    this.attempts = details.attempts;
    this.amqpCode = details.kind === "http" ? amqpCodeOf(details.reason) : undefined;
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }

  get isPreconditionFailed(): boolean {
    return this.amqpCode === "PRECONDITION_FAILED";
  }

  /** Whether the request never got an answer (the cluster is down or unreachable). */
  get isUnreachable(): boolean {
    return this.kind !== "http";
  }

  /**
   * A CamelCase reason for a status condition: the AMQP error when there is one
   * (PreconditionFailed), else RabbitMQ's own token (VhostNotFound, VhostOrUserNotFound), else one
   * from the status (BadRequest, Unauthorized, ServerError) or the failure (Unreachable, Timeout).
   */
  get conditionReason(): string {
    if (this.kind === "network") return "Unreachable";
    if (this.kind === "timeout") return "Timeout";
    if (this.amqpCode) return camelCase(this.amqpCode);
    if (/^[a-z][a-z0-9_]*$/.test(this.reason)) return camelCase(this.reason);
    return reasonForStatus(this.status ?? 0);
  }
}

function describe(details: ManagementApiErrorDetails): string {
  const request = `${details.method} ${details.path}`;
  const tries = details.attempts > 1 ? ` (after ${details.attempts} attempts)` : "";
  switch (details.kind) {
    case "http": {
      const what = details.error && details.error !== details.reason ? `${details.error}: ` : "";
      return `${request}: RabbitMQ answered ${details.status}: ${what}${details.reason}${tries}`;
    }
    case "timeout":
      return `${request}: no answer from RabbitMQ: ${details.reason}${tries}`;
    case "network":
      return `${request}: cannot reach RabbitMQ: ${details.reason}${tries}`;
  }
}

/**
 * RabbitMQ answers `{"error": "...", "reason": "..."}` on failure. The reason passes through an
 * HTML escaper on the server, so `<<"key">>` arrives as `&lt;&lt;&quot;key&quot;&gt;&gt;`.
 */
export function parseErrorBody(text: string): { error?: string; reason: string } {
  const trimmed = text.trim();
  try {
    const body: unknown = JSON.parse(trimmed);
    if (body !== null && typeof body === "object" && !Array.isArray(body)) {
      const record = body as Record<string, unknown>;
      const error = typeof record.error === "string" ? unescapeHtml(record.error) : undefined;
      const reason = typeof record.reason === "string" ? oneLine(unescapeHtml(record.reason)) : undefined;
      if (reason !== undefined || error !== undefined) return { error, reason: reason || error || "" };
    }
  } catch {
    // Not JSON: a proxy's error page, or an empty body.
  }
  return { reason: trimmed.slice(0, 1_000) };
}

/** Policy validation answers "Validation failed\n\n<details>\n": a condition message wants one line. */
function oneLine(text: string): string {
  return text
    .trim()
    .replace(/\s*\n\s*\n\s*/g, ": ")
    .replace(/\s*\n\s*/g, " ");
}

const HTML_ENTITIES: Record<string, string> = { "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&#x27;": "'", "&amp;": "&" };

function unescapeHtml(text: string): string {
  return text.replace(/&(lt|gt|quot|#39|#x27|amp);/g, (entity) => HTML_ENTITIES[entity] ?? entity);
}

/**
 * The management API turns AMQP channel errors into 400 bad_request with only the explanation
 * left, so the code is recognised from the explanation's wording (and from an explicit
 * "CODE - text" prefix, which some versions and proxies keep).
 */
export function amqpCodeOf(reason: string): AmqpErrorCode | undefined {
  const prefixed = /^(PRECONDITION_FAILED|NOT_FOUND|ACCESS_REFUSED|RESOURCE_LOCKED|NOT_ALLOWED|COMMAND_INVALID) - /.exec(reason);
  if (prefixed) return prefixed[1] as AmqpErrorCode;
  if (/^inequivalent arg /.test(reason) || /^invalid (property|arg) /.test(reason)) return "PRECONDITION_FAILED";
  if (/^cannot obtain exclusive access to locked queue/.test(reason)) return "RESOURCE_LOCKED";
  if (/^access to .* refused for user/.test(reason)) return "ACCESS_REFUSED";
  return undefined;
}

function camelCase(token: string): string {
  return token
    .toLowerCase()
    .split("_")
    .filter((part) => part !== "")
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("");
}

function reasonForStatus(status: number): string {
  if (status === 400) return "BadRequest";
  if (status === 401) return "Unauthorized";
  if (status === 403) return "Forbidden";
  if (status === 404) return "NotFound";
  if (status === 405) return "MethodNotAllowed";
  if (status === 409) return "Conflict";
  if (status >= 500) return "ServerError";
  return `HttpStatus${status}`;
}
