// The harness cleans up after runs that died: a runner SIGKILLed (or a teardown cut short)
// leaves its control plane running in process groups of their own; the next run ends them.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { startControlPlane } from "../../../dev/control-plane.js";
import { isAlive, stopProcessGroup } from "../../../dev/exec.js";
import { endLeftovers } from "../../../dev/leftovers.js";

const started: number[] = [];
afterAll(async () => {
  await Promise.all(started.map((pid) => stopProcessGroup(pid, 1_000)));
});

async function controlPlaneOfDeadRunner(): Promise<{ dir: string; pids: number[] }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "control-plane-child.ts")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the child did not start its control plane in 60 s")), 60_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once("exit", (code) => reject(new Error(`the child exited with ${code}`)));
  });
  const plane = JSON.parse(first) as { dir: string; pids: number[] };
  started.push(...plane.pids);
  child.kill("SIGKILL");
  await new Promise((resolve) => child.once("exit", resolve));
  return plane;
}

describe("leftovers of a dead runner", () => {
  it("a control plane whose runner was SIGKILLed runs on until the next run ends its processes and removes its directory", async () => {
    const plane = await controlPlaneOfDeadRunner();
    expect(plane.pids).toHaveLength(3);
    // What the runner's death leaves: this is the leak.
    expect(plane.pids.filter(isAlive)).toEqual(plane.pids);
    expect(existsSync(plane.dir)).toBe(true);

    const leftovers = await endLeftovers();

    expect(leftovers.killed).toEqual(expect.arrayContaining(plane.pids));
    await expect.poll(() => plane.pids.filter(isAlive), { timeout: 5_000 }).toEqual([]);
    expect(leftovers.removed).toContain(plane.dir.split("/").pop());
    expect(existsSync(plane.dir)).toBe(false);
  });

  it("stopping a control plane ends all three processes within 7 s even when kube-apiserver ignores SIGTERM", async () => {
    const plane = await startControlPlane({ name: `stop-bound-${process.pid}` });
    started.push(...plane.processes.map((p) => p.pid));
    const apiserver = plane.processes.find((p) => p.name === "kube-apiserver")!;
    // A stopped process cannot act on SIGTERM; only SIGKILL ends it.
    process.kill(apiserver.pid, "SIGSTOP");

    const stopping = Date.now();
    await plane.stop();
    const tookMs = Date.now() - stopping;

    expect(plane.processes.map((p) => p.pid).filter(isAlive)).toEqual([]);
    expect(existsSync(plane.dir)).toBe(false);
    expect(tookMs).toBeLessThan(7_000);
  });
});
