// Port-forwards into the e2e cluster (see test/harness/port-forward.ts).
import { inject } from "vitest";
import { portForward as forwardWith, type PortForward } from "../../harness/port-forward.js";

export type { PortForward };

export function portForward(namespace: string, target: string, remotePort: number, logFile: string): Promise<PortForward> {
  return forwardWith(inject("kubeconfig"), namespace, target, remotePort, logFile);
}
