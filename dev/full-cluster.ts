// The `full` profile: a kind cluster with our RabbitMQ and operator images loaded. Here kind runs
// on podman from our node image, behind the egress fence; with RABBIT_OPERATOR_KIND_PROVIDER=docker
// on a machine with a registry, on Docker from kind's stock node image. Same function, same
// kubeconfig path (RUN_DIR/<name>/kubeconfig). A state file in RUN_DIR/<name>/ lets another
// process (the CLI) find the cluster and stop it.
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { V1NodeCondition } from "@kubernetes/client-node";
import { run, waitFor } from "./exec.js";
import { KUBERNETES, ensureTool } from "./go-tools.js";
import { applyEgressFence, assertFenced, fenceStatus, inspectKindNetwork, prepareHost, type FenceStatus } from "./host.js";
import type { ArchiveImage } from "./images/archive-image.js";
import { ensureNodeImage } from "./images/node-image.js";
import { ensureOperatorImage } from "./images/operator-image.js";
import { ensureRabbitmqImage } from "./images/rabbitmq-image.js";
import {
  createKindCluster,
  deleteKindCluster,
  engine,
  kindClusters,
  kindConfig,
  kindProvider,
  loadImageArchive,
  nodeContainers,
  nodeVolumes,
  type KindProvider,
} from "./kind.js";
import { RUN_DIR } from "./paths.js";

export type FullClusterImage = "rabbitmq" | "operator";

export interface FullClusterOptions {
  /** kind cluster name ([a-z0-9-]); also the run directory's name. */
  name?: string;
  /** Images to build and load; default from RABBIT_OPERATOR_FULL_IMAGES, else both. */
  images?: FullClusterImage[];
  /** Bound on the wait for the node, CoreDNS and storage after `kind create cluster`. */
  readyTimeoutMs?: number;
}

export interface FullCluster {
  name: string;
  provider: KindProvider;
  kubeconfig: string;
  /** Image references loaded into the cluster, by image. */
  images: Partial<Record<FullClusterImage, string>>;
  /** The same images by digest (`repo@sha256:...`), as a registry would serve them. */
  pinnedImages: Partial<Record<FullClusterImage, string>>;
  /** Milliseconds per phase of the start. */
  timings: Record<string, number>;
  stop(): Promise<void>;
}

interface FullClusterState {
  name: string;
  provider: KindProvider;
  kubeconfig: string;
  nodeImage: string | null;
  images: Partial<Record<FullClusterImage, string>>;
  pinnedImages?: Partial<Record<FullClusterImage, string>>;
  createdAt: string;
  createdByPid: number;
}

export function fullClusterDir(name: string): string {
  return join(RUN_DIR, name);
}

const statePath = (name: string) => join(fullClusterDir(name), "state.json");

export async function readFullClusterState(name: string): Promise<FullClusterState | undefined> {
  if (!existsSync(statePath(name))) return undefined;
  return JSON.parse(await readFile(statePath(name), "utf8")) as FullClusterState;
}

function defaultImages(): FullClusterImage[] {
  const wanted = (process.env.RABBIT_OPERATOR_FULL_IMAGES ?? "rabbitmq,operator")
    .split(",")
    .map((image) => image.trim())
    .filter(Boolean);
  for (const image of wanted) {
    if (image !== "rabbitmq" && image !== "operator") throw new Error(`RABBIT_OPERATOR_FULL_IMAGES: unknown image ${image} (rabbitmq, operator)`);
  }
  return wanted as FullClusterImage[];
}

const IMAGE_BUILDERS: Record<FullClusterImage, () => Promise<ArchiveImage>> = { rabbitmq: () => ensureRabbitmqImage(), operator: ensureOperatorImage };

