// Tools built from pinned Go modules (no binary downloads are possible here), cached by version
// under BIN_CACHE/<tool>-<version>/. A build runs once per machine; later calls only check the
// directory. Build caches (GOMODCACHE, GOCACHE) live in the same cache directory.
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "./exec.js";
import { withLock } from "./lock.js";
import { BIN_CACHE, CACHE_DIR, GO_CACHE, VERSIONS } from "./paths.js";

export interface GoTool {
  name: string;
  version: string;
  binaries: string[];
  /** Builds the binaries into outDir. */
  build(outDir: string): Promise<void>;
}

function goEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...GO_CACHE, GOTOOLCHAIN: "local", CGO_ENABLED: "0", GOFLAGS: "-mod=mod", ...extra };
}

const go = (args: string[], cwd?: string, env?: Record<string, string>) => run("go", args, { cwd, env: goEnv(env), timeoutMs: 3_600_000 });

/** A tool `go install`ed from its own module. */
function goInstall(name: string, version: string, pkg: string, ldflags = ""): GoTool {
  const binary = pkg.split("/").pop()!;
  return {
    name,
    version,
    binaries: [binary],
    build: async (outDir) => {
      await go(["install", "-trimpath", "-ldflags", `-s -w ${ldflags}`, `${pkg}@${version}`], undefined, { GOBIN: outDir });
    },
  };
}

/** A wrapper module, for modules that cannot be `go install`ed (replace directives, no main at root). */
async function wrapperModule(name: string, modulePath: string): Promise<string> {
  const dir = join(CACHE_DIR, "modules", name);
  await mkdir(dir, { recursive: true });
  if (!existsSync(join(dir, "go.mod"))) await go(["mod", "init", modulePath], dir);
  return dir;
}

export const KUBERNETES: GoTool = {
  name: "kubernetes",
  version: VERSIONS.kubernetes,
  binaries: ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "kubelet", "kubeadm", "kubectl"],
  async build(outDir) {
    const v = VERSIONS.kubernetes;
    const dir = await wrapperModule(`kubernetes-${v}`, "local/k8sbin");
    // k8s.io/kubernetes replaces every staging module with a local path; point them at the
    // published versions instead.
    const { stdout } = await go(["mod", "download", "-json", `k8s.io/kubernetes@${v}`], dir);
    const goMod = await readFile((JSON.parse(stdout) as { GoMod: string }).GoMod, "utf8");
    const goVersion = /^go (\S+)$/m.exec(goMod)?.[1];
    if (!goVersion) throw new Error("no go directive in k8s.io/kubernetes's go.mod");
    const replaces = [...goMod.matchAll(/^\s+(k8s\.io\/[a-z0-9-]+) v0\.0\.0$/gm)].map((m) => `-replace=${m[1]}=${m[1]}@${VERSIONS.kubernetesStaging}`);
    await go(["mod", "edit", `-go=${goVersion}`, ...replaces], dir);
    await go(["get", `k8s.io/kubernetes@${v}`], dir);
    const minor = v.split(".")[1];
    const stamp = ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"].flatMap((p) => [
      `-X ${p}.gitVersion=${v}`,
      `-X ${p}.gitMajor=1`,
      `-X ${p}.gitMinor=${minor}`,
      `-X ${p}.gitTreeState=clean`,
      `-X ${p}.buildDate=2026-01-01T00:00:00Z`,
    ]);
    await go(
      ["build", "-trimpath", "-ldflags", `-s -w ${stamp.join(" ")}`, "-o", `${outDir}/`, ...this.binaries.map((b) => `k8s.io/kubernetes/cmd/${b}`)],
      dir,
    );
  },
};

export const ETCD: GoTool = {
  name: "etcd",
  version: VERSIONS.etcd,
  binaries: ["etcd"],
  async build(outDir) {
    const dir = await wrapperModule(`etcd-${VERSIONS.etcd}`, "local/etcdbin");
    await go(["get", `go.etcd.io/etcd/server/v3@${VERSIONS.etcd}`], dir);
    await go(["build", "-trimpath", "-ldflags", "-s -w", "-o", join(outDir, "etcd"), "go.etcd.io/etcd/server/v3"], dir);
  },
};

export const KIND = goInstall("kind", VERSIONS.kind, "sigs.k8s.io/kind");
export const CRICTL = goInstall("crictl", VERSIONS.crictl, "sigs.k8s.io/cri-tools/cmd/crictl");
export const HELM = goInstall("helm", VERSIONS.helm, "helm.sh/helm/v3/cmd/helm", `-X helm.sh/helm/v3/internal/version.version=${VERSIONS.helm}`);
export const LOCAL_PATH_PROVISIONER = goInstall("local-path-provisioner", VERSIONS.localPathProvisioner, "github.com/rancher/local-path-provisioner");
export const COREDNS = goInstall("coredns", VERSIONS.coredns, "github.com/coredns/coredns");

