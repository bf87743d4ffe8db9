// Where the harness keeps what it builds, and the versions it builds. Everything lives under one
// cache directory so that a warm machine starts in seconds and a fresh one builds exactly once.
import { homedir } from "node:os";
import { join } from "node:path";

export const CACHE_DIR = process.env.RABBIT_OPERATOR_CACHE ?? join(homedir(), ".cache", "rabbit-operator");
export const BIN_CACHE = join(CACHE_DIR, "bin");
export const GO_CACHE = { GOMODCACHE: join(CACHE_DIR, "go", "mod"), GOCACHE: join(CACHE_DIR, "go", "build") };
/** Running clusters and their logs: one directory per cluster name. */
export const RUN_DIR = process.env.RABBIT_OPERATOR_RUN_DIR ?? join(CACHE_DIR, "run");

export const VERSIONS = {
  kubernetes: "v1.34.4",
  kubernetesStaging: "v0.34.4",
  etcd: "v3.6.5",
  kind: "v0.33.0",
  crictl: "v1.34.0",
  coredns: "v1.12.1",
  localPathProvisioner: "v0.0.30",
  helm: "v3.22.0",
  pause: "3.10.1",
  /** The CLI matching @pulumi/pulumi 3.248.0, the last release that runs on Node 20. */
  pulumi: "v3.248.0",
  /** The provider matching @pulumi/kubernetes 4.25.0; the proxy serves it only as a pseudo-version. */
  pulumiKubernetes: "4.25.0",
  pulumiKubernetesModule: "v4.0.0-20260115033456-f47bc2d6f199",
  /** The SDK the provider builds against: 4.24/4.25 are not served, 4.22.2 keeps sdk/v3 where it needs it. */
  pulumiKubernetesSdk: "v4.22.2",
} as const;

export const REPO_ROOT = join(import.meta.dirname, "..");
