// `kubectl port-forward` to 127.0.0.1 only, on a port the kernel picks, as a managed process
// (stopped by pid). Used by the e2e tier and the demo.
import { readFile, writeFile } from "node:fs/promises";
import { startProcess, waitFor, type ManagedProcess } from "./exec.js";
import { KUBERNETES, ensureTool } from "./go-tools.js";

export interface PortForward {
  localPort: number;
  stop(): Promise<void>;
}

export async function portForward(kubeconfig: string, namespace: string, target: string, remotePort: number, logFile: string): Promise<PortForward> {
  const kubectl = await ensureTool(KUBERNETES, "kubectl");
  // The port is read from this file: start it empty, or an earlier forward's line would match.
  await writeFile(logFile, "");
  const forwarder: ManagedProcess = startProcess(
    "kubectl port-forward",
    kubectl,
    [`--kubeconfig=${kubeconfig}`, "-n", namespace, "port-forward", "--address=127.0.0.1", target, `:${remotePort}`],
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
    await forwarder.stop();
    throw error;
  }
  return { localPort, stop: () => forwarder.stop() };
}
