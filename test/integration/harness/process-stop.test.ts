// A harness process stopped with SIGKILL after its grace (it ignored SIGTERM) is waited for to
// the end, even when nothing else keeps the caller's event loop alive: the caller must not exit
// silently halfway through its teardown, leaving the rest (a control plane) running.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isAlive, stopProcessGroup } from "../../../dev/exec.js";

const started: number[] = [];
afterAll(async () => {
  await Promise.all(started.map((pid) => stopProcessGroup(pid, 1_000)));
});

describe("stopping a harness process", () => {
  it("a process that ignores SIGTERM is SIGKILLed after its grace and stop() returns, though nothing else keeps the caller alive", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "stop-child.ts")], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    const [first, ...rest] = output.trim().split("\n");
    const { pid } = JSON.parse(first!) as { pid: number };
    started.push(pid);
    expect(rest).toEqual(["stopped"]);
    expect(code).toBe(0);
    expect(isAlive(pid)).toBe(false);
  }, 30_000);
});
