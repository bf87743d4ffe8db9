// Debian root filesystems made with `debootstrap --variant=minbase`, cached by what went into them
// (suite, mirror, packages) under CACHE_DIR/rootfs/. A cached tree is read-only by convention:
// image builders copy it before changing anything.
import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureDebianPackages } from "../debian.js";
import { run } from "../exec.js";
import { withLock } from "../lock.js";
import { CACHE_DIR } from "../paths.js";
import { inputsHash, removeTree } from "./fs.js";

/** The release the images start from, unless a spec names another. */
export const DEBIAN_SUITE = "bookworm";
/** Debian 12, and Debian 13 for what only it packages (RabbitMQ 4.0); the host's keyring has both. */
export type DebianSuite = "bookworm" | "trixie";
/** debian-archive-keyring's: it signs every release above (Debian 12's package has Debian 13's keys). */
const DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";
/** Debian's own mirror: the one network source the build may use besides the Go and npm registries. */
export const DEBIAN_MIRROR = process.env.RABBIT_OPERATOR_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";

export interface RootfsSpec {
  /** Names the cache directory, for people looking at it. */
  name: string;
  /** Packages on top of minbase (debootstrap resolves their dependencies). */
  include: string[];
  /** DEBIAN_SUITE unless given. */
  suite?: DebianSuite;
}

const STAMP = ".rabbit-operator-rootfs";

export function rootfsKey(spec: RootfsSpec): string {
  return inputsHash({ suite: spec.suite ?? DEBIAN_SUITE, mirror: DEBIAN_MIRROR, variant: "minbase", include: [...spec.include].sort() });
}

/** Directory of the cached root filesystem, built once per spec. */
export async function ensureRootfs(spec: RootfsSpec): Promise<string> {
  const dir = join(CACHE_DIR, "rootfs", `${spec.name}-${rootfsKey(spec)}`);
  if (existsSync(join(dir, STAMP))) return dir;
  await ensureDebianPackages(["debootstrap", "debian-archive-keyring"]);
  await mkdir(join(CACHE_DIR, "rootfs"), { recursive: true });
  await withLock(`${dir}.lock`, async () => {
    if (existsSync(join(dir, STAMP))) return;
    const started = Date.now();
    const suite = spec.suite ?? DEBIAN_SUITE;
    console.error(`dev: debootstrap ${suite} minbase for ${spec.name} (once per machine)`);
    const tmp = `${dir}.tmp`;
    await removeTree(tmp);
    // .debs are kept between specs, so a second rootfs downloads only what the first lacked.
    const debs = join(CACHE_DIR, suite === DEBIAN_SUITE ? "debootstrap-debs" : `debootstrap-debs-${suite}`);
    await mkdir(debs, { recursive: true });
    const include = spec.include.length > 0 ? [`--include=${spec.include.join(",")}`] : [];
    try {
      await run("debootstrap", ["--variant=minbase", ...include, `--cache-dir=${debs}`, `--keyring=${DEBIAN_KEYRING}`, suite, tmp, DEBIAN_MIRROR], {
        timeoutMs: 1_800_000,
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      });
    } catch (error) {
      await removeTree(tmp);
      throw error;
    }
    await writeFile(join(tmp, STAMP), JSON.stringify({ ...spec, suite, mirror: DEBIAN_MIRROR }) + "\n");
    await removeTree(dir);
    await rename(tmp, dir);
    console.error(`dev: rootfs ${spec.name} ready in ${Math.round((Date.now() - started) / 1000)} s`);
  });
  return dir;
}
