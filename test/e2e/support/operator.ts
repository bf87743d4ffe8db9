// The operator installed into the e2e cluster with its chart and our locally built image.
import { inject } from "vitest";
import { installOperatorChart, type InstalledOperator } from "../../../dev/operator-chart.js";

export type { InstalledOperator };

export function installOperator(options: { release: string; namespace: string; image: string; watchNamespaces?: string[] }): Promise<InstalledOperator> {
  // The image exists only inside the kind node: it was loaded, never pushed.
  return installOperatorChart({ kubeconfig: inject("kubeconfig"), pullPolicy: "Never", logLevel: "debug", ...options });
}
