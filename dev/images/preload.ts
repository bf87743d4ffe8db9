// Preloads images into a node root filesystem's containerd store at build time: a throwaway
// containerd of the host's (Debian's containerd 1.6, the node's own version) runs with its root
// in <rootfs>/var/lib/containerd and imports the archives without unpacking them; the node's
// containerd unpacks an image the first time a container needs it.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDebianPackages } from "../debian.js";
import { run, startProcess, succeeds, waitFor } from "../exec.js";
import { removeTree } from "./fs.js";

function containerdConfig(root: string, work: string): string {
  // Only content, metadata and snapshotters are needed: no CRI, no /opt plugin dir on the host.
  return `version = 2
root = "${root}"
state = "${join(work, "state")}"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${join(work, "containerd.sock")}"
[ttrpc]
  address = "${join(work, "containerd-ttrpc.sock")}"
[debug]
  address = ""
[metrics]
  address = ""
`;
}

/** Imports the archives into the k8s.io namespace (the one kubelet's CRI uses); returns the image names now present. */
export async function preloadImages(rootfs: string, archives: string[], logFile: string): Promise<string[]> {
  await ensureDebianPackages(["containerd"]);
  // A short path: unix socket paths are limited to 108 bytes.
  const work = await mkdtemp(join(tmpdir(), "ro-preload-"));
  const config = join(work, "config.toml");
  await writeFile(config, containerdConfig(join(rootfs, "var/lib/containerd"), work));
  const address = join(work, "containerd.sock");
  const containerd = startProcess("containerd (preload)", "containerd", ["--config", config], { logFile });
  try {
    let exited = false;
    void containerd.exited.then(() => (exited = true));
    await waitFor(
      "the preload containerd",
      async () => {
        if (exited) throw new Error(`containerd exited; see ${logFile}`);
        return succeeds("ctr", ["--address", address, "version"]);
      },
      { timeoutMs: 30_000 },
    );
    const ctr = (args: string[]) => run("ctr", ["--address", address, "--namespace", "k8s.io", ...args], { timeoutMs: 600_000 });
    for (const archive of archives) await ctr(["images", "import", "--no-unpack", "--all-platforms", archive]);
    const { stdout } = await ctr(["images", "list", "--quiet"]);
    return stdout.split("\n").filter(Boolean);
  } finally {
    await containerd.stop(15_000);
    await removeTree(work);
  }
}
