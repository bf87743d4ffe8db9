// kubectl against the e2e cluster (or another one the tests started): the one built from our
// pinned Kubernetes, never the system's.
import { inject } from "vitest";
import { CommandError, run } from "../../../dev/exec.js";
import { KUBERNETES, ensureTool } from "../../../dev/go-tools.js";

export async function kubectlPath(): Promise<string> {
  return ensureTool(KUBERNETES, "kubectl");
}

export interface Kubectl {
  kubectl(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<string>;
  kubectlJson<T>(args: string[]): Promise<T>;
}

/** kubectl bound to one cluster's kubeconfig. */
export function kubectlOn(kubeconfig: string): Kubectl {
  const kubectl: Kubectl["kubectl"] = async (args, options = {}) => {
    const { stdout } = await run(await kubectlPath(), [`--kubeconfig=${kubeconfig}`, ...args], {
      input: options.input,
      timeoutMs: options.timeoutMs ?? 60_000,
    });
    return stdout;
  };
  return { kubectl, kubectlJson: async <T>(args: string[]) => JSON.parse(await kubectl([...args, "-o", "json"])) as T };
}

export function kubectl(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  return kubectlOn(inject("kubeconfig")).kubectl(args, options);
}

export function kubectlJson<T>(args: string[]): Promise<T> {
  return kubectlOn(inject("kubeconfig")).kubectlJson<T>(args);
}

/** The error output of a kubectl call that is expected to fail; throws if it succeeds. */
export async function kubectlFailure(args: string[], options: { input?: string } = {}): Promise<string> {
  try {
    await kubectl(args, options);
  } catch (error) {
    if (error instanceof CommandError) return error.stderr + error.stdout;
    throw error;
  }
  throw new Error(`kubectl ${args.join(" ")} succeeded; it was expected to fail`);
}
