// kind, the way this project runs it. Here: the podman provider with our node image (no registry
// can be reached). On a machine where Docker works and a registry is reachable
// (RABBIT_OPERATOR_KIND_PROVIDER=docker): kind's default provider and stock node image.
import { stringify } from "yaml";
import { run, type RunOptions } from "./exec.js";
import { KIND, ensureTool } from "./go-tools.js";
import { KUBELET_RESOLV_CONF, POD_SUBNET } from "./images/node-files.js";

export type KindProvider = "podman" | "docker";

/** kind labels each node container with its cluster's name. */
export const KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster";

export function kindProvider(): KindProvider {
  const wanted = process.env.RABBIT_OPERATOR_KIND_PROVIDER ?? "podman";
  if (wanted !== "podman" && wanted !== "docker") throw new Error(`RABBIT_OPERATOR_KIND_PROVIDER must be podman or docker, not ${wanted}`);
  return wanted;
}

/** The container engine's CLI for a provider. */
export function engine(provider: KindProvider): string {
  return provider;
}

async function kind(provider: KindProvider, args: string[], options: RunOptions = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  // kind picks Docker unless told otherwise; the variable must not leak into Docker mode.
  if (provider === "podman") env.KIND_EXPERIMENTAL_PROVIDER = "podman";
  else delete env.KIND_EXPERIMENTAL_PROVIDER;
  return run(await ensureTool(KIND), args, { ...options, env });
}

/**
 * The cluster config. With our node image: no default CNI (the image has a bridge CNI for one
 * node), kubelet's resolv.conf from the node image's entrypoint (a nameserver where nothing
 * listens, so that CoreDNS forwards nowhere), and kube-proxy leaving the host-wide conntrack table
 * size alone. The stock node image needs none of that.
 */
export function kindConfig(provider: KindProvider, nodeImage: string | undefined): string {
  const config: Record<string, unknown> = { kind: "Cluster", apiVersion: "kind.x-k8s.io/v1alpha4" };
  if (provider === "docker") {
    config.nodes = [{ role: "control-plane", ...(nodeImage ? { image: nodeImage } : {}) }];
    return stringify(config);
  }
  config.networking = { disableDefaultCNI: true, podSubnet: POD_SUBNET };
  config.nodes = [{ role: "control-plane", image: nodeImage }];
  config.kubeadmConfigPatches = [
    stringify({ kind: "KubeletConfiguration", resolvConf: KUBELET_RESOLV_CONF }),
    stringify({ kind: "KubeProxyConfiguration", conntrack: { maxPerCore: 0 } }),
  ];
  return stringify(config);
}

export async function kindClusters(provider: KindProvider): Promise<string[]> {
  const { stdout } = await kind(provider, ["get", "clusters"]);
  return stdout
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("No kind clusters"));
}

export async function createKindCluster(provider: KindProvider, name: string, configFile: string, kubeconfig: string): Promise<string> {
  // kind removes the node containers itself when creation fails (no --retain).
  const { stdout, stderr } = await kind(provider, ["create", "cluster", `--name=${name}`, `--config=${configFile}`, `--kubeconfig=${kubeconfig}`], {
    timeoutMs: 600_000,
  });
  return stdout + stderr;
}

export async function deleteKindCluster(provider: KindProvider, name: string, kubeconfig: string): Promise<void> {
  await kind(provider, ["delete", "cluster", `--name=${name}`, `--kubeconfig=${kubeconfig}`], { timeoutMs: 300_000 });
}

/**
 * Loads the image into every node and names it there by digest too (`repo@sha256:...`), as a
 * registry would serve it, so that a pod may pin it by digest; returns that reference. (kind's
 * import names the digest `import-<date>@sha256:...` only.)
 */
export async function loadImageArchive(provider: KindProvider, name: string, archive: string, ref: string): Promise<string> {
  await kind(provider, ["load", "image-archive", archive, `--name=${name}`], { timeoutMs: 600_000 });
  const repository = ref.replace(/:[^/:]+$/, "");
  let pinned: string | undefined;
  for (const node of await nodeContainers(provider, name)) {
    const ctr = (args: string[]) => run(engine(provider), ["exec", node, "ctr", "--namespace=k8s.io", "images", ...args]);
    const digest = /\b(sha256:[0-9a-f]{64})\b/.exec((await ctr(["ls", `name==${ref}`])).stdout)?.[1];
    if (!digest) throw new Error(`image ${ref} is not in node ${node} after kind load`);
    if (pinned && pinned !== `${repository}@${digest}`) throw new Error(`image ${ref} has different digests in the nodes of ${name}`);
    pinned = `${repository}@${digest}`;
    await ctr(["tag", "--force", ref, pinned]);
  }
  if (!pinned) throw new Error(`kind cluster ${name} has no nodes to load ${ref} into`);
  return pinned;
}

/** Names of the cluster's node containers, running or not. */
export async function nodeContainers(provider: KindProvider, name: string): Promise<string[]> {
  const { stdout } = await run(engine(provider), ["ps", "-a", "--filter", `label=${KIND_CLUSTER_LABEL}=${name}`, "--format", "{{.Names}}"]);
  return stdout
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
}

/** Volumes kind's podman provider made for the cluster's nodes (labelled with the node name). */
export async function nodeVolumes(name: string): Promise<string[]> {
  const { stdout } = await run("podman", ["volume", "ls", "--quiet", "--filter", `label=${name}-control-plane=true`]);
  return stdout
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
}
