// Running commands and long-lived processes. Every process starts in its own process group, so
// that stopping it stops its children too; waits are always bounded.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { sleep, systemClock } from "../operator/runtime/clock.js";

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  timeoutMs?: number;
  /** Stream output to this process's stderr as it comes (long builds). */
  echo?: boolean;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
    reason: string,
  ) {
    const tail = (stderr || stdout).trim().split("\n").slice(-20).join("\n");
    super(`${command}: ${reason}${tail ? `\n${tail}` : ""}`);
  }
}

/** Runs a command to completion and returns its output; throws CommandError on failure. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const display = [command, ...args].join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => {
      stdout.push(chunk);
      if (options.echo) process.stderr.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr.push(chunk);
      if (options.echo) process.stderr.write(chunk);
    });
    let timedOut = false;
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          killGroup(child, "SIGKILL");
        }, options.timeoutMs)
      : undefined;
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new CommandError(display, null, "", "", error.message));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const out = Buffer.concat(stdout).toString();
      const err = Buffer.concat(stderr).toString();
      if (timedOut) reject(new CommandError(display, code, out, err, `timed out after ${options.timeoutMs} ms`));
      else if (code !== 0) reject(new CommandError(display, code, out, err, `exited with ${code}`));
      else resolve({ stdout: out, stderr: err });
    });
    // A command that exits before reading its input closes the pipe: the write then fails with
    // EPIPE, which is no error of ours (the exit code tells what happened).
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

/** True when the command exits 0. */
export async function succeeds(command: string, args: string[], options: RunOptions = {}): Promise<boolean> {
  try {
    await run(command, args, options);
    return true;
  } catch (error) {
    if (error instanceof CommandError) return false;
    throw error;
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
  /** SIGTERM to the process group, SIGKILL after graceMs; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts a long-lived process in its own process group, its output appended to logFile. The
 * output goes straight to the file (no pipe through this process), so the process may outlive
 * the one that started it (`npm run cluster:up`).
 */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
): ManagedProcess {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const logFd = openSync(options.logFile, "a");
  const spawnOptions: SpawnOptions = { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", logFd, logFd], detached: true };
  const child = spawn(command, args, spawnOptions);
  closeSync(logFd);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const exited = new Promise<number | null>((resolve) => {
    child.on("error", () => resolve(null));
    child.on("exit", (code) => resolve(code));
  });
  // A harness process must not keep the test runner alive by itself.
  child.unref();
  return {
    name,
    pid: child.pid,
    logFile: options.logFile,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // Held while it is stopped: once the SIGKILL timer has fired, an unreferenced child would
      // leave nothing to keep this process alive, and it would exit before the exit is seen,
      // silently, with the rest of a teardown undone.
      child.ref();
      killGroup(child, "SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Stops a process group started by another process (from a state file): TERM, then KILL. */
export async function stopProcessGroup(pid: number, graceMs = 10_000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // Already gone.
    }
  };
  if (!isAlive(pid)) return;
  signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(systemClock, 100);
  if (isAlive(pid)) signal("SIGKILL");
  while (isAlive(pid)) await sleep(systemClock, 50);
}

/** Polls check until it returns true, or throws after timeoutMs with the last error. */
export async function waitFor(what: string, check: () => Promise<boolean>, { timeoutMs = 60_000, intervalMs = 250 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(systemClock, intervalMs);
  }
  const detail = lastError instanceof Error ? `: ${lastError.message}` : "";
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
}

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
