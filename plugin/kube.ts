// The plugin's reads from the API server: the kubeconfig kubectl would use (KUBECONFIG or
// ~/.kube/config, --kubeconfig, --context), the namespace it would use (-n, else the context's),
// and typed reads of our resources, Secrets and pods. Every failure says which permission it needed.
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod, type V1Secret } from "@kubernetes/client-node";
import { GROUP, RABBIT_CLUSTER, VERSION, type KindDefinition, type RabbitCluster } from "../operator/api/index.js";
import type { TopologyResource } from "../operator/controllers/topology/adapter.js";
import { isNotFound } from "../operator/runtime/errors.js";
import { PluginError, kubernetesFailure } from "./errors.js";

export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface TopologyListing {
  resources: TopologyResource[];
  /** Which namespaces the listing covers: every one, the fallback one, or none (not permitted). */
  scope: "all" | "namespace" | "none";
}

interface ObjectList<T> {
  items: T[];
}

export class Kube {
  readonly kubeConfig: KubeConfig;
  /** -n, else the context's namespace, else "default" (as kubectl). */
  readonly namespace: string;
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;

  constructor(options: KubeOptions) {
    this.kubeConfig = loadKubeConfig(options);
    this.namespace = options.namespace || this.kubeConfig.getContextObject(this.kubeConfig.getCurrentContext())?.namespace || "default";
    this.core = this.kubeConfig.makeApiClient(CoreV1Api);
    this.custom = this.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async getCluster(namespace: string, name: string): Promise<RabbitCluster | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: RABBIT_CLUSTER.plural, name })) as RabbitCluster;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw kubernetesFailure(error, `reading RabbitCluster ${namespace}/${name}`, `get rabbitclusters.${GROUP} in namespace ${namespace}`);
    }
  }

  /** A namespace's clusters, or every namespace's when namespace is undefined. */
  async listClusters(namespace: string | undefined): Promise<RabbitCluster[]> {
    return this.listCustom<RabbitCluster>(RABBIT_CLUSTER, namespace);
  }

  async listCustom<T>(kind: KindDefinition, namespace: string | undefined): Promise<T[]> {
    const scope = namespace === undefined ? "in any namespace" : `in namespace ${namespace}`;
    try {
      const list = (
        namespace === undefined
          ? await this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: kind.plural })
          : await this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: kind.plural })
      ) as ObjectList<T>;
      return list.items;
    } catch (error) {
      throw kubernetesFailure(error, `listing ${kind.plural}.${GROUP} ${scope}`, `list ${kind.plural}.${GROUP} ${scope}`);
    }
  }

  /**
   * The topology objects of a kind that the user may read: every namespace's, or the given
   * namespace's when the user may not list them cluster-wide, or none (scope says which).
   */
  async listTopology(kind: KindDefinition, fallbackNamespace: string): Promise<TopologyListing> {
    try {
      return { resources: await this.listCustom<TopologyResource>(kind, undefined), scope: "all" };
    } catch {
      try {
        return { resources: await this.listCustom<TopologyResource>(kind, fallbackNamespace), scope: "namespace" };
      } catch {
        return { resources: [], scope: "none" };
      }
    }
  }

  async getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw kubernetesFailure(error, `reading Secret ${namespace}/${name}`, `get secrets in namespace ${namespace}`);
    }
  }

  async listPods(namespace: string, selector: Record<string, string>): Promise<V1Pod[]> {
    const labelSelector = Object.entries(selector)
      .map(([key, value]) => `${key}=${value}`)
      .join(",");
    try {
      return (await this.core.listNamespacedPod({ namespace, labelSelector })).items;
    } catch (error) {
      throw kubernetesFailure(error, `listing the pods of namespace ${namespace}`, `list pods in namespace ${namespace}`);
    }
  }
}

function loadKubeConfig(options: KubeOptions): KubeConfig {
  const kubeConfig = new KubeConfig();
  try {
    if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
    else kubeConfig.loadFromDefault();
  } catch (error) {
    const file = options.kubeconfig ?? process.env.KUBECONFIG ?? "~/.kube/config";
    throw new PluginError(
      `cannot read the kubeconfig ${file}: ${error instanceof Error ? error.message : String(error)}`,
      "pass --kubeconfig FILE or set KUBECONFIG",
    );
  }
  if (options.context) {
    if (!kubeConfig.getContextObject(options.context))
      throw new PluginError(`context ${options.context} is not in the kubeconfig`, "kubectl config get-contexts lists them");
    kubeConfig.setCurrentContext(options.context);
  }
  return kubeConfig;
}
