// kubectl against the e2e cluster: the one built from our pinned Kubernetes, never the system's.
import { inject } from "vitest";
import { CommandError, run } from "../../harness/exec.js";
import { KUBERNETES, ensureTool } from "../../harness/go-tools.js";

export async function kubectlPath(): Promise<string> {
  return ensureTool(KUBERNETES, "kubectl");
}

export async function kubectl(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const { stdout } = await run(await kubectlPath(), [`--kubeconfig=${inject("kubeconfig")}`, ...args], {
    input: options.input,
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  return stdout;
}

export async function kubectlJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, "-o", "json"])) as T;
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
