// Schema pieces shared by several kinds.
import type { V1ManagedFieldsEntry, V1OwnerReference } from "@kubernetes/client-node";
import { Type, type Static } from "@sinclair/typebox";
import { StringEnum, immutable, validations } from "./schema.js";

export const GROUP = "rabbit.operator.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Kubernetes object names (DNS-1123 subdomain). */
export const ObjectName = (description: string) => Type.String({ description, minLength: 1, maxLength: 253, pattern: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$" });

/** What a policy applies to (classic_queues, quorum_queues and streams need RabbitMQ 3.12+). */
export const POLICY_APPLY_TO = ["queues", "exchanges", "all", "classic_queues", "quorum_queues", "streams"] as const;
export type PolicyApplyTo = (typeof POLICY_APPLY_TO)[number];

export const ConditionStatus = StringEnum(["True", "False", "Unknown"] as const, {
  description: "Status of the condition: True, False or Unknown.",
});

/** The metav1.Condition shape. */
export const Condition = Type.Object(
  {
    type: Type.String({ description: "Type of the condition, in CamelCase (Ready, ReconcileSuccess, ...).", maxLength: 316 }),
    status: ConditionStatus,
    observedGeneration: Type.Optional(Type.Integer({ description: "The .metadata.generation the condition was set from.", minimum: 0, format: "int64" })),
    lastTransitionTime: Type.String({
      description: "When the condition last changed from one status to another.",
      format: "date-time",
    }),
    reason: Type.String({
      description: "A programmatic identifier for the condition's last transition, in CamelCase.",
      maxLength: 1024,
    }),
    message: Type.String({ description: "A human readable message with details about the transition.", maxLength: 32768 }),
  },
  { description: "One aspect of the object's current state." },
);
export type Condition = Static<typeof Condition>;

export const Conditions = Type.Array(Condition, {
  description: "The latest observations of the object's state.",
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": ["type"],
});

export const ObservedGeneration = Type.Integer({
  description: "The .metadata.generation that the operator last reconciled successfully.",
  minimum: 0,
  format: "int64",
});

export const LocalObjectReference = (description: string) => Type.Object({ name: ObjectName("Name of the object in the same namespace.") }, { description });

/**
 * Which RabbitMQ cluster a topology object lives in: a RabbitCluster managed by this operator, or
 * an external cluster given by a Secret with `uri`, `username` and `password`.
 */
export const ClusterReference = Type.Object(
  {
    name: Type.Optional(ObjectName("Name of a RabbitCluster. Mutually exclusive with connectionSecret.")),
    namespace: Type.Optional(
      ObjectName(
        "Namespace of the RabbitCluster; defaults to the namespace of this object. Another namespace must be allowed by the cluster's `rabbit.operator.dev/topology-allowed-namespaces` annotation.",
      ),
    ),
    connectionSecret: Type.Optional(
      LocalObjectReference(
        "A Secret in this namespace holding `uri` (e.g. http://host:15672), `username` and `password` for the management API of a cluster not managed by this operator. Mutually exclusive with name.",
      ),
    ),
  },
  {
    description: "The RabbitMQ cluster this object belongs to. Immutable.",
    ...validations(
      immutable("rabbitmqClusterReference"),
      {
        rule: "has(self.name) != has(self.connectionSecret)",
        message: "exactly one of name or connectionSecret must be set",
      },
      {
        rule: "!has(self.namespace) || has(self.name)",
        message: "namespace can only be set together with name",
      },
    ),
  },
);
export type ClusterReference = Static<typeof ClusterReference>;

export const DeletionPolicy = StringEnum(["delete", "retain"] as const, {
  description: "What happens in RabbitMQ when this object is deleted: `delete` removes it from RabbitMQ, `retain` leaves it there.",
  default: "delete",
});

export const VhostName = (description = "The virtual host.") => Type.String({ description, minLength: 1, maxLength: 255, default: "/" });

/** A RabbitMQ object name: queue, exchange, policy, user. */
export const RabbitName = (description: string) => Type.String({ description, minLength: 1, maxLength: 255 });

export const TopologyStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
  },
  { description: "The observed state of this object in RabbitMQ." },
);
export type TopologyStatus = Static<typeof TopologyStatus>;

/**
 * Object metadata as the operator reads it. client-node's V1ObjectMeta types timestamps as Date,
 * which only its typed clients produce; watch events, our lists and our custom resources carry
 * them as the strings they are on the wire. Both fit this type.
 */
export interface KubeObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: V1OwnerReference[];
  managedFields?: V1ManagedFieldsEntry[];
  creationTimestamp?: Date | string;
  deletionTimestamp?: Date | string;
}

/** Metadata of a stored custom resource: it always has a name. */
export interface ObjectMeta extends KubeObjectMeta {
  name: string;
}

export interface CustomResource<Kind extends string, Spec, Status> {
  apiVersion: typeof API_VERSION;
  kind: Kind;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}
