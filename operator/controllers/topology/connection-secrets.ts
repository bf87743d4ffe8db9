// A connection Secret stays while topology objects still need it to delete what they declared.
// Without it an object being deleted cannot reach its cluster, and would be let go with its
// queue or user left behind in RabbitMQ: deleting a namespace removes its Secrets at once, and
// the objects' finalizers run after. So the Secret carries a finalizer of ours for as long as an
// object that refers to it (and still holds its own finalizer) exists, and loses it after the
// last one; the Secret, a namespace being deleted, then go.
import type { V1Secret } from "@kubernetes/client-node";
import type { Informer } from "../../runtime/informer.js";
import type { ReconcileRequest, ReconcileResult, Reconciler } from "../../runtime/controller.js";
import { formatKey, keyOf } from "../../runtime/keys.js";
import type { KubeObject } from "../../runtime/kube-object.js";
import type { Logger } from "../../runtime/logger.js";
import type { ObjectWriter } from "../../runtime/apply.js";
import type { TopologyResource } from "./adapter.js";
import { TOPOLOGY_FINALIZER } from "./reconciler.js";

export const CONNECTION_SECRET_FINALIZER = "rabbit.operator.dev/connection-in-use";

/** Key of the connection Secret an object refers to, if it refers to one. */
export function connectionSecretKey(object: TopologyResource): string | undefined {
  const name = object.spec.rabbitmqClusterReference.connectionSecret?.name;
  // A connection Secret is always in the object's own namespace.
  return name ? formatKey({ namespace: object.metadata.namespace ?? "", name }) : undefined;
}

/**
 * Whether the object still needs its connection Secret: it has not been let go (its finalizer is
 * on, or a new object's first reconcile is about to put it on).
 */
export function needsConnectionSecret(object: TopologyResource): boolean {
  if (object.metadata.finalizers?.includes(TOPOLOGY_FINALIZER)) return true;
  return !object.metadata.deletionTimestamp;
}

/** Which objects need which connection Secret, kept current by the topology informers' events. */
export class ConnectionSecretUsers {
  private readonly secretOf = new Map<string, string>();
  private readonly usersOf = new Map<string, Set<string>>();

  /** onChanged: a Secret gained or lost a user (the guard looks at it again). */
  constructor(private readonly onChanged: (secretKey: string) => void) {}

  /** Follows the objects of one kind. */
  track(kind: string, informer: Pick<Informer<TopologyResource>, "addHandler">): void {
    informer.addHandler((type, object) => {
      const objectKey = `${kind} ${keyOf(object)}`;
      const secretKey = type === "delete" || !needsConnectionSecret(object) ? undefined : connectionSecretKey(object);
      this.set(objectKey, secretKey);
    });
  }

  count(secretKey: string): number {
    return this.usersOf.get(secretKey)?.size ?? 0;
  }

  private set(objectKey: string, secretKey: string | undefined): void {
    const previous = this.secretOf.get(objectKey);
    if (previous === secretKey) return;
    if (previous !== undefined) {
      const users = this.usersOf.get(previous);
      users?.delete(objectKey);
      if (users?.size === 0) this.usersOf.delete(previous);
      this.onChanged(previous);
    }
    if (secretKey === undefined) {
      this.secretOf.delete(objectKey);
      return;
    }
    this.secretOf.set(objectKey, secretKey);
    let users = this.usersOf.get(secretKey);
    if (!users) this.usersOf.set(secretKey, (users = new Set()));
    users.add(objectKey);
    this.onChanged(secretKey);
  }
}

export interface ConnectionSecretGuardOptions {
  secrets: Informer<V1Secret & KubeObject>;
  users: ConnectionSecretUsers;
  writer: ObjectWriter;
  logger: Logger;
}

export class ConnectionSecretGuard implements Reconciler {
  constructor(private readonly options: ConnectionSecretGuardOptions) {}

  /**
   * Puts the finalizer on a Secret in use (an object's reconcile calls it before declaring anything
   * through it). A Secret being deleted takes no new finalizer; the objects read it while it lasts.
   */
  async protect(namespace: string, name: string): Promise<void> {
    const secret = this.options.secrets.get(name, namespace);
    if (!secret || secret.metadata?.deletionTimestamp || secret.metadata?.finalizers?.includes(CONNECTION_SECRET_FINALIZER)) return;
    await this.options.writer.addFinalizer(secret, CONNECTION_SECRET_FINALIZER);
  }

  async reconcile(request: ReconcileRequest): Promise<ReconcileResult> {
    if (this.options.users.count(request.key) > 0) {
      await this.protect(request.namespace, request.name);
      return {};
    }
    const secret = this.options.secrets.get(request.name, request.namespace);
    if (!secret?.metadata?.finalizers?.includes(CONNECTION_SECRET_FINALIZER)) return {};
    await this.options.writer.removeFinalizer(secret, CONNECTION_SECRET_FINALIZER);
    this.options.logger.info("connection Secret no longer in use", { secret: keyOf(secret) });
    return {};
  }
}
