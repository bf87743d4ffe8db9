// The operator as users run it (operator/main.ts as its own process) against the test control
// plane, for the fault tests: started, killed and started again, its log appended to one file
// across its lives.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { waitFor } from "../../../dev/exec.js";
import { REPO_ROOT } from "../../../dev/paths.js";

const STARTED_LINE = '"controller started"';

export class OperatorProcess {
  private child: ChildProcess | undefined;

  constructor(
    private readonly options: {
      kubeconfig: string;
      namespaces: string[];
      logFile: string;
      driftPeriodSeconds?: number;
      args?: string[];
      env?: Record<string, string>;
      /**
       * Run each life as pid 1 of a PID namespace of its own (`unshare`), as a container runs its
       * entry point: every life then has the same pid.
       */
      pidOne?: boolean;
      /**
       * A compiled entry point (dist/operator/main.js from `npm run build`) run by plain node, as
       * the image runs it; without it, operator/main.ts under tsx.
       */
      compiledEntry?: string;
      /** Options for node itself (--cpu-prof and the like, which NODE_OPTIONS may not carry). */
      nodeArgs?: string[];
    },
  ) {}

  /** Whether the current life is running (not exited, not killed). */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Starts a life and waits until its controllers run. Refused while a life runs: two operators
   * without leader election race each other (one re-declares what the other just deleted), which
   * is not the fault these tests inject.
   */
  async start({ waitForControllers = true }: { waitForControllers?: boolean } = {}): Promise<void> {
    if (this.running) throw new Error(`the operator is running already (pid ${this.child?.pid}); stop it before starting another life`);
    const before = await this.controllerStarts();
    const log = createWriteStream(this.options.logFile, { flags: "a" });
    const command = [
      process.execPath,
      ...(this.options.nodeArgs ?? []),
      ...(this.options.compiledEntry ? [this.options.compiledEntry] : ["--import", "tsx", join(REPO_ROOT, "operator/main.ts")]),
      `--kubeconfig=${this.options.kubeconfig}`,
      `--namespaces=${this.options.namespaces.join(",")}`,
      "--metrics-port=0",
      "--health-port=0",
      `--topology-drift-period=${this.options.driftPeriodSeconds ?? 3}`,
      "--log-level=debug",
      ...(this.options.args ?? []),
    ];
    // --kill-child: the operator dies with unshare, whatever ends unshare.
    const [file, ...args] = this.options.pidOne ? ["unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--mount-proc", ...command] : command;
    const child = spawn(file!, args, { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...this.options.env } });
    child.stderr!.pipe(log);
    this.child = child;
    if (!waitForControllers) return;
    // Not waitFor(): a life that exited says so at once, with its last words.
    const deadline = Date.now() + 60_000;
    while ((await this.controllerStarts()) <= before) {
      if (!this.running) {
        const lastLines = (await this.logLines()).slice(-3).join(" | ");
        throw new Error(`the operator exited (${child.exitCode ?? child.signalCode}) before its controllers started: ${lastLines}`);
      }
      if (Date.now() > deadline) throw new Error("timed out after 60000 ms waiting for the operator's controllers to start");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Ends the current life with this signal (SIGKILL: no cleanup at all), at most 30 s. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.child = undefined;
      return;
    }
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      // In a PID namespace the signal goes to the operator itself (unshare's child), not to unshare.
      process.kill(await this.operatorPid(child), signal);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    } catch (error) {
      // Gone on its own meanwhile (ESRCH, or unshare with no child left): killed below all the same.
      if ((error as NodeJS.ErrnoException).code !== "ESRCH" && child.exitCode === null && child.signalCode === null)
        console.warn(`stopping the operator: ${String(error)}`);
    } finally {
      // Whatever happened above: unshare's --kill-child takes the operator along.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
      this.child = undefined;
    }
  }

  /** The current life's pid on this machine. */
  get pid(): number | undefined {
    return this.running && !this.options.pidOne ? this.child?.pid : undefined;
  }

  /** The current life's pid as it sees itself (1 with pidOne, as in a container). */
  async pidInItsNamespace(): Promise<number> {
    const child = this.child;
    if (!child?.pid) throw new Error("the operator is not running");
    const operatorPid = await this.operatorPid(child);
    const status = await readFile(`/proc/${operatorPid}/status`, "utf8");
    const pids = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
    return Number(pids?.at(-1));
  }

  /** Every line logged in all lives so far. */
  async logLines(): Promise<string[]> {
    return (await readFile(this.options.logFile, "utf8").catch(() => "")).split("\n").filter(Boolean);
  }

  /** The operator's own pid: the child, or with pidOne unshare's one child (once it has forked). */
  private async operatorPid(child: ChildProcess): Promise<number> {
    if (!this.options.pidOne) return child.pid!;
    let found: number | undefined;
    await waitFor("unshare to fork the operator", async () => (found = await onlyChild(child.pid!)) !== undefined, { timeoutMs: 10_000, intervalMs: 20 });
    return found!;
  }

  private async controllerStarts(): Promise<number> {
    return (await this.logLines()).filter((line) => line.includes(STARTED_LINE)).length;
  }
}

/** The one child process of pid, as the kernel lists it. */
async function onlyChild(pid: number): Promise<number> {
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, "utf8")).trim().split(/\s+/).filter(Boolean).map(Number);
  if (children.length !== 1) throw new Error(`expected one child of ${pid}, found ${children.length}`);
  return children[0]!;
}
