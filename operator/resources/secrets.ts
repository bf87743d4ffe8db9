// The Erlang cookie and the default user. Their values come from the context (existing values, or
// fresh random ones on first creation) and never change afterwards.
import type { V1Secret } from "@kubernetes/client-node";
import type { RabbitCluster } from "../api/index.js";
import { renderDefaultUserConfig } from "../rabbitmq/config.js";
import { PORTS } from "../rabbitmq/ports.js";
import type { BuildContext } from "./context.js";
import { childMetadata, clusterNames, serviceHost } from "./names.js";

export const ERLANG_COOKIE_KEY = ".erlang.cookie";

/**
 * The credentials go with the data: while the volumes outlive the cluster (whenDeleted: Retain),
 * so do these Secrets (no owner reference, so the garbage collector leaves them), and a cluster
 * created again with the same name adopts them. Without them the retained data could not be used.
 */
function credentialsMetadata(cluster: RabbitCluster, name: string) {
  const metadata = childMetadata(cluster, name);
  if (cluster.spec.persistence.whenDeleted === "Delete") return metadata;
  const { ownerReferences: _owned, ...retained } = metadata;
  return retained;
}

export function buildErlangCookieSecret(cluster: RabbitCluster, ctx: BuildContext): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: credentialsMetadata(cluster, clusterNames(cluster).erlangCookie),
    type: "Opaque",
    data: base64Values({ [ERLANG_COOKIE_KEY]: ctx.erlangCookie }),
  };
}

/** The keys of the default-user Secret, in the shape service bindings (servicebinding.io) expect. */
export function buildDefaultUserSecret(cluster: RabbitCluster, ctx: BuildContext): V1Secret {
  const { username, password } = ctx.defaultUser;
  const host = serviceHost(cluster, ctx.clusterDomain);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: credentialsMetadata(cluster, clusterNames(cluster).defaultUser),
    type: "Opaque",
    data: base64Values({
      username,
      password,
      host,
      port: String(PORTS.amqp),
      provider: "rabbitmq",
      type: "rabbitmq",
      connection_string: `amqp://${username}:${password}@${host}:${PORTS.amqp}/`,
      management_uri: `http://${host}:${PORTS.management}`,
      "default_user.conf": renderDefaultUserConfig(username, password),
    }),
  };
}

/** Secret data as stored (base64), so that desired and observed Secrets compare directly. */
export function base64Values(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value, "utf8").toString("base64")]));
}
