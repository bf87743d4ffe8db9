// The operator installed the way users install it: `helm upgrade --install` of our chart. Used by
// the e2e tier and the demo.
import { join } from "node:path";
import { run, waitFor } from "./exec.js";
import { HELM, KUBERNETES, ensureTool } from "./go-tools.js";
import { REPO_ROOT } from "./paths.js";

export const CHART_DIR = join(REPO_ROOT, "charts", "rabbit-operator");

export interface InstalledOperator {
  release: string;
  namespace: string;
  /** The tail of the operator's log, for failure messages. */
  logs(): Promise<string>;
  /** helm uninstall, then the namespace; waits until the operator's pods are gone. */
  uninstall(): Promise<void>;
}

export interface InstallOperatorOptions {
  kubeconfig: string;
  release: string;
  namespace: string;
  /** repository:tag; the chart's default when absent. */
  image?: string;
  /** Never for an image loaded into kind (it exists only on the node). */
  pullPolicy?: "Always" | "IfNotPresent" | "Never";
  /** Namespaces the operator watches (a Role in each); all (a ClusterRole) when empty. */
  watchNamespaces?: string[];
  logLevel?: "debug" | "info" | "warn" | "error";
  extraValues?: string[];
}

export async function installOperatorChart(options: InstallOperatorOptions): Promise<InstalledOperator> {
  const [helm, kubectl] = await Promise.all([ensureTool(HELM), ensureTool(KUBERNETES, "kubectl")]);
  const withConfig = (args: string[]) => [`--kubeconfig=${options.kubeconfig}`, ...args];
  const values: string[] = [];
  if (options.image) {
    const separator = options.image.lastIndexOf(":");
    values.push(`image.repository=${options.image.slice(0, separator)}`, `image.tag=${options.image.slice(separator + 1)}`);
  }
  if (options.pullPolicy) values.push(`image.pullPolicy=${options.pullPolicy}`);
  if (options.watchNamespaces?.length) values.push(`watchNamespaces={${options.watchNamespaces.join(",")}}`);
  if (options.logLevel) values.push(`logLevel=${options.logLevel}`);
  values.push(...(options.extraValues ?? []));
  await run(
    helm,
    withConfig([
      "upgrade",
      "--install",
      options.release,
      CHART_DIR,
      "--namespace",
      options.namespace,
      "--create-namespace",
      "--wait",
      "--timeout",
      "3m",
      ...values.flatMap((v) => ["--set", v]),
    ]),
    { timeoutMs: 240_000 },
  );
  const kubectlOutput = async (args: string[]) => (await run(kubectl, withConfig(args), { timeoutMs: 60_000 })).stdout;
  return {
    release: options.release,
    namespace: options.namespace,
    logs: () =>
      kubectlOutput(["-n", options.namespace, "logs", `deployment/${options.release}`, "--tail=200"]).catch((error: unknown) => `(no logs: ${String(error)})`),
    async uninstall() {
      await run(helm, withConfig(["uninstall", options.release, "--namespace", options.namespace, "--wait", "--timeout", "2m"]), { timeoutMs: 180_000 });
      await kubectlOutput(["delete", "namespace", options.namespace, "--wait=false"]).catch(() => undefined);
      await waitFor(
        "the operator's pods to be gone",
        async () => (await kubectlOutput(["-n", options.namespace, "get", "pods", "-o", "name"]).catch(() => "")).trim() === "",
        {
          timeoutMs: 120_000,
          intervalMs: 1000,
        },
      );
    },
  };
}
