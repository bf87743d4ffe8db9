// The client-node clients the runtime uses, made from one KubeConfig and one configuration, so
// that request middleware (metrics; request counting in tests) sees every write.
import {
  CoordinationV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubernetesObjectApi,
  ServerConfiguration,
  createConfiguration,
  type KubeConfig,
  type Middleware,
  type V1Secret,
} from "@kubernetes/client-node";
import { isNotFound } from "./errors.js";
import { KeepAliveAuthentication } from "./keep-alive.js";

export const FIELD_MANAGER = "rabbit-operator";

export interface KubeClients {
  readonly kubeConfig: KubeConfig;
  /** Any kind, by apiVersion/kind: server-side apply, delete, merge patches. */
  readonly objects: KubernetesObjectApi;
  /** Status subresources of our custom resources. */
  readonly customObjects: CustomObjectsApi;
  readonly coordination: CoordinationV1Api;
  readonly events: EventsV1Api;
}

export interface ClientOptions {
  /** Run on every request and response of these clients (not on watches and informer lists). */
  middleware?: Middleware[];
}

export function makeClients(kubeConfig: KubeConfig, options: ClientOptions = {}): KubeClients {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  // kubeConfig.makeApiClient() takes no middleware; this is what it does, plus the middleware.
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    // The kubeconfig's credentials, on connections kept open between requests (keep-alive.ts).
    authMethods: { default: new KeepAliveAuthentication(kubeConfig) },
    promiseMiddleware: options.middleware ?? [],
  });
  return {
    kubeConfig,
    // Our objects always carry their namespace, so the context's default namespace, which only
    // KubernetesObjectApi.makeApiClient() sets, never matters.
    objects: new KubernetesObjectApi(configuration),
    customObjects: new CustomObjectsApi(configuration),
    coordination: new CoordinationV1Api(configuration),
    events: new EventsV1Api(configuration),
  };
}

/** A Secret as the API server has it now (past any cache); undefined when there is none. */
export async function readSecret(clients: Pick<KubeClients, "objects">, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return (await clients.objects.read({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace } })) as V1Secret;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