/**
 * The Pulumi CLI. Stamped with its version: the Automation API parses `pulumi version` and
 * refuses an unstamped build. The replace directive is the one pulumi/pkg's own go.mod carries.
 */
export const PULUMI: GoTool = {
  name: "pulumi",
  version: VERSIONS.pulumi,
  binaries: ["pulumi"],
  async build(outDir) {
    const v = VERSIONS.pulumi;
    const dir = await wrapperModule(`pulumi-${v}`, "local/pulumibin");
    await writeFile(join(dir, "tools.go"), '//go:build tools\n\npackage tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n');
    await go(["mod", "edit", "-replace=github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e"], dir);
    await go(["get", `github.com/pulumi/pulumi/pkg/v3@${v}`, `github.com/pulumi/pulumi/sdk/v3@${v}`], dir);
    const ldflags = `-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${v}`;
    await go(
      ["build", "-trimpath", "-tags", "osusergo,grpcnotrace", "-ldflags", ldflags, "-o", join(outDir, "pulumi"), "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"],
      dir,
    );
  },
};

/**
 * The Kubernetes resource provider, used as an ambient plugin from PATH (nothing is downloaded).
 * Built inside a writable copy of its module: `go generate` writes the embedded schema first.
 */
export const PULUMI_KUBERNETES: GoTool = {
  name: "pulumi-resource-kubernetes",
  version: VERSIONS.pulumiKubernetes,
  binaries: ["pulumi-resource-kubernetes"],
  async build(outDir) {
    const modulePath = "github.com/pulumi/pulumi-kubernetes/provider/v4";
    const scratch = await wrapperModule(`pulumi-kubernetes-download`, "local/pulumikubernetesdownload");
    const { stdout } = await go(["mod", "download", "-json", `${modulePath}@${VERSIONS.pulumiKubernetesModule}`], scratch);
    const source = (JSON.parse(stdout) as { Dir: string }).Dir;
    const dir = join(CACHE_DIR, "modules", `pulumi-kubernetes-${VERSIONS.pulumiKubernetes}`);
    await rm(dir, { recursive: true, force: true });
    await run("cp", ["-r", source, dir]);
    await run("chmod", ["-R", "u+w", dir]);
    await go(
      [
        "mod",
        "edit",
        "-dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4",
        `-require=github.com/pulumi/pulumi-kubernetes/sdk/v4@${VERSIONS.pulumiKubernetesSdk}`,
      ],
      dir,
    );
    await go(["generate", "./cmd/pulumi-resource-kubernetes/main.go"], dir, { VERSION: VERSIONS.pulumiKubernetes });
    const ldflags = `-s -w -X ${modulePath}/pkg/version.Version=${VERSIONS.pulumiKubernetes}`;
    await go(["build", "-trimpath", "-ldflags", ldflags, "-o", join(outDir, "pulumi-resource-kubernetes"), "./cmd/pulumi-resource-kubernetes"], dir);
  },
};

export function toolDir(tool: GoTool): string {
  return join(BIN_CACHE, `${tool.name}-${tool.version}`);
}

/** Path of a binary of the tool, building the tool first when it is not cached. */
export async function ensureTool(tool: GoTool, binary: string = tool.binaries[0]!): Promise<string> {
  const dir = toolDir(tool);
  const path = join(dir, binary);
  if (existsSync(path)) return path;
  await mkdir(BIN_CACHE, { recursive: true });
  await withLock(`${dir}.lock`, async () => {
    if (existsSync(path)) return;
    const started = Date.now();
    console.error(`dev: building ${tool.name} ${tool.version} from Go modules (once per machine)`);
    const tmp = `${dir}.tmp`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    await tool.build(tmp);
    for (const b of tool.binaries) {
      if (!existsSync(join(tmp, b))) throw new Error(`building ${tool.name}: ${b} was not produced`);
    }
    await writeFile(join(tmp, ".built"), new Date().toISOString());
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    console.error(`dev: built ${tool.name} in ${Math.round((Date.now() - started) / 1000)} s`);
  });
  return path;
}

/** helm built without Kubernetes version stamps assumes v1.20; name the version we run. */
export const HELM_KUBE_VERSION = VERSIONS.kubernetes.slice(1);
