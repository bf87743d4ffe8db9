// Images kept as docker archives under CACHE_DIR/images/, rebuilt only when their inputs change
// (the input hash is in the file name). `kind load image-archive` takes them as they are.
import { existsSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { withLock } from "../lock.js";
import { CACHE_DIR } from "../paths.js";
import { writeDockerArchive, type ImageConfig } from "./docker-archive.js";
import { inputsHash, removeTree } from "./fs.js";
import { INPUTS_LABEL } from "./podman-images.js";

export interface ArchiveImage {
  ref: string;
  archive: string;
  /** The hash of its inputs, also in its label dev.rabbit-operator.inputs. */
  inputs: string;
}

export interface ArchiveImageRecipe {
  /** File-name prefix, e.g. "rabbitmq". */
  name: string;
  ref: string;
  /** Everything the content depends on. */
  inputs: unknown;
  /** Fills an empty rootfs directory; returns the image config. */
  build(rootfs: string): Promise<ImageConfig>;
}

export const IMAGES_DIR = join(CACHE_DIR, "images");

export async function ensureArchiveImage(recipe: ArchiveImageRecipe): Promise<ArchiveImage> {
  const hash = inputsHash({ ref: recipe.ref, inputs: recipe.inputs });
  const archive = join(IMAGES_DIR, `${recipe.name}-${hash}.tar`);
  if (existsSync(archive)) return { ref: recipe.ref, archive, inputs: hash };
  await mkdir(IMAGES_DIR, { recursive: true });
  await withLock(join(IMAGES_DIR, `${recipe.name}.lock`), async () => {
    if (existsSync(archive)) return;
    const started = Date.now();
    console.error(`dev: building image ${recipe.ref} (inputs ${hash})`);
    const rootfs = join(IMAGES_DIR, `${recipe.name}-${hash}.rootfs`);
    await removeTree(rootfs);
    await mkdir(rootfs);
    try {
      const config = await recipe.build(rootfs);
      await writeDockerArchive({
        rootfs,
        tags: [recipe.ref],
        config: { ...config, labels: { ...config.labels, [INPUTS_LABEL]: hash } },
        out: archive,
      });
    } finally {
      await removeTree(rootfs);
    }
    // Archives of earlier inputs are of no more use.
    // (Exactly this recipe's: another's name may start with this one's, rabbitmq-4.0 with rabbitmq.)
    const ofThisRecipe = new RegExp(`^${recipe.name.replace(/[.]/g, "\\.")}-[0-9a-f]{16}\\.tar$`);
    for (const file of await readdir(IMAGES_DIR)) {
      if (ofThisRecipe.test(file) && join(IMAGES_DIR, file) !== archive) await rm(join(IMAGES_DIR, file), { force: true });
    }
    console.error(`dev: image ${recipe.ref} built in ${Math.round((Date.now() - started) / 1000)} s`);
  });
  return { ref: recipe.ref, archive, inputs: hash };
}
