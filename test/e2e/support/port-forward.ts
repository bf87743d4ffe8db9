// Port-forwards into the e2e cluster (see dev/port-forward.ts).
import { inject } from "vitest";
import { portForward as forwardWith, type PortForward } from "../../../dev/port-forward.js";

export type { PortForward };

export function portForward(namespace: string, target: string, remotePort: number, logFile: string): Promise<PortForward> {
  return forwardWith(inject("kubeconfig"), namespace, target, remotePort, logFile);
}
