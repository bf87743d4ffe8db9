// Debian packages the harness needs, installed idempotently: `apt-get update` runs at most once
// per process and only when something is missing. Test processes running side by side (npm test
// runs two) take turns: dpkg allows one installer at a time and refuses the other.
import { join } from "node:path";
import { run } from "./exec.js";
import { withLock } from "./lock.js";
import { CACHE_DIR } from "./paths.js";

let updated = false;

export async function missingPackages(packages: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const name of packages) {
    try {
      const { stdout } = await run("dpkg-query", ["-W", "-f=${Status}", name]);
      if (!stdout.includes("install ok installed")) missing.push(name);
    } catch {
      missing.push(name);
    }
  }
  return missing;
}

export async function ensureDebianPackages(packages: string[]): Promise<void> {
  if ((await missingPackages(packages)).length === 0) return;
  await withLock(join(CACHE_DIR, "apt.lock"), () => install(packages));
}

async function install(packages: string[]): Promise<void> {
  // Another process may have installed them while this one waited for the lock.
  const missing = await missingPackages(packages);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`Debian packages missing and not root to install them: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!updated) {
    await run("apt-get", ["update", "-q"], { env, timeoutMs: 600_000 });
    updated = true;
  }
  console.error(`dev: installing Debian packages: ${missing.join(" ")}`);
  await run("apt-get", ["install", "-y", "-q", ...missing], { env, timeoutMs: 1_800_000 });
}
