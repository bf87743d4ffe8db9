// Runs a command in a RabbitMQ pod through the API server (pods/exec), for the cluster operations
// that only the CLI tools offer (drain, forget_cluster_node, quorum membership).
import { Writable } from "node:stream";
import { Exec, type KubeConfig, type V1Status } from "@kubernetes/client-node";
import { describeError } from "../runtime/errors.js";

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class PodExecError extends Error {
  constructor(
    readonly pod: string,
    readonly command: string[],
    readonly result: ExecResult | undefined,
    reason: string,
  ) {
    super(`${command.join(" ")} in pod ${pod}: ${reason}${result ? `: ${(result.stderr || result.stdout).trim().split("\n").slice(-5).join(" | ")}` : ""}`);
  }
}

function collector(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
}

/** The exit code in a V1Status from the exec protocol: 0 on Success, else from details.causes. */
export function exitCodeOf(status: V1Status): number {
  if (status.status === "Success") return 0;
  const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
  return cause?.message ? Number(cause.message) : 1;
}

export interface ExecOptions {
  /** Default 2 minutes. */
  timeoutMs?: number;
  /** Aborted (shutdown, lost leadership): the stream is closed and the call fails at once. */
  signal?: AbortSignal;
}

export async function execInPod(
  kc: KubeConfig,
  target: { namespace: string; pod: string; container: string },
  command: string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const { timeoutMs = 120_000, signal } = options;
  if (signal?.aborted) throw new PodExecError(target.pod, command, undefined, "not started: the operator stopped leading");
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const exec = new Exec(kc);
  return new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      socket?.close();
      finish(() => reject(new PodExecError(target.pod, command, undefined, "stopped: the operator stopped leading")));
    };
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      outcome();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const result = (status: V1Status): ExecResult => ({
      exitCode: exitCodeOf(status),
      stdout: Buffer.concat(stdout).toString(),
      stderr: Buffer.concat(stderr).toString(),
    });
    let socket: { close(): void } | undefined;
    const timer = setTimeout(() => {
      socket?.close();
      finish(() => reject(new PodExecError(target.pod, command, undefined, `no answer within ${timeoutMs} ms`)));
    }, timeoutMs);
    exec
      .exec(target.namespace, target.pod, target.container, command, collector(stdout), collector(stderr), null, false, (status) => {
        finish(() => resolve(result(status)));
      })
      .then((ws) => {
        socket = ws;
        ws.on("close", () => {
          // The status message comes before the close; a close without one means the stream broke.
          finish(() => reject(new PodExecError(target.pod, command, undefined, "connection closed without an exit status")));
        });
      })
      .catch((error: unknown) => finish(() => reject(new PodExecError(target.pod, command, undefined, describeError(error).message))));
  });
}
