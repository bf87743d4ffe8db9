// What builders need besides the RabbitCluster itself. Everything non-deterministic (random
// secrets) or read from the cluster (existing secret values) comes in here, so builders stay pure.
import { randomBytes } from "node:crypto";

export interface DefaultUserCredentials {
  username: string;
  password: string;
}

export interface BuildContext {
  /** The Kubernetes cluster's DNS domain, for stable Erlang node names. */
  clusterDomain: string;
  /** The Erlang cookie already stored for this cluster, if any: it must never change. */
  erlangCookie: string;
  /** The default user already stored for this cluster, if any: it must never change. */
  defaultUser: DefaultUserCredentials;
  /** The cluster is being formed for the first time (no data anywhere yet): see renderPeers. */
  seeding?: boolean;
}

const URL_SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** A random string of the given length over [a-zA-Z0-9]: safe in URIs, rabbitmq.conf and shells. */
export function randomToken(length: number, bytes: (n: number) => Buffer = randomBytes): string {
  // Rejection sampling keeps every character equally likely (256 is not a multiple of 62).
  const limit = 256 - (256 % URL_SAFE.length);
  let out = "";
  while (out.length < length) {
    for (const byte of bytes(length * 2)) {
      if (byte < limit && out.length < length) out += URL_SAFE[byte % URL_SAFE.length];
    }
  }
  return out;
}

export function newErlangCookie(): string {
  return randomToken(64);
}

export function newDefaultUser(): DefaultUserCredentials {
  return { username: `default_user_${randomToken(20)}`, password: randomToken(32) };
}
