// The project's CRDs, installed once per run for the tests that create custom resources.
import { join } from "node:path";
import { REPO_ROOT } from "../../../dev/paths.js";
import { kubectl } from "./kubectl.js";

export const CRDS_DIR = join(REPO_ROOT, "crds");
export const EXAMPLES_DIR = join(REPO_ROOT, "examples");

let installed: Promise<void> | undefined;

export function ensureCrdsInstalled(): Promise<void> {
  installed ??= (async () => {
    await kubectl(["apply", "-f", CRDS_DIR]);
    await kubectl(["wait", "--for=condition=Established", "--timeout=60s", "-f", CRDS_DIR], { timeoutMs: 90_000 });
  })();
  return installed;
}
