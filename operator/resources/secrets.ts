// The Erlang cookie and the default user. Their values come from the context (existing values, or
// fresh random ones on first creation) and never change afterwards.
import type { V1Secret } from "@kubernetes/client-node";
import type { RabbitCluster } from "../api/index.js";
import { PORTS } from "../rabbitmq/ports.js";
import { renderDefaultUserConfig } from "./rabbitmq-config.js";
import type { BuildContext } from "./context.js";
import { childMetadata, clusterNames, managementUrl, serviceHost } from "./names.js";

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
      management_uri: managementUrl(host),
      "default_user.conf": renderDefaultUserConfig(username, password),
    }),
  };
}

/** A Secret's value as text (the inverse of base64Values); undefined when the key is absent or empty. */
export function secretValue(secret: V1Secret | undefined, key: string): string | undefined {
  const encoded = secret?.data?.[key];
  if (encoded !== undefined && encoded !== "") return Buffer.from(encoded, "base64").toString("utf8");
  // stringData is write-only on a real API server, but objects built in tests may carry it.
  const plain = secret?.stringData?.[key];
  return plain === undefined || plain === "" ? undefined : plain;
}

/** Secret data as stored (base64), so that desired and observed Secrets compare directly. */
export function base64Values(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value, "utf8").toString("base64")]));
}
