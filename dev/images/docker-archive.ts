// Writes a one-layer image as a `docker save` archive (docker-archive v1.2), straight from a root
// filesystem directory. No image store is involved, so the same archive serves `kind load
// image-archive` (podman or Docker provider), `ctr images import`, `podman load` and `docker load`.
import { createHash } from "node:crypto";
import { mkdir, readdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { run } from "../exec.js";
import { removeTree, sha256File } from "./fs.js";

export interface ImageConfig {
  env?: string[];
  entrypoint?: string[];
  cmd?: string[];
  user?: string;
  workingDir?: string;
  labels?: Record<string, string>;
  stopSignal?: string;
  exposedPorts?: string[];
  volumes?: string[];
}

export interface ArchiveInput {
  rootfs: string;
  /** Full references, e.g. registry.k8s.io/pause:3.10.1 or localhost/rabbit-operator/rabbitmq:3.10.8. */
  tags: string[];
  config: ImageConfig;
  out: string;
}

/** The image config JSON (OCI image config, which Docker's loader reads too). */
function imageConfigJson(config: ImageConfig, diffId: string): string {
  const asSet = (list?: string[]) => (list ? Object.fromEntries(list.map((item) => [item, {}])) : undefined);
  return JSON.stringify({
    architecture: "amd64",
    os: "linux",
    // A fixed date keeps the config (and so the image ID) a function of the content alone.
    created: "2026-01-01T00:00:00Z",
    config: {
      Env: config.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Entrypoint: config.entrypoint,
      Cmd: config.cmd,
      User: config.user,
      WorkingDir: config.workingDir,
      Labels: config.labels,
      StopSignal: config.stopSignal,
      ExposedPorts: asSet(config.exposedPorts),
      Volumes: asSet(config.volumes),
    },
    rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] },
    history: [{ created: "2026-01-01T00:00:00Z", created_by: "rabbit-operator test harness" }],
  });
}

export async function writeDockerArchive(input: ArchiveInput): Promise<void> {
  const work = `${input.out}.work`;
  await removeTree(work);
  await mkdir(work, { recursive: true });
  try {
    // Top-level entries by name rather than ".", so that member names carry no "./" prefix.
    const entries = (await readdir(input.rootfs)).sort();
    const layerTmp = join(work, "layer.tar");
    await run("tar", ["-C", input.rootfs, "--numeric-owner", "--sort=name", "-cf", layerTmp, ...entries], { timeoutMs: 1_200_000 });
    const diffId = await sha256File(layerTmp);
    await mkdir(join(work, diffId));
    await rename(layerTmp, join(work, diffId, "layer.tar"));
    const config = imageConfigJson(input.config, diffId);
    const configId = createHash("sha256").update(config).digest("hex");
    await writeFile(join(work, `${configId}.json`), config);
    await writeFile(join(work, "manifest.json"), JSON.stringify([{ Config: `${configId}.json`, RepoTags: input.tags, Layers: [`${diffId}/layer.tar`] }]));
    await mkdir(dirname(input.out), { recursive: true });
    await run("tar", ["-C", work, "-cf", `${input.out}.tmp`, "manifest.json", `${configId}.json`, `${diffId}/layer.tar`], { timeoutMs: 1_200_000 });
    await rename(`${input.out}.tmp`, input.out);
  } finally {
    await removeTree(work);
  }
}