export async function startFullCluster(options: FullClusterOptions = {}): Promise<FullCluster> {
  const name = options.name ?? `full-${process.pid}`;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`cluster name ${name}: use lower-case letters, digits and dashes`);
  const provider = kindProvider();
  const dir = fullClusterDir(name);
  const kubeconfig = join(dir, "kubeconfig");
  const timings: Record<string, number> = {};
  const timed = async <T>(phase: string, body: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await body();
    } finally {
      timings[phase] = Date.now() - started;
    }
  };
  const handle = (images: FullCluster["images"], pinnedImages: FullCluster["pinnedImages"]): FullCluster => ({
    name,
    provider,
    kubeconfig,
    images,
    pinnedImages,
    timings,
    stop: () => stopFullCluster(name),
  });

  // Nothing is created before the fence is known to be in place.
  if (provider === "podman") {
    const network = await timed("host", prepareHost);
    await assertFenced(network);
  }

  const existing = await readFullClusterState(name);
  const running = (await kindClusters(provider)).includes(name);
  if (existing && running) {
    await timed("ready", () => waitForFullClusterReady(kubeconfig, options.readyTimeoutMs));
    return handle(existing.images, existing.pinnedImages ?? {});
  }
  if (running) throw new Error(`a kind cluster named ${name} exists that this harness did not start (no ${statePath(name)}); delete it or pick another name`);
  if (existing) await stopFullCluster(name);

  const wanted = options.images ?? defaultImages();
  const nodeImage = provider === "podman" ? await timed("node image", ensureNodeImage) : (process.env.RABBIT_OPERATOR_NODE_IMAGE ?? null);
  const archives: ArchiveImage[] = [];
  for (const image of wanted) archives.push(await timed(`${image} image`, IMAGE_BUILDERS[image]));
  const images = Object.fromEntries(wanted.map((image, i) => [image, archives[i]!.ref])) as FullCluster["images"];

  await mkdir(join(dir, "logs"), { recursive: true });
  const state: FullClusterState = { name, provider, kubeconfig, nodeImage, images, createdAt: new Date().toISOString(), createdByPid: process.pid };
  // Written before anything exists, so that a stop from anywhere finds even a half-made cluster.
  await writeFile(statePath(name), JSON.stringify(state, null, 2) + "\n");
  const configFile = join(dir, "kind-config.yaml");
  await writeFile(configFile, kindConfig(provider, nodeImage ?? undefined));

  try {
    const output = await timed("kind create", () => createKindCluster(provider, name, configFile, kubeconfig));
    await writeFile(join(dir, "logs", "kind-create.log"), output);
    if (provider === "podman") {
      // podman added its own rules for the new container: ours must still come first.
      const network = await inspectKindNetwork();
      if (!network) throw new Error(`podman network disappeared while creating ${name}`);
      await applyEgressFence(network);
      await assertFenced(network);
    }
    for (const [i, archive] of archives.entries()) {
      state.pinnedImages = {
        ...state.pinnedImages,
        [wanted[i]!]: await timed(`load ${archive.ref}`, () => loadImageArchive(provider, name, archive.archive, archive.ref)),
      };
    }
    await writeFile(statePath(name), JSON.stringify(state, null, 2) + "\n");
    await timed("ready", () => waitForFullClusterReady(kubeconfig, options.readyTimeoutMs));
  } catch (error) {
    await writeFile(join(dir, "logs", "start-error.log"), String(error instanceof Error ? error.stack : error)).catch(() => undefined);
    await stopFullCluster(name, { keepLogs: true }).catch((stopError: unknown) => console.error(`dev: cleaning up ${name} failed too: ${String(stopError)}`));
    console.error(`dev: starting ${name} failed; logs kept in ${join(dir, "logs")}`);
    throw error;
  }
  return handle(images, state.pinnedImages ?? {});
}

/**
 * Deletes the kind cluster, then anything of it kind left behind (containers, volumes), then its
 * run directory (but its logs/ when keepLogs is set: after a failed start).
 */
export async function stopFullCluster(name: string, { keepLogs = false } = {}): Promise<void> {
  const state = await readFullClusterState(name);
  const provider = state?.provider ?? kindProvider();
  const kubeconfig = state?.kubeconfig ?? join(fullClusterDir(name), "kubeconfig");
  if ((await kindClusters(provider)).includes(name)) {
    if (!state) throw new Error(`kind cluster ${name} was not started by this harness (no ${statePath(name)}); not deleting it`);
    await deleteKindCluster(provider, name, kubeconfig);
  }
  const containers = await nodeContainers(provider, name);
  if (containers.length > 0) await run(engine(provider), ["rm", "--force", "--volumes", ...containers], { timeoutMs: 120_000 });
  if (provider === "podman") {
    const volumes = await nodeVolumes(name);
    if (volumes.length > 0) await run("podman", ["volume", "rm", "--force", ...volumes]);
  }
  const left = await nodeContainers(provider, name);
  if (left.length > 0) throw new Error(`containers of cluster ${name} are still there: ${left.join(", ")}`);
  if (!keepLogs) {
    await rm(fullClusterDir(name), { recursive: true, force: true });
    return;
  }
  for (const entry of await readdir(fullClusterDir(name)).catch(() => [] as string[])) {
    if (entry !== "logs") await rm(join(fullClusterDir(name), entry), { recursive: true, force: true });
  }
}

// ---- readiness -----------------------------------------------------------------------------

async function kubectlJson<T>(kubeconfig: string, args: string[]): Promise<T> {
  const kubectl = await ensureTool(KUBERNETES, "kubectl");
  const { stdout } = await run(kubectl, [`--kubeconfig=${kubeconfig}`, ...args, "-o", "json"], { timeoutMs: 30_000 });
  return JSON.parse(stdout) as T;
}

