// Writes crds/<plural>.rabbit.operator.dev.yaml from operator/api. `--check` fails when crds/ is stale.
import { readFile, writeFile, readdir, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { renderCrdFiles } from "../operator/api/crd-files.js";

const dir = join(import.meta.dirname, "..", "crds");
const check = process.argv.includes("--check");
const files = renderCrdFiles();
await mkdir(dir, { recursive: true });
const stale: string[] = [];
for (const [name, content] of files) {
  const path = join(dir, name);
  const current = await readFile(path, "utf8").catch(() => "");
  if (current === content) continue;
  if (check) stale.push(name);
  else await writeFile(path, content);
}
const extra = (await readdir(dir)).filter((name) => name.endsWith(".yaml") && !files.has(name));
if (check && (stale.length > 0 || extra.length > 0)) {
  console.error(`crds/ is stale (run npm run gen:crds): ${[...stale, ...extra].join(", ")}`);
  process.exit(1);
}
console.log(check ? "crds/ is up to date" : `wrote ${files.size} CRDs to crds/`);
