// The real Pulumi engine for tests: the CLI and the Kubernetes provider built from pinned Go
// modules (go-tools.ts), driven through the Automation API with inline programs. The Node.js
// language host cannot be built here (see TOOLCHAIN.md); an inline program does not need it,
// because the Automation API serves the program from this process.
//
// Everything the engine writes (PULUMI_HOME, the file backend with the stacks' state, workspace
// files) lives in one directory per engine, removed by cleanup(). Nothing leaves the machine: no
// update check, no plugin download (the provider is an ambient plugin found on PATH), no service
// backend.
import { mkdir, rm, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { LocalWorkspace, PulumiCommand, type ConfigMap, type PulumiFn, type Stack } from "@pulumi/pulumi/automation/index.js";
import { randomToken } from "../operator/resources/context.js";
import { PULUMI, PULUMI_KUBERNETES, ensureTool } from "./go-tools.js";
import { RUN_DIR } from "./paths.js";

export interface PulumiEngine {
  /** Root of everything this engine writes. */
  readonly dir: string;
  readonly command: PulumiCommand;
  /** The environment every Pulumi command of this engine runs with. */
  readonly env: Readonly<Record<string, string>>;
  /** Creates (or selects) a stack whose program is a function of this process. */
  inlineStack(options: InlineStackOptions): Promise<Stack>;
  /** Removes the engine's directory (state included) unless RABBIT_OPERATOR_KEEP_RUN_DIR is set. */
  cleanup(): Promise<void>;
}

export interface InlineStackOptions {
  projectName: string;
  stackName: string;
  program: PulumiFn;
  /** Stack configuration, as `pulumi config set [--secret]` would write it. */
  config?: ConfigMap;
}

/**
 * Builds (or finds in the cache) the CLI and the provider, and prepares an isolated engine
 * environment under RUN_DIR. `name` tells concurrent engines apart in the directory name.
 */
export async function preparePulumiEngine(name: string): Promise<PulumiEngine> {
  const [cli, provider] = await Promise.all([ensureTool(PULUMI), ensureTool(PULUMI_KUBERNETES)]);
  const dir = join(RUN_DIR, `pulumi-${name}-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  const home = join(dir, "home");
  const state = join(dir, "state");
  // PulumiCommand.get({ root }) runs <root>/bin/pulumi; the cache keeps the binary elsewhere.
  const root = join(dir, "cli");
  await Promise.all([mkdir(home, { recursive: true }), mkdir(state, { recursive: true }), mkdir(join(root, "bin"), { recursive: true })]);
  await symlink(cli, join(root, "bin", "pulumi"));

  const env: Record<string, string> = {
    // The provider is found as an ambient plugin on PATH; the CLI's own directory comes first so
    // that any pulumi the engine itself spawns is this one.
    PATH: [dirname(cli), dirname(provider), process.env.PATH ?? ""].join(":"),
    PULUMI_HOME: home,
    PULUMI_BACKEND_URL: `file://${state}`,
    // Stack secrets (the connection Secret's password in config) are encrypted with this.
    PULUMI_CONFIG_PASSPHRASE: randomToken(24),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
  // Without `version`, get() checks the CLI against the SDK's own minimum: the stamped v3.248.0 passes.
  const command = await PulumiCommand.get({ root });

  return {
    dir,
    command,
    env,
    async inlineStack({ projectName, stackName, program, config }) {
      const workDir = join(dir, "work", projectName);
      await mkdir(workDir, { recursive: true });
      const stack = await LocalWorkspace.createOrSelectStack(
        { projectName, stackName, program },
        {
          pulumiCommand: command,
          workDir,
          pulumiHome: home,
          envVars: env,
          projectSettings: { name: projectName, runtime: "nodejs", backend: { url: env.PULUMI_BACKEND_URL } },
          secretsProvider: "passphrase",
        },
      );
      if (config) await stack.setAllConfig(config);
      return stack;
    },
    async cleanup() {
      if (!process.env.RABBIT_OPERATOR_KEEP_RUN_DIR) await rm(dir, { recursive: true, force: true });
    },
  };
}
