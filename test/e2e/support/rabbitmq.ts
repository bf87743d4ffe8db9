// What the e2e files share about reaching RabbitMQ in the cluster: credentials from a Secret the
// operator wrote, an AMQP URL or a management client through a local port-forward, and readiness
// of pods and of our objects.
import { inject } from "vitest";
import { ManagementClient } from "../../../operator/rabbitmq/management.js";
import { managementUrl } from "../../../operator/resources/names.js";
import { secretValue } from "../../../operator/resources/secrets.js";
import type { V1Secret } from "@kubernetes/client-node";
import { kubectlOn } from "./kubectl.js";

export interface Credentials {
  username: string;
  password: string;
}

/** `username` and `password` of a Secret (a cluster's default user, a User's credentials); the e2e cluster unless another is named. */
export async function readCredentials(namespace: string, secret: string, kubeconfig: string = inject("kubeconfig")): Promise<Credentials> {
  const stored = await kubectlOn(kubeconfig).kubectlJson<V1Secret>(["-n", namespace, "get", "secret", secret]);
  const decode = (key: string) => {
    const value = secretValue(stored, key);
    if (value === undefined) throw new Error(`Secret ${namespace}/${secret} has no ${key}`);
    return value;
  };
  return { username: decode("username"), password: decode("password") };
}

/** An AMQP URL to a port-forward on 127.0.0.1; the default vhost unless one is named. */
export function localAmqpUrl(credentials: Credentials, localPort: number, vhost?: string): string {
  const path = vhost === undefined ? "" : `/${encodeURIComponent(vhost)}`;
  return `amqp://${encodeURIComponent(credentials.username)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${localPort}${path}`;
}

/** A management API client through a port-forward on 127.0.0.1. */
export function localManagement(credentials: Credentials, localPort: number): ManagementClient {
  return new ManagementClient({ url: managementUrl("127.0.0.1", localPort), ...credentials });
}

export interface PodReadiness {
  metadata: { deletionTimestamp?: string };
  status: { conditions?: { type: string; status: string }[] };
}

/** Ready and not on its way out: a terminating pod can still report Ready. */
export function podReady(pod: PodReadiness): boolean {
  return !pod.metadata.deletionTimestamp && (pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false);
}

/** A RabbitCluster or topology object as kubectl lists it. */
export interface Resource {
  kind: string;
  metadata: { name: string; finalizers?: string[]; deletionTimestamp?: string };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** Whether its Ready condition is True. */
export function readyOf(resource: Resource): boolean {
  return resource.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}
