// A cross-process lock on a directory, so that two test processes never build the same thing at
// once. A lock left by a dead process is taken over.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { sleep, systemClock } from "../operator/runtime/clock.js";
import { isAlive } from "./exec.js";

export async function withLock<T>(path: string, body: () => Promise<T>, timeoutMs = 3_600_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  await mkdir(dirname(path), { recursive: true });
  for (;;) {
    try {
      await mkdir(path, { recursive: false });
      await writeFile(`${path}/pid`, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number(await readFile(`${path}/pid`, "utf8").catch(() => "0"));
      if (owner > 0 && !isAlive(owner)) {
        await rm(path, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${path} held by pid ${owner}`);
      await sleep(systemClock, 1000);
    }
  }
  try {
    return await body();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}
