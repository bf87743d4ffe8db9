// The contract between the one generic topology reconciler (reconciler.ts) and each kind
// (kinds/*.ts). A kind says how to build its desired RabbitMQ object from the custom resource
// (pure), how to observe it (one object, or from a bulk snapshot), how to compare (pure), how to
// declare and delete it. Everything else (finalizer, cluster reference, deletionPolicy, status,
// events, backoff, drift) is the generic part's business.
import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterReference, KindDefinition, ObjectMeta, TopologyStatus, User } from "../../api/index.js";
import type { ManagementClient, TopologyListing } from "../../rabbitmq/management.js";
import type { VersionedFeature } from "../../rabbitmq/versions.js";
import type { ObjectWriter } from "../../runtime/apply.js";
import type { KubeClients } from "../../runtime/clients.js";
import type { KubeObject } from "../../runtime/kube-object.js";
import type { SnapshotIndex } from "./snapshot.js";

/** What every topology custom resource has. */
export interface TopologyResource extends KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: { rabbitmqClusterReference: ClusterReference; deletionPolicy: "delete" | "retain" };
  status?: TopologyStatus;
}

/** Why something cannot be done now: a Ready=False condition's reason and message. */
export class Problem {
  constructor(
    /** CamelCase, for the condition's reason. */
    readonly reason: string,
    readonly message: string,
    /**
     * The cluster itself is gone (deleted RabbitCluster or connection Secret): there is nothing
     * left to delete the object from, so a deletion need not wait for it. A cluster that exists
     * but may not be used now (namespace not allowed or not watched) is not gone: the deletion
     * waits until it can be carried out.
     */
    readonly clusterGone = false,
  ) {}
}

/**
 * A RabbitMQ object one topology object needs or provides, so that objects waiting for a missing
 * vhost, user, queue or exchange are retried as soon as it is declared.
 */
export type TopologyRef =
  | { type: "vhost"; vhost: string }
  | { type: "user"; name: string }
  /** A User custom resource (Permission.spec.userReference). */
  | { type: "userObject"; namespace: string; name: string }
  | { type: "queue" | "exchange"; vhost: string; name: string };

export function refKey(ref: TopologyRef): string {
  switch (ref.type) {
    case "vhost":
      return `vhost\u0000${ref.vhost}`;
    case "user":
      return `user\u0000${ref.name}`;
    case "userObject":
      return `userObject\u0000${ref.namespace}\u0000${ref.name}`;
    case "queue":
    case "exchange":
      return `${ref.type}\u0000${ref.vhost}\u0000${ref.name}`;
  }
}

/** Read-only views of the caches that kinds resolve their inputs from. */
export interface TopologyLookups {
  secret(namespace: string, name: string): V1Secret | undefined;
  user(namespace: string, name: string): User | undefined;
}

/**
 * Where a kind's inputs come from. `reconcile` may write what the kind keeps in Kubernetes (a
 * User's credentials Secret); `check` (the drift detector) and `delete` only read.
 */
export interface PrepareContext {
  mode: "reconcile" | "check" | "delete";
  lookups: TopologyLookups;
  /** Only in reconcile mode. */
  writer?: ObjectWriter;
  /** Only in reconcile mode: reads past the cache (a Secret created a moment ago). */
  clients?: KubeClients;
}

/**
 * Some deletions take the operator's access to other objects with them: deleting a vhost takes
 * its permissions first, deleting the operator's own permissions in a vhost leaves it unable to
 * delete anything there ("Access refused"). Such an object is deleted in RabbitMQ only once no
 * object of the dependent kinds that needs one of its refs is left in Kubernetes.
 */
export interface DeletionOrder<R extends TopologyResource, Desired> {
  /** The RabbitMQ objects whose dependents go first. From the spec alone: the watches use it. */
  waitsFor(resource: R): TopologyRef[];
  /** The kinds of those dependents. */
  readonly dependentKinds: readonly string[];
  /** Why it waits, for the condition's message. */
  readonly because: string;
  /** Whether this object waits at all, given who the operator is in its cluster; always when absent. */
  applies?(desired: Desired, operatorUsername: string): boolean;
}

export interface TopologyAdapter<R extends TopologyResource, Desired, Observed> {
  readonly definition: KindDefinition;
  /** The bulk listings (one request each) observeInSnapshot reads. */
  readonly listings: readonly TopologyListing[];
  /** The desired object, or why it cannot be built yet (a missing Secret or User). */
  prepare(resource: R, context: PrepareContext): Desired | Problem | Promise<Desired | Problem>;
  /** How users know the object: `queue "orders" in vhost "/"`. */
  describe(desired: Desired): string;
  /** Reads the object from RabbitMQ; undefined when absent. */
  observe(client: ManagementClient, desired: Desired): Promise<Observed | undefined>;
  /** The same, from the cluster's bulk listing. */
  observeInSnapshot(snapshot: SnapshotIndex, desired: Desired): Observed | undefined;
  /** What differs between desired and observed (pure); empty when RabbitMQ has it as desired. */
  differences(desired: Desired, observed: Observed | undefined): string[];
  /** Makes RabbitMQ have desired; observed is what observe() just read. */
  declare(client: ManagementClient, desired: Desired, observed: Observed | undefined): Promise<void>;
  /** Removes the object from RabbitMQ; succeeds when it is already absent. */
  delete(client: ManagementClient, desired: Desired): Promise<void>;
  /** Whether the object is a stream, declared and deleted through the cluster's streamConnection (connection.ts). */
  isStream?(desired: Desired): boolean;
  /** When its deletion in RabbitMQ must wait until other objects of ours are gone. */
  readonly deletionOrder?: DeletionOrder<R, Desired>;
  /** Which RabbitMQ objects this one cannot exist without (read from the spec). */
  needs(resource: R): TopologyRef[];
  /** Which RabbitMQ objects this one is (read from the spec and status). */
  provides(resource: R): TopologyRef[];
  /**
   * The features it uses that only some RabbitMQ versions have (pure): judged by the version the
   * cluster reports before anything is declared (rabbitmq/versions.ts).
   */
  features?(desired: Desired): VersionedFeature[];
  /** What a Ready message should add: settings RabbitMQ accepted but does not keep. */
  caveats?(desired: Desired, observed: Observed | undefined): string[];
  /** Status fields of this kind beyond observedGeneration and conditions. */
  statusFields?(resource: R, desired: Desired | undefined): Record<string, unknown>;
  /**
   * Secrets of the object's namespace it reads besides its connection Secret (a User's credentials,
   * generated or imported): a change to one of them reconciles the object.
   */
  secretsRead?(resource: R): string[];
}
