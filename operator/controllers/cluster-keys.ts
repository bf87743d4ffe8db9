// The key of a RabbitMQ cluster as objects name it: by RabbitCluster, or by connection Secret.
// Objects with one key are reconciled with a bound per key (per-cluster concurrency) and by one
// replica (the shard key in sharded mode): a RabbitCluster has the key of the topology declared
// in it, and a connection Secret the key of the objects that reach their cluster through it.
import { parseKey } from "../runtime/keys.js";

export function rabbitClusterKey(namespace: string, name: string): string {
  return `cluster:${namespace}/${name}`;
}

export function connectionSecretKey(namespace: string, name: string): string {
  return `secret:${namespace}/${name}`;
}

/** The key of the cluster an object "namespace/name" key names: a RabbitCluster's own, a Secret's as a connection Secret. */
export function keyAsCluster(kind: "RabbitCluster" | "Secret", objectKey: string): string {
  const { namespace, name } = parseKey(objectKey);
  return kind === "RabbitCluster" ? rabbitClusterKey(namespace, name) : connectionSecretKey(namespace, name);
}
