// The kind node image for Kubernetes v1.34.4, built here because no registry can be reached:
// Debian bookworm with systemd and containerd 1.6, our entrypoint (kind's node contract), the
// Go-built kubeadm/kubelet/kubectl/crictl, a bridge CNI, local-path storage, and every image
// kubeadm asks for preloaded. Rebuilt only when an input changes (hash in an image label).
import { copyFile, mkdir, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ensureDebianPackages } from "../debian.js";
import { run } from "../exec.js";
import { COREDNS, CRICTL, ETCD, KUBERNETES, LOCAL_PATH_PROVISIONER, ensureTool, type GoTool } from "../go-tools.js";
import { withLock } from "../lock.js";
import { CACHE_DIR, RUN_DIR, VERSIONS } from "../paths.js";
import { BUSYBOX_IMAGE, LOCAL_PATH_PROVISIONER_IMAGE, buildComponentArchives, componentInputs, kubeadmImages } from "./component-images.js";
import { copyTree, inputsHash, removeTree } from "./fs.js";
import * as files from "./node-files.js";
import { ensurePause } from "./pause.js";
import { INPUTS_LABEL, inspectImage, removeReplacedImage } from "./podman-images.js";
import { preloadImages } from "./preload.js";
import { ensureRootfs, rootfsKey } from "./rootfs.js";
import { KUBE_PROXY_ROOTFS, NODE_ROOTFS } from "./rootfs-specs.js";
import { trimRootfs } from "./trim.js";

export const NODE_IMAGE = process.env.RABBIT_OPERATOR_NODE_IMAGE ?? `localhost/rabbit-operator/kind-node:${VERSIONS.kubernetes}`;

/** Bump when the build steps below change in a way the inputs do not show. */
const RECIPE = 1;

const TOOLS: GoTool[] = [KUBERNETES, ETCD, COREDNS, LOCAL_PATH_PROVISIONER, CRICTL];

/** Every file the node image gets from us, by path in the image. */
function nodeFiles(): Record<string, { content: string; mode?: number }> {
  return {
    "usr/local/bin/entrypoint": { content: files.ENTRYPOINT, mode: 0o755 },
    "etc/containerd/config.toml": { content: files.CONTAINERD_CONFIG },
    "etc/systemd/system/containerd.service": { content: files.CONTAINERD_SERVICE },
    "etc/systemd/system/kubelet.service": { content: files.KUBELET_SERVICE },
    "etc/systemd/system/kubelet.service.d/10-kubeadm.conf": { content: files.KUBELET_KUBEADM_DROPIN },
    "etc/systemd/system/kubelet.slice": { content: files.KUBELET_SLICE },
    "etc/systemd/system/kind-undo-cgroup-hack.service": { content: files.UNDO_CGROUP_HACK_SERVICE },
    "etc/systemd/journald.conf.d/10-kind-node.conf": { content: files.JOURNALD_CONF },
    "etc/default/kubelet": { content: files.KUBELET_DEFAULTS },
    "etc/crictl.yaml": { content: files.CRICTL_CONFIG },
    "etc/cni/net.d/10-kind-bridge.conflist": { content: files.CNI_CONFLIST },
    "kind/version": { content: VERSIONS.kubernetes },
    "kind/manifests/default-storage.yaml": {
      content: files.defaultStorageManifest({ provisioner: LOCAL_PATH_PROVISIONER_IMAGE, helper: BUSYBOX_IMAGE }),
    },
  };
}

async function nodeImageInputs(): Promise<string> {
  // A rebuilt binary has a new size or mtime: enough to tell, without hashing 500 MB each time.
  const toolStamps = await Promise.all(
    TOOLS.flatMap((tool) =>
      tool.binaries.map(async (binary) => {
        const { size, mtimeMs } = await stat(await ensureTool(tool, binary));
        return `${tool.name}-${tool.version}/${binary} ${size} ${mtimeMs}`;
      }),
    ),
  );
  return inputsHash({
    recipe: RECIPE,
    rootfs: rootfsKey(NODE_ROOTFS),
    kubeProxyRootfs: rootfsKey(KUBE_PROXY_ROOTFS),
    tools: toolStamps,
    pause: await ensurePause(),
    components: await componentInputs(),
    files: nodeFiles(),
    masked: files.MASKED_UNITS,
  });
}

