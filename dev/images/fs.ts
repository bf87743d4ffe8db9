// File-tree helpers for image builds: copying a cached root filesystem, removing a build tree
// safely (never through a mount left inside it), hashing inputs.
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { run } from "../exec.js";

/** Mount points at or below dir, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return (
    info
      .split("\n")
      .map((line) => line.split(" ")[4] ?? "")
      // mountinfo escapes spaces and the like as octal; our build paths have none.
      .filter((target) => target === dir || target.startsWith(prefix))
      .sort((a, b) => b.length - a.length)
  );
}

/**
 * Removes a build tree. A chroot step that failed half-way can leave /proc or /sys mounted inside
 * it; `rm -rf` through such a mount would delete host files, so unmount first and refuse if that
 * does not work.
 */
export async function removeTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const target of await mountsUnder(dir)) {
    await run("umount", ["-l", target]).catch(() => undefined);
  }
  const left = await mountsUnder(dir);
  if (left.length > 0) throw new Error(`refusing to remove ${dir}: still mounted: ${left.join(", ")}`);
  await rm(dir, { recursive: true, force: true });
}

/** Copies a tree keeping owners, modes, links and device nodes. */
export async function copyTree(from: string, to: string): Promise<void> {
  await run("cp", ["-a", "--reflink=auto", from, to], { timeoutMs: 600_000 });
}

/** sha256 of a file, hex. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

/** A short, stable hash of build inputs (any JSON value). */
export function inputsHash(inputs: unknown): string {
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 16);
}
