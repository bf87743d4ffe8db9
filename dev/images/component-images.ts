// The images a kubeadm cluster runs, built here under the exact names kubeadm asks for (no
// registry can be reached): each one layer holding a statically linked binary from the Go-built
// toolchain, kube-proxy on a small Debian root filesystem for its iptables tools. Plus the
// local-path storage provisioner and its helper (busybox, for the shell its scripts need).
import { chmod, copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureDebianPackages } from "../debian.js";
import { run } from "../exec.js";
import { COREDNS, ETCD, KUBERNETES, LOCAL_PATH_PROVISIONER, ensureTool } from "../go-tools.js";
import { VERSIONS } from "../paths.js";
import { writeDockerArchive, type ImageConfig } from "./docker-archive.js";
import { copyTree, removeTree } from "./fs.js";
import { KUBE_PROXY_WRAPPER } from "./node-files.js";
import { ensurePause } from "./pause.js";
import { ensureRootfs } from "./rootfs.js";
import { KUBE_PROXY_ROOTFS } from "./rootfs-specs.js";
import { trimRootfs } from "./trim.js";

export const LOCAL_PATH_PROVISIONER_IMAGE = `localhost/rabbit-operator/local-path-provisioner:${VERSIONS.localPathProvisioner}`;
export const BUSYBOX_IMAGE = "localhost/rabbit-operator/busybox:1.35";

const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const PASSWD = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n";
const GROUP = "root:x:0:\nnogroup:x:65534:\n";

/** The image references kubeadm will look for, by component (kube-apiserver, etcd, coredns, pause, ...). */
export async function kubeadmImages(): Promise<Map<string, string>> {
  const kubeadm = await ensureTool(KUBERNETES, "kubeadm");
  const { stdout } = await run(kubeadm, ["config", "images", "list", `--kubernetes-version=${VERSIONS.kubernetes}`]);
  const refs = new Map<string, string>();
  for (const ref of stdout
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)) {
    const component = ref.slice(ref.lastIndexOf("/") + 1).split(":")[0]!;
    refs.set(component, ref);
  }
  return refs;
}

function requireRef(refs: Map<string, string>, component: string): string {
  const ref = refs.get(component);
  if (!ref) throw new Error(`kubeadm ${VERSIONS.kubernetes} does not list an image for ${component}: ${[...refs.values()].join(", ")}`);
  return ref;
}

/** A rootfs of nothing but /etc/passwd, /etc/group, /tmp and the given files. */
async function staticRootfs(dir: string, files: { from: string; to: string }[]): Promise<void> {
  await mkdir(join(dir, "etc"), { recursive: true });
  await mkdir(join(dir, "tmp"), { recursive: true });
  await chmod(join(dir, "tmp"), 0o1777);
  await writeFile(join(dir, "etc", "passwd"), PASSWD);
  await writeFile(join(dir, "etc", "group"), GROUP);
  for (const file of files) {
    await mkdir(join(dir, file.to, ".."), { recursive: true });
    await copyFile(file.from, join(dir, file.to));
    await chmod(join(dir, file.to), 0o755);
  }
}

interface ComponentImage {
  ref: string;
  build(rootfs: string): Promise<ImageConfig>;
}

async function componentImages(): Promise<ComponentImage[]> {
  const refs = await kubeadmImages();
  const onPath =
    (binary: string, path: () => Promise<string>): ((rootfs: string) => Promise<ImageConfig>) =>
    async (rootfs) => {
      await staticRootfs(rootfs, [{ from: await path(), to: `usr/local/bin/${binary}` }]);
      return { env: [PATH_ENV] };
    };
  return [
    ...["kube-apiserver", "kube-controller-manager", "kube-scheduler"].map((binary) => ({
      ref: requireRef(refs, binary),
      build: onPath(binary, () => ensureTool(KUBERNETES, binary)),
    })),
    { ref: requireRef(refs, "etcd"), build: onPath("etcd", () => ensureTool(ETCD)) },
    {
      ref: requireRef(refs, "coredns"),
      build: async (rootfs) => {
        await staticRootfs(rootfs, [{ from: await ensureTool(COREDNS), to: "coredns" }]);
        return { entrypoint: ["/coredns"] };
      },
    },
    {
      ref: requireRef(refs, "pause"),
      build: async (rootfs) => {
        await staticRootfs(rootfs, [{ from: await ensurePause(), to: "pause" }]);
        return { entrypoint: ["/pause"] };
      },
    },
    { ref: requireRef(refs, "kube-proxy"), build: kubeProxyRootfs },
    { ref: LOCAL_PATH_PROVISIONER_IMAGE, build: onPath("local-path-provisioner", () => ensureTool(LOCAL_PATH_PROVISIONER)) },
    { ref: BUSYBOX_IMAGE, build: busyboxRootfs },
  ];
}

/** kubeadm's kube-proxy DaemonSet runs /usr/local/bin/kube-proxy: our wrapper, then the binary. */
async function kubeProxyRootfs(rootfs: string): Promise<ImageConfig> {
  await removeTree(rootfs);
  await copyTree(await ensureRootfs(KUBE_PROXY_ROOTFS), rootfs);
  await trimRootfs(rootfs);
  await mkdir(join(rootfs, "usr/local/lib/kube-proxy"), { recursive: true });
  await copyFile(await ensureTool(KUBERNETES, "kube-proxy"), join(rootfs, "usr/local/lib/kube-proxy/kube-proxy"));
  await writeFile(join(rootfs, "usr/local/bin/kube-proxy"), KUBE_PROXY_WRAPPER, { mode: 0o755 });
  return { env: [PATH_ENV] };
}

/** The host's busybox-static (a Debian package), with a link per applet. */
async function busyboxRootfs(rootfs: string): Promise<ImageConfig> {
  await ensureDebianPackages(["busybox-static"]);
  await staticRootfs(rootfs, [{ from: "/bin/busybox", to: "bin/busybox" }]);
  const { stdout } = await run("/bin/busybox", ["--list"]);
  for (const applet of stdout.split("\n").filter((name) => name && name !== "busybox")) {
    await symlink("busybox", join(rootfs, "bin", applet));
  }
  return { env: ["PATH=/bin"], cmd: ["sh"] };
}

/** Version facts that decide the component images' content, for the node image's input hash. */
export async function componentInputs(): Promise<Record<string, string>> {
  await ensureDebianPackages(["busybox-static"]);
  const { stdout: busybox } = await run("dpkg-query", ["-W", "-f=${Version}", "busybox-static"]);
  return { refs: [...(await kubeadmImages()).values()].join(","), localPath: LOCAL_PATH_PROVISIONER_IMAGE, busybox: `${BUSYBOX_IMAGE} ${busybox}` };
}

/** Builds every component image into outDir as docker archives; returns their paths. */
export async function buildComponentArchives(outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const archives: string[] = [];
  for (const image of await componentImages()) {
    const name = image.ref.replace(/[^a-zA-Z0-9.-]+/g, "_");
    const rootfs = join(outDir, `${name}.rootfs`);
    await removeTree(rootfs);
    await mkdir(rootfs, { recursive: true });
    const config = await image.build(rootfs);
    const out = join(outDir, `${name}.tar`);
    await writeDockerArchive({ rootfs, tags: [image.ref], config, out });
    await removeTree(rootfs);
    archives.push(out);
  }
  return archives;
}
