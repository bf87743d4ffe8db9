// What went wrong in a request to the API server. client-node reports HTTP failures in two
// shapes: ApiException (`code`, `body`) from the typed clients, and an Error with `statusCode`
// from Watch; our own list requests throw ApiError. These helpers read all of them.
import { ApiException } from "@kubernetes/client-node";

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * A reconcile error that retrying cannot fix (invalid input that the schema could not catch):
 * counted and logged, but not requeued. The object is reconciled again when it changes.
 */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TerminalError";
  }
}

export function statusCodeOf(error: unknown): number | undefined {
  if (error instanceof ApiError) return error.statusCode;
  if (error instanceof ApiException) return error.code;
  if (typeof error === "object" && error !== null) {
    const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
    if (typeof statusCode === "number") return statusCode;
    if (typeof code === "number") return code;
  }
  return undefined;
}

export const isNotFound = (error: unknown) => statusCodeOf(error) === 404;
export const isConflict = (error: unknown) => statusCodeOf(error) === 409;
export const isGone = (error: unknown) => statusCodeOf(error) === 410;
/** The API server refused the object itself (400 Bad Request, 422 Invalid): retrying cannot help. */
export const isInvalid = (error: unknown) => statusCodeOf(error) === 400 || statusCodeOf(error) === 422;

/** A short, loggable description: the API server's Status message when there is one. */
export function describeError(error: unknown): { message: string; statusCode?: number; reason?: string } {
  const statusCode = statusCodeOf(error);
  if (error instanceof ApiException) {
    const status = parseStatus(error.body);
    return { message: status?.message ?? String(error.message).split("\n")[0] ?? "API error", statusCode, reason: status?.reason };
  }
  if (error instanceof ApiError) return { message: error.message, statusCode, reason: error.reason };
  if (error instanceof Error) return statusCode === undefined ? { message: error.message } : { message: error.message, statusCode };
  // WebSocket failures (pods/exec) arrive as ErrorEvent-like objects, not Errors.
  const message = typeof error === "object" && error !== null ? (error as { message?: unknown }).message : undefined;
  if (typeof message === "string" && message !== "") return statusCode === undefined ? { message } : { message, statusCode };
  return { message: String(error) };
}

/** The metav1.Status in an error response body, which client-node gives as a string or an object. */
export function parseStatus(body: unknown): { message?: string; reason?: string; code?: number } | undefined {
  let value = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch {
      return { message: body };
    }
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { message, reason, code } = value as { message?: unknown; reason?: unknown; code?: unknown };
  return {
    message: typeof message === "string" ? message : undefined,
    reason: typeof reason === "string" ? reason : undefined,
    code: typeof code === "number" ? code : undefined,
  };
}
