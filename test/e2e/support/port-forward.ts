// `kubectl port-forward` to 127.0.0.1 only, on a port the kernel picks, as a managed process.
import { readFile } from "node:fs/promises";
import { inject } from "vitest";
import { startProcess, waitFor, type ManagedProcess } from "../../harness/exec.js";
import { kubectlPath } from "./kubectl.js";

export interface PortForward {
  localPort: number;
  stop(): Promise<void>;
}

export async function portForward(namespace: string, target: string, remotePort: number, logFile: string): Promise<PortForward> {
  const process: ManagedProcess = startProcess(
    "kubectl port-forward",
    await kubectlPath(),
    [`--kubeconfig=${inject("kubeconfig")}`, "-n", namespace, "port-forward", "--address=127.0.0.1", target, `:${remotePort}`],
    { logFile },
  );
  let localPort = 0;
  try {
    await waitFor(
      `port-forward to ${target}:${remotePort}`,
      async () => {
        const match = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(await readFile(logFile, "utf8").catch(() => ""));
        if (match) localPort = Number(match[1]);
        return localPort > 0;
      },
      { timeoutMs: 30_000 },
    );
  } catch (error) {
    await process.stop();
    throw error;
  }
  return { localPort, stop: () => process.stop() };
}
