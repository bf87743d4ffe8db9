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

export const DEBIAN_SUITE = "bookworm";
/** Debian's own mirror: the one network source the build may use besides the Go and npm registries. */
export const DEBIAN_MIRROR = process.env.RABBIT_OPERATOR_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";

export interface RootfsSpec {
  /** Names the cache directory, for people looking at it. */
  name: string;
  /** Packages on top of minbase (debootstrap resolves their dependencies). */
  include: string[];
}

const STAMP = ".rabbit-operator-rootfs";

export function rootfsKey(spec: RootfsSpec): string {
  return inputsHash({ suite: DEBIAN_SUITE, mirror: DEBIAN_MIRROR, variant: "minbase", include: [...spec.include].sort() });
}

/** Directory of the cached root filesystem, built once per spec. */
export async function ensureRootfs(spec: RootfsSpec): Promise<string> {
  const dir = join(CACHE_DIR, "rootfs", `${spec.name}-${rootfsKey(spec)}`);
  if (existsSync(join(dir, STAMP))) return dir;
  await ensureDebianPackages(["debootstrap"]);
  await mkdir(join(CACHE_DIR, "rootfs"), { recursive: true });
  await withLock(`${dir}.lock`, async () => {
    if (existsSync(join(dir, STAMP))) return;
    const started = Date.now();
    console.error(`dev: debootstrap ${DEBIAN_SUITE} minbase for ${spec.name} (once per machine)`);
    const tmp = `${dir}.tmp`;
    await removeTree(tmp);
    // .debs are kept between specs, so a second rootfs downloads only what the first lacked.
    const debs = join(CACHE_DIR, "debootstrap-debs");
    await mkdir(debs, { recursive: true });
    const include = spec.include.length > 0 ? [`--include=${spec.include.join(",")}`] : [];
    try {
      await run("debootstrap", ["--variant=minbase", ...include, `--cache-dir=${debs}`, DEBIAN_SUITE, tmp, DEBIAN_MIRROR], {
        timeoutMs: 1_800_000,
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      });
    } catch (error) {
      await removeTree(tmp);
      throw error;
    }
    await writeFile(join(tmp, STAMP), JSON.stringify({ ...spec, suite: DEBIAN_SUITE, mirror: DEBIAN_MIRROR }) + "\n");
    await removeTree(dir);
    await rename(tmp, dir);
    console.error(`dev: rootfs ${spec.name} ready in ${Math.round((Date.now() - started) / 1000)} s`);
  });
  return dir;
}
