// The few podman image-store operations the node image needs (other images are archives).
import { run } from "../exec.js";

export const INPUTS_LABEL = "dev.rabbit-operator.inputs";

/** The image's ID and the input hash it was built from, or undefined when it does not exist. */
export async function inspectImage(ref: string): Promise<{ id: string; inputs: string | undefined } | undefined> {
  try {
    const { stdout } = await run("podman", ["image", "inspect", "--format", "json", ref]);
    const [image] = JSON.parse(stdout) as { Id: string; Labels?: Record<string, string> | null }[];
    if (!image) return undefined;
    return { id: image.Id, inputs: image.Labels?.[INPUTS_LABEL] };
  } catch {
    return undefined;
  }
}

/** Removes an image that a rebuild left without a name; one still used by a container stays. */
export async function removeReplacedImage(id: string): Promise<void> {
  const { stdout } = await run("podman", ["image", "inspect", "--format", "{{len .RepoTags}}", id]).catch(() => ({ stdout: "" }));
  if (stdout.trim() === "0") await run("podman", ["rmi", id]).catch(() => undefined);
}
