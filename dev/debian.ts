// Debian packages the harness needs, installed idempotently: `apt-get update` runs at most once
// per process and only when something is missing.
import { run } from "./exec.js";

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
