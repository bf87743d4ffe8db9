// Failures the plugin reports: what went wrong and what to do about it, never a stack trace.
import { describeError, statusCodeOf } from "../operator/runtime/errors.js";

/** Exit status 1; `hint` is printed on its own line after the message. */
export class PluginError extends Error {
  override readonly name = "PluginError";
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** A failed request to the API server as a PluginError that names the permission it needed. */
export function kubernetesFailure(error: unknown, what: string, permission: string): PluginError {
  if (error instanceof PluginError) return error;
  const status = statusCodeOf(error) ?? statusInMessage(error);
  const { message } = describeError(error);
  if (status === 401) return new PluginError(`${what}: not authenticated (401)`, "check the kubeconfig's credentials (--kubeconfig, --context)");
  if (status === 403) return new PluginError(`${what}: forbidden (403): ${message}`, `your user needs RBAC permission to ${permission}`);
  if (status === 404) return new PluginError(`${what}: not found (404): ${message}`);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT") {
    return new PluginError(`${what}: cannot reach the API server (${code})`, "check the kubeconfig's server and your network (--kubeconfig, --context)");
  }
  return new PluginError(`${what}: ${message}`);
}

/**
 * The WebSocket library reports a refused upgrade only in its message ("Unexpected server
 * response: 403"), on an error event that is not an Error.
 */
function statusInMessage(error: unknown): number | undefined {
  const message = typeof error === "object" && error !== null ? (error as { message?: unknown }).message : undefined;
  const match = /Unexpected server response: (\d{3})/.exec(typeof message === "string" ? message : "");
  return match ? Number(match[1]) : undefined;
}
