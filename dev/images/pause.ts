// The pod sandbox ("pause") program: our own, in ./pause, built with `go build` and cached by a
// hash of its source, like the tools in go-tools.ts are cached by version.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../exec.js";
import { ensureTool, type GoTool } from "../go-tools.js";
import { GO_CACHE, VERSIONS } from "../paths.js";
import { inputsHash } from "./fs.js";

const SOURCE_DIR = join(import.meta.dirname, "pause");

async function pauseTool(): Promise<GoTool> {
  const source = await Promise.all(["main.go", "go.mod"].map((file) => readFile(join(SOURCE_DIR, file), "utf8")));
  return {
    name: "pause",
    version: `${VERSIONS.pause}-${inputsHash(source)}`,
    binaries: ["pause"],
    async build(outDir) {
      await run("go", ["build", "-trimpath", "-ldflags", "-s -w", "-o", join(outDir, "pause"), "."], {
        cwd: SOURCE_DIR,
        env: { ...process.env, ...GO_CACHE, GOTOOLCHAIN: "local", CGO_ENABLED: "0", GOFLAGS: "-mod=mod" },
        timeoutMs: 600_000,
      });
    },
  };
}

/** Path of the built pause binary. */
export async function ensurePause(): Promise<string> {
  return ensureTool(await pauseTool());
}
