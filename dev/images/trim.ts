// What every image built from a Debian root filesystem leaves out: documentation, apt's caches,
// and the host files debootstrap copies in (resolv.conf would carry the host's DNS server).
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";

const EMPTIED = ["usr/share/doc", "usr/share/man", "usr/share/info", "var/lib/apt/lists", "var/cache/apt", "var/cache/debconf", "var/log", "dev", "tmp"];
const REMOVED = ["etc/resolv.conf", "etc/hostname"];

export async function trimRootfs(rootfs: string): Promise<void> {
  for (const dir of EMPTIED) {
    const path = join(rootfs, dir);
    const entries = await readdir(path).catch(() => [] as string[]);
    await Promise.all(entries.map((entry) => rm(join(path, entry), { recursive: true, force: true })));
  }
  await Promise.all(REMOVED.map((file) => rm(join(rootfs, file), { force: true })));
}
