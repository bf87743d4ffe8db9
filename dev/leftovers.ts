// What a test run leaves when its runner dies before it stops what it started (SIGKILL, a
// teardown cut short): processes that run on in their own process groups, and run directories.
// Every process a run starts carries the run's pid in its environment, and every run directory
// holds it in an `owner` file; the next run ends the processes of runs whose pid is gone and
// removes their directories. Clusters meant to outlive their command (`npm run cluster:up`)
// carry no owner.
import { readdirSync, readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isAlive } from "./exec.js";
import { RUN_DIR } from "./paths.js";

export const OWNER_ENV = "RABBIT_OPERATOR_RUN_OWNER";
const OWNER_FILE = "owner";

/** The environment entry that marks a process as this run's. */
export function ownedByThisRun(): NodeJS.ProcessEnv {
  return { [OWNER_ENV]: String(process.pid) };
}

/** Marks a run directory (created already) as this run's. */
export async function claimRunDir(dir: string): Promise<void> {
  await writeFile(join(dir, OWNER_FILE), String(process.pid));
}

export interface Leftovers {
  killed: number[];
  removed: string[];
}

/**
 * SIGKILLs every process whose owner run is gone, then removes every run directory whose owner
 * run is gone.
 */
export async function endLeftovers(): Promise<Leftovers> {
  const killed: number[] = [];
  for (const pid of processIds()) {
    const owner = ownerOfProcess(pid);
    if (owner === undefined || owner === process.pid || isAlive(owner)) continue;
    try {
      process.kill(pid, "SIGKILL");
      killed.push(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  const removed: string[] = [];
  for (const entry of runDirEntries()) {
    const owner = ownerOfRunDir(entry);
    if (owner === undefined || owner === process.pid || isAlive(owner)) continue;
    await rm(join(RUN_DIR, entry), { recursive: true, force: true });
    removed.push(entry);
  }
  return { killed, removed };
}

function processIds(): number[] {
  try {
    return readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number);
  } catch {
    return [];
  }
}

function ownerOfProcess(pid: number): number | undefined {
  let environ: string;
  try {
    environ = readFileSync(`/proc/${pid}/environ`, "latin1");
  } catch {
    return undefined;
  }
  const owner = new RegExp(`(?:^|\\0)${OWNER_ENV}=(\\d+)(?:\\0|$)`).exec(environ)?.[1];
  return owner === undefined ? undefined : Number(owner);
}

function runDirEntries(): string[] {
  try {
    return readdirSync(RUN_DIR);
  } catch {
    return [];
  }
}

function ownerOfRunDir(entry: string): number | undefined {
  try {
    const owner = Number(readFileSync(join(RUN_DIR, entry, OWNER_FILE), "utf8").trim());
    return Number.isInteger(owner) && owner > 0 ? owner : undefined;
  } catch {
    return undefined;
  }
}
