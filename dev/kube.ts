// Small helpers for tests that talk to a real API server: clients from a kubeconfig path, applying
// manifests, installing our CRDs, throwaway namespaces.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { ApiException, ApiextensionsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { run, waitFor } from "./exec.js";
import { KUBERNETES, ensureTool } from "./go-tools.js";
import { REPO_ROOT } from "./paths.js";

export interface KubeClients {
  kubeconfigPath: string;
  kc: KubeConfig;
  objects: KubernetesObjectApi;
  core: CoreV1Api;
  extensions: ApiextensionsV1Api;
}

export function kubeClients(kubeconfigPath: string): KubeClients {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    kubeconfigPath,
    kc,
    objects: KubernetesObjectApi.makeApiClient(kc),
    core: kc.makeApiClient(CoreV1Api),
    extensions: kc.makeApiClient(ApiextensionsV1Api),
  };
}

/** The documents of a YAML file, as objects. */
export async function readManifests(path: string): Promise<KubernetesObject[]> {
  return parseAllDocuments(await readFile(path, "utf8"))
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((doc): doc is KubernetesObject => doc !== null);
}

/** Server-side apply, as `kubectl apply --server-side` does. */
export async function apply(clients: KubeClients, object: KubernetesObject, options: { dryRun?: boolean; namespace?: string } = {}) {
  const withNamespace = options.namespace ? { ...object, metadata: { ...object.metadata, namespace: options.namespace } } : object;
  return clients.objects.patch(withNamespace, undefined, options.dryRun ? "All" : undefined, "rabbit-operator-tests", true, PatchStrategy.ServerSideApply);
}

export async function crdManifests(): Promise<KubernetesObject[]> {
  const dir = join(REPO_ROOT, "crds");
  const files = (await readdir(dir)).filter((name) => name.endsWith(".yaml")).sort();
  return (await Promise.all(files.map((file) => readManifests(join(dir, file))))).flat();
}

/** kubectl (the one built with the control plane) against the cluster of these clients. */
export async function kubectl(clients: KubeClients, args: string[], input?: string): Promise<string> {
  const binary = await ensureTool(KUBERNETES, "kubectl");
  return (await run(binary, ["--kubeconfig", clients.kubeconfigPath, ...args], { input, timeoutMs: 120_000 })).stdout;
}

/**
 * Installs crds/ and waits until every CRD is Established. Through kubectl: client-node's typed
 * serializer drops the `x-kubernetes-*` keys of a CRD schema given in wire format.
 */
export async function installCrds(clients: KubeClients): Promise<void> {
  const crds = await crdManifests();
  await kubectl(clients, ["apply", "--server-side", "--field-manager=rabbit-operator-tests", "-f", join(REPO_ROOT, "crds")]);
  await waitFor(
    "CRDs established",
    async () => {
      for (const crd of crds) {
        const current = await clients.extensions.readCustomResourceDefinition({ name: crd.metadata!.name! });
        const established = current.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
        if (!established) return false;
      }
      return true;
    },
    { timeoutMs: 30_000 },
  );
}

/** A fresh namespace with a recognisable name; delete it with the returned function. */
export async function createNamespace(clients: KubeClients, prefix: string): Promise<{ name: string; remove(): Promise<void> }> {
  const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  await clients.core.createNamespace({ body: { metadata: { name, labels: { "rabbit.operator.dev/test": "true" } } } });
  return {
    name,
    remove: async () => {
      await clients.core.deleteNamespace({ name }).catch((error: unknown) => {
        if (!(error instanceof ApiException && error.code === 404)) throw error;
      });
    },
  };
}

/** Waits until the namespace can no longer be read (the namespace controller has emptied and removed it). */
export async function waitForNamespaceGone(clients: KubeClients, name: string, timeoutMs: number): Promise<void> {
  await waitFor(
    "the namespace to be gone",
    () =>
      clients.core.readNamespace({ name }).then(
        () => false,
        () => true,
      ),
    { timeoutMs },
  );
}

/** The API server's message of a failed request ("... is invalid: spec.x: Invalid value ..."). */
export function apiErrorMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = typeof error.body === "string" ? safeJson(error.body) : error.body;
    if (body && typeof body === "object" && "message" in body && typeof body.message === "string") return body.message;
    return String(error.body);
  }
  return error instanceof Error ? error.message : String(error);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
