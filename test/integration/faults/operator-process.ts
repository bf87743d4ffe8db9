// The operator as users run it (operator/main.ts as its own process) against the test control
// plane, for the fault tests: started, killed and started again, its log appended to one file
// across its lives.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { waitFor } from "../../harness/exec.js";
import { REPO_ROOT } from "../../harness/paths.js";

const STARTED_LINE = '"controller started"';

export class OperatorProcess {
  private child: ChildProcess | undefined;
  private lives = 0;

  constructor(
    private readonly options: { kubeconfig: string; namespaces: string[]; logFile: string; driftPeriodSeconds?: number },
  ) {}

  /** Whether the current life is running (not exited, not killed). */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts a life and waits until its controllers run. */
  async start(): Promise<void> {
    const log = createWriteStream(this.options.logFile, { flags: "a" });
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(REPO_ROOT, "operator/main.ts"),
        `--kubeconfig=${this.options.kubeconfig}`,
        `--namespaces=${this.options.namespaces.join(",")}`,
        "--metrics-port=0",
        "--health-port=0",
        `--topology-drift-period=${this.options.driftPeriodSeconds ?? 3}`,
        "--log-level=debug",
      ],
      { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] },
    );
    child.stderr!.pipe(log);
    this.child = child;
    const before = this.lives;
    await waitFor("the operator's controllers to start", async () => (await this.startedLives()) > before, { timeoutMs: 60_000, intervalMs: 50 });
    this.lives = await this.startedLives();
  }

  /** Ends the current life with this signal (SIGKILL: no cleanup at all), at most 30 s. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }

  /** Every line logged in all lives so far. */
  async logLines(): Promise<string[]> {
    return (await readFile(this.options.logFile, "utf8").catch(() => "")).split("\n").filter(Boolean);
  }

  private async startedLives(): Promise<number> {
    return (await this.logLines()).filter((line) => line.includes(STARTED_LINE)).length;
  }
}