/** Builds the node image unless the one tagged NODE_IMAGE was built from the same inputs. */
export async function ensureNodeImage(): Promise<string> {
  await ensureDebianPackages(["podman"]);
  const inputs = await nodeImageInputs();
  if ((await inspectImage(NODE_IMAGE))?.inputs === inputs) return NODE_IMAGE;
  await mkdir(join(CACHE_DIR, "build"), { recursive: true });
  await withLock(join(CACHE_DIR, "build", "node-image.lock"), async () => {
    const existing = await inspectImage(NODE_IMAGE);
    if (existing?.inputs === inputs) return;
    const started = Date.now();
    console.error(`dev: building node image ${NODE_IMAGE} (inputs ${inputs})`);
    // Under the lock, every node-* build directory is a leftover of an interrupted build.
    for (const entry of await readdir(join(CACHE_DIR, "build"))) {
      if (entry.startsWith("node-") && !entry.endsWith(".lock")) await removeTree(join(CACHE_DIR, "build", entry));
    }
    const work = join(CACHE_DIR, "build", `node-${inputs}`);
    try {
      await buildNodeImage(work, inputs);
    } finally {
      await removeTree(work);
    }
    if (existing) await removeReplacedImage(existing.id);
    console.error(`dev: node image built in ${Math.round((Date.now() - started) / 1000)} s`);
  });
  return NODE_IMAGE;
}

async function buildNodeImage(work: string, inputs: string): Promise<void> {
  const rootfs = join(work, "rootfs");
  await mkdir(work, { recursive: true });
  await copyTree(await ensureRootfs(NODE_ROOTFS), rootfs);
  await trimRootfs(rootfs);

  for (const binary of ["kubeadm", "kubelet", "kubectl"]) {
    await copyFile(await ensureTool(KUBERNETES, binary), join(rootfs, "usr/bin", binary));
  }
  await copyFile(await ensureTool(CRICTL), join(rootfs, "usr/local/bin/crictl"));
  for (const [path, file] of Object.entries(nodeFiles())) {
    await mkdir(dirname(join(rootfs, path)), { recursive: true });
    await writeFile(join(rootfs, path), file.content, { mode: file.mode ?? 0o644 });
  }
  await configureSystemd(rootfs);
  // The entrypoint writes a fresh one at every start.
  await writeFile(join(rootfs, "etc/machine-id"), "");

  const archives = await buildComponentArchives(join(work, "images"));
  const loaded = await preloadImages(rootfs, archives, join(RUN_DIR, "image-builds", "preload-containerd.log"));
  for (const ref of [...(await kubeadmImages()).values(), LOCAL_PATH_PROVISIONER_IMAGE, BUSYBOX_IMAGE]) {
    if (!loaded.includes(ref)) throw new Error(`preloading the node image: ${ref} missing after import (have ${loaded.join(", ")})`);
  }
  await removeTree(join(work, "images"));

  // podman import: the rootfs as one layer, with the config kind's podman provider expects.
  const changes = [
    'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
    "STOPSIGNAL SIGRTMIN+3",
    "ENV container=podman",
    `LABEL ${INPUTS_LABEL}=${inputs}`,
  ].flatMap((change) => ["--change", change]);
  await run(
    "bash",
    ["-o", "pipefail", "-c", 'tar -C "$1" --numeric-owner -c . | podman import "${@:3}" - "$2"', "import-node-image", rootfs, NODE_IMAGE, ...changes],
    {
      timeoutMs: 1_800_000,
    },
  );
}

/** Enables containerd and kubelet, boots to multi-user, masks what a node container must not run. */
async function configureSystemd(rootfs: string): Promise<void> {
  const system = join(rootfs, "etc/systemd/system");
  const link = async (target: string, path: string) => {
    await mkdir(dirname(path), { recursive: true });
    await rm(path, { force: true });
    await symlink(target, path);
  };
  for (const unit of ["containerd.service", "kubelet.service", "kind-undo-cgroup-hack.service"]) {
    await link(`/etc/systemd/system/${unit}`, join(system, "multi-user.target.wants", unit));
  }
  for (const unit of files.MASKED_UNITS) await link("/dev/null", join(system, unit));
  await link("/lib/systemd/system/multi-user.target", join(system, "default.target"));
}
