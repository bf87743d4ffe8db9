// What the e2e files share about reaching RabbitMQ in the cluster: credentials from a Secret the
// operator wrote, an AMQP URL through a local port-forward, and pod readiness.
import { kubectlJson } from "./kubectl.js";

export interface Credentials {
  username: string;
  password: string;
}

/** `username` and `password` of a Secret (a cluster's default user, a User's credentials). */
export async function readCredentials(namespace: string, secret: string): Promise<Credentials> {
  const { data } = await kubectlJson<{ data: Record<string, string> }>(["-n", namespace, "get", "secret", secret]);
  const decode = (key: string) => Buffer.from(data[key]!, "base64").toString("utf8");
  return { username: decode("username"), password: decode("password") };
}

/** An AMQP URL to a port-forward on 127.0.0.1; the default vhost unless one is named. */
export function localAmqpUrl(credentials: Credentials, localPort: number, vhost?: string): string {
  const path = vhost === undefined ? "" : `/${encodeURIComponent(vhost)}`;
  return `amqp://${encodeURIComponent(credentials.username)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${localPort}${path}`;
}

export interface PodReadiness {
  metadata: { deletionTimestamp?: string };
  status: { conditions?: { type: string; status: string }[] };
}

/** Ready and not on its way out: a terminating pod can still report Ready. */
export function podReady(pod: PodReadiness): boolean {
  return !pod.metadata.deletionTimestamp && (pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false);
}