interface Readiness {
  node: boolean;
  coredns: boolean;
  defaultStorageClass: boolean;
  storageProvisioner: boolean;
}

/** What is ready, each piece on its own (a piece that cannot be read is not ready). */
export async function readiness(kubeconfig: string): Promise<Readiness> {
  const attempt = async (check: () => Promise<boolean>) => check().catch(() => false);
  const deploymentAvailable = (namespace: string, name: string) =>
    attempt(async () => {
      const deployment = await kubectlJson<{ spec: { replicas?: number }; status: { availableReplicas?: number } }>(kubeconfig, [
        "-n",
        namespace,
        "get",
        "deployment",
        name,
      ]);
      return (deployment.status.availableReplicas ?? 0) >= (deployment.spec.replicas ?? 1);
    });
  const [node, coredns, defaultStorageClass, storageProvisioner] = await Promise.all([
    attempt(async () => {
      const nodes = await kubectlJson<{ items: { status: { conditions?: Pick<V1NodeCondition, "type" | "status">[] } }[] }>(kubeconfig, ["get", "nodes"]);
      return nodes.items.length > 0 && nodes.items.every((n) => n.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
    }),
    deploymentAvailable("kube-system", "coredns"),
    attempt(async () => {
      const classes = await kubectlJson<{ items: { metadata: { annotations?: Record<string, string> } }[] }>(kubeconfig, ["get", "storageclasses"]);
      return classes.items.some((c) => c.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true");
    }),
    // kind's stock image and ours both run local-path-provisioner under this name.
    deploymentAvailable("local-path-storage", "local-path-provisioner"),
  ]);
  return { node, coredns, defaultStorageClass, storageProvisioner };
}

const PIECES: Record<keyof Readiness, string> = {
  node: "the node to be Ready",
  coredns: "CoreDNS (kube-system/coredns) to be available",
  defaultStorageClass: "a default StorageClass",
  storageProvisioner: "the storage provisioner (local-path-storage/local-path-provisioner) to be available",
};

/** Waits, within one bound, until every piece is ready; the error names what is not, with the pods as they are. */
export async function waitForFullClusterReady(kubeconfig: string, timeoutMs = 180_000): Promise<void> {
  let last: Readiness | undefined;
  try {
    await waitFor(
      "the full cluster",
      async () => {
        last = await readiness(kubeconfig);
        return Object.values(last).every(Boolean);
      },
      { timeoutMs, intervalMs: 1000 },
    );
  } catch {
    const missing = Object.entries(last ?? {})
      .filter(([, ready]) => !ready)
      .map(([piece]) => PIECES[piece as keyof Readiness]);
    const kubectl = await ensureTool(KUBERNETES, "kubectl");
    const pods = await run(kubectl, [`--kubeconfig=${kubeconfig}`, "get", "pods", "-A", "-o", "wide"], { timeoutMs: 30_000 }).then(
      (r) => r.stdout,
      (e: unknown) => String(e),
    );
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${missing.join(", ") || "the API server"}\npods:\n${pods}`);
  }
}

// ---- status --------------------------------------------------------------------------------

export interface FullClusterStatus {
  name: string;
  /** Started by this harness and still there. */
  running: boolean;
  provider: KindProvider;
  kubeconfig?: string;
  containers: string[];
  readiness?: Readiness;
  /** podman only: the egress fence as the rules say. */
  fence?: FenceStatus;
  images?: FullCluster["images"];
  pinnedImages?: FullCluster["pinnedImages"];
}

/** The state of a full cluster by name, for `cluster:status`; reads, never changes anything. */
export async function fullClusterStatus(name: string): Promise<FullClusterStatus> {
  const state = await readFullClusterState(name);
  const provider = state?.provider ?? kindProvider();
  const exists = (await kindClusters(provider)).includes(name);
  const containers = await nodeContainers(provider, name);
  const status: FullClusterStatus = { name, running: Boolean(state) && exists, provider, containers };
  if (!state) return status;
  status.kubeconfig = state.kubeconfig;
  status.images = state.images;
  if (state.pinnedImages) status.pinnedImages = state.pinnedImages;
  if (exists) status.readiness = await readiness(state.kubeconfig);
  if (provider === "podman") status.fence = await fenceStatus();
  return status;
}

/** Names of the full clusters this harness has state for. */
export async function fullClusterNames(): Promise<string[]> {
  const entries = await readdir(RUN_DIR).catch(() => [] as string[]);
  return entries.filter((entry) => existsSync(statePath(entry)));
}
