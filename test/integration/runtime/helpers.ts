// Shared by the runtime's integration tests: clients on the test control plane, throwaway
// namespaces, a request recorder (to count writes), the CRDs, bounded waits.
import { CoreV1Api, KubeConfig, type Middleware } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { run, waitFor } from "../../../dev/exec.js";
import { KUBERNETES, ensureTool } from "../../../dev/go-tools.js";
import { REPO_ROOT } from "../../../dev/paths.js";

export function loadKubeConfig(path: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(path);
  return kubeConfig;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

/** Creates a namespace; the returned function deletes it (the namespace controller empties it). */
export async function createNamespace(kubeConfig: KubeConfig, prefix: string): Promise<{ name: string; remove: () => Promise<void> }> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const name = uniqueName(prefix);
  await core.createNamespace({ body: { metadata: { name } } });
  return {
    name,
    remove: async () => {
      await core.deleteNamespace({ name }).catch(() => undefined);
    },
  };
}

export interface RecordedRequest {
  method: string;
  path: string;
}

/** Client middleware recording every request but GETs: the writes the code under test makes. */
export function writeRecorder(): { middleware: Middleware; writes: RecordedRequest[]; reset(): void } {
  const writes: RecordedRequest[] = [];
  return {
    writes,
    reset: () => void writes.splice(0),
    middleware: {
      pre: async (context) => {
        const method = context.getHttpMethod();
        if (method !== "GET") writes.push({ method, path: new URL(context.getUrl()).pathname });
        return context;
      },
      post: async (context) => context,
    },
  };
}

/** kubectl apply --server-side of crds/, then waits until they are established. */
export async function installCrds(kubeconfigPath: string): Promise<void> {
  const kubectl = await ensureTool(KUBERNETES, "kubectl");
  const args = [`--kubeconfig=${kubeconfigPath}`];
  await run(kubectl, [...args, "apply", "--server-side", "--field-manager=runtime-tests", "-f", join(REPO_ROOT, "crds")], { timeoutMs: 60_000 });
  await run(kubectl, [...args, "wait", "--for=condition=Established", "--timeout=60s", "-f", join(REPO_ROOT, "crds")], { timeoutMs: 90_000 });
}

export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  await waitFor(what, async () => check(), { timeoutMs, intervalMs: 50 });
}

export const sleepMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
