// The kubectl plugin as a user installs it: compiled (tsc, as `npm run build` does), its two
// executables (kubectl-rabbit, kubectl_complete-rabbit: package.json's bins) on PATH, and run by
// our pinned kubectl (`kubectl rabbit ...`), which finds it there.
import { chmod, mkdir, readFile, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { CommandError, run, startProcess, type ManagedProcess } from "../../../dev/exec.js";
import { REPO_ROOT } from "../../../dev/paths.js";
import { kubectlPath } from "./kubectl.js";

export interface PluginInstall {
  /** The directory on PATH holding the executables. */
  binDir: string;
  env: NodeJS.ProcessEnv;
  /** `kubectl rabbit ARGS`: stdout, or a CommandError with exit code and stderr. */
  rabbit(args: string[], options?: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<{ stdout: string; stderr: string }>;
  /** `kubectl rabbit ARGS` as a long-running process (manage, logs -f), its output in logFile. */
  start(args: string[], logFile: string): ManagedProcess;
  kubectl(args: string[]): Promise<string>;
  remove(): Promise<void>;
}

/** Builds the plugin under .cache (inside the repository, so that node_modules and "type": "module" apply). */
export async function installPlugin(kubeconfig: string, workDir: string): Promise<PluginInstall> {
  const outDir = join(workDir, "dist");
  const binDir = join(workDir, "bin");
  await rm(workDir, { recursive: true, force: true });
  await run(join(REPO_ROOT, "node_modules", ".bin", "tsc"), ["-p", join(REPO_ROOT, "tsconfig.build.json"), "--outDir", outDir], { timeoutMs: 300_000 });
  const bins = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { bin: Record<string, string> };
  await mkdir(binDir, { recursive: true });
  for (const name of ["kubectl-rabbit", "kubectl_complete-rabbit"]) {
    const target = join(outDir, bins.bin[name]!.replace(/^dist\//, ""));
    await chmod(target, 0o755);
    await symlink(target, join(binDir, name));
  }
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ""}`, KUBECONFIG: kubeconfig };
  const kubectl = await kubectlPath();
  return {
    binDir,
    env,
    rabbit: (args, options = {}) =>
      run(kubectl, ["rabbit", ...args], { env: { ...env, ...options.env }, input: options.input, timeoutMs: options.timeoutMs ?? 120_000 }),
    start: (args, logFile) => startProcess("kubectl rabbit", kubectl, ["rabbit", ...args], { logFile, env }),
    kubectl: async (args) => (await run(kubectl, args, { env, timeoutMs: 60_000 })).stdout,
    remove: () => rm(workDir, { recursive: true, force: true }),
  };
}

/** The failure of a plugin command that must fail: its exit code and error output. */
export async function failureOf(result: Promise<unknown>): Promise<{ exitCode: number | null; stderr: string }> {
  try {
    await result;
  } catch (error) {
    if (error instanceof CommandError) return { exitCode: error.exitCode, stderr: error.stderr };
    throw error;
  }
  throw new Error("the command succeeded");
}
