// RabbitCluster: a clustered RabbitMQ of disc and ram nodes. Field names follow rabbitmq.com/v1beta1
// RabbitmqCluster where the concept is the same.
import { Type, type Static } from "@sinclair/typebox";
import type { V1Affinity, V1Toleration } from "@kubernetes/client-node";
import { Conditions, ObjectName, ObservedGeneration, POLICY_APPLY_TO, type CustomResource, LocalObjectReference } from "./common.js";
import { FreeformObject, KubernetesType, Quantity, StringEnum, StringMap } from "./schema.js";

/** The image used when spec.image is not given: the newest series the e2e tier runs (README: RabbitMQ versions). */
export const DEFAULT_IMAGE = "rabbitmq:4.0-management";

const ResourceList = (description: string) => Type.Record(Type.String(), Quantity({ description: "A quantity." }), { description });

export const ClusterNodes = Type.Object(
  {
    disc: Type.Integer({
      description:
        "Number of disc nodes: they keep the cluster's metadata (schema, users, vhosts) on disk. At least 1; odd numbers (3, 5) keep quorum queues available when one node is down.",
      minimum: 1,
      maximum: 99,
      default: 1,
      format: "int32",
    }),
    ram: Type.Integer({
      description:
        "Number of ram nodes: they keep the metadata in memory only and join a disc node on boot. Supported by RabbitMQ up to 4.1 (Mnesia); refused with a condition on newer images.",
      minimum: 0,
      maximum: 99,
      default: 0,
      format: "int32",
    }),
  },
  { description: "How many nodes of each type the cluster runs (cluster_formation.node_type).", default: {} },
);

export const ClusterPolicy = Type.Object(
  {
    name: Type.String({ description: "Name of the policy.", minLength: 1, maxLength: 255 }),
    vhost: Type.String({ description: "Virtual host the policy applies in.", minLength: 1, maxLength: 255, default: "/" }),
    pattern: Type.String({ description: "Regular expression matched against queue or exchange names.", maxLength: 4096 }),
    applyTo: StringEnum(POLICY_APPLY_TO, {
      description: "What the policy applies to.",
      default: "all",
    }),
    priority: Type.Integer({ description: "Priority: the policy with the highest priority wins.", default: 0, format: "int32" }),
    definition: FreeformObject({ description: 'Policy keys and values, e.g. {"max-length": 10000}.', minProperties: 1 }),
  },
  { description: "A policy the operator keeps in the cluster." },
);

export const RabbitClusterSpec = Type.Object(
  {
    image: Type.String({
      description: `Container image with RabbitMQ and its management plugin. Default ${DEFAULT_IMAGE}.`,
      default: DEFAULT_IMAGE,
      minLength: 1,
    }),
    imagePullSecrets: Type.Optional(Type.Array(LocalObjectReference("A Secret for pulling the image."), { description: "Secrets for pulling the image." })),
    nodes: ClusterNodes,
    resources: Type.Optional(
      Type.Object(
        {
          requests: Type.Optional(ResourceList("Minimum resources per node (cpu, memory).")),
          limits: Type.Optional(ResourceList("Maximum resources per node (cpu, memory).")),
        },
        { description: "Compute resources of each RabbitMQ container." },
      ),
    ),
    persistence: Type.Object(
      {
        storageClassName: Type.Optional(Type.String({ description: "StorageClass of the nodes' volumes; the cluster's default when not set." })),
        storage: Quantity({ description: "Size of each node's volume.", default: "10Gi" }),
        whenDeleted: StringEnum(["Retain", "Delete"] as const, {
          description:
            "What happens to the volumes (and so the messages) when the RabbitCluster is deleted: Retain keeps the PersistentVolumeClaims and the Secrets of the default user and the Erlang cookie their data needs (a RabbitCluster created again with the same name adopts them); Delete removes them all.",
          default: "Retain",
        }),
      },
      { description: "Persistent volume of each node (/var/lib/rabbitmq/mnesia).", default: {} },
    ),
    service: Type.Object(
      {
        type: StringEnum(["ClusterIP", "NodePort", "LoadBalancer"] as const, {
          description: "Type of the client Service.",
          default: "ClusterIP",
        }),
        annotations: Type.Optional(StringMap({ description: "Annotations of the client Service." })),
      },
      { description: "The client Service (AMQP, management, Prometheus).", default: {} },
    ),
    rabbitmq: Type.Optional(
      Type.Object(
        {
          additionalConfig: Type.Optional(
            Type.String({ description: "rabbitmq.conf lines appended after the operator's defaults (and so overriding them).", maxLength: 100000 }),
          ),
          advancedConfig: Type.Optional(Type.String({ description: "Content of advanced.config (Erlang terms).", maxLength: 100000 })),
          envConfig: Type.Optional(Type.String({ description: "Content of rabbitmq-env.conf.", maxLength: 100000 })),
          additionalPlugins: Type.Optional(
            Type.Array(Type.String({ description: "A plugin name.", pattern: "^[a-z0-9_]+$", maxLength: 100 }), {
              description: "Plugins enabled besides rabbitmq_management and rabbitmq_prometheus.",
              maxItems: 100,
              "x-kubernetes-list-type": "set",
            }),
          ),
        },
        { description: "RabbitMQ configuration." },
      ),
    ),
    policies: Type.Optional(
      Type.Array(ClusterPolicy, {
        description: "Policies kept in the cluster; one removed from this list is removed from RabbitMQ.",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name", "vhost"],
        maxItems: 1000,
      }),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          secretName: ObjectName("A Secret of type kubernetes.io/tls with tls.crt and tls.key for AMQPS (5671) and HTTPS management (15671)."),
          caSecretName: Type.Optional(ObjectName("A Secret with ca.crt to verify peers; enables client certificate verification.")),
        },
        { description: "TLS for clients." },
      ),
    ),
    affinity: Type.Optional(KubernetesType<V1Affinity>({ type: "object", description: "Pod affinity (core/v1 Affinity)." })),
    tolerations: Type.Optional(KubernetesType<V1Toleration[]>({ type: "array", description: "Pod tolerations (core/v1 Toleration)." })),
    terminationGracePeriodSeconds: Type.Integer({
      description:
        "How long a node may take to stop. The pre-stop hook waits, within this time, until quorum queues keep quorum without the node and then drains it.",
      minimum: 0,
      default: 604800,
      format: "int64",
    }),
    override: Type.Optional(
      Type.Object(
        {
          statefulSet: Type.Optional(
            FreeformObject({
              description:
                "Merged into both StatefulSets: objects merge, lists of named items (containers, volumes, env, ports) merge by name, other lists are replaced.",
            }),
          ),
          clientService: Type.Optional(FreeformObject({ description: "Merged into the client Service, as for statefulSet." })),
        },
        { description: "Patches for what the operator builds, for settings this API does not expose." },
      ),
    ),
  },
  { description: "The desired state of a RabbitMQ cluster." },
);
export type RabbitClusterSpec = Static<typeof RabbitClusterSpec>;
export type ClusterPolicy = Static<typeof ClusterPolicy>;

export const NodeType = StringEnum(["disc", "ram"] as const, { description: "disc or ram." });
export type NodeType = Static<typeof NodeType>;

export const MetadataStore = StringEnum(["mnesia", "khepri"] as const, {
  description: "Where RabbitMQ keeps its metadata: Mnesia, or Khepri (feature flag khepri_db; it has no ram nodes).",
});
export type MetadataStore = Static<typeof MetadataStore>;

export const RabbitClusterStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(Conditions),
    nodes: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ description: "Erlang node name, rabbit@<pod>.<headless service>.<namespace>.svc.<domain>." }),
            type: NodeType,
            running: Type.Boolean({ description: "Whether the node is running and part of the cluster." }),
          },
          { description: "A node of the cluster." },
        ),
        { description: "The nodes of the cluster as RabbitMQ reports them." },
      ),
    ),
    defaultUser: Type.Optional(
      Type.Object(
        {
          secretReference: Type.Object(
            {
              name: Type.String({ description: "Name of the Secret." }),
              namespace: Type.String({ description: "Namespace of the Secret." }),
              keys: StringMap({ description: "Keys of the Secret: username, password, connection_string, ..." }),
            },
            { description: "The Secret with the default user's credentials." },
          ),
          serviceReference: Type.Object(
            {
              name: Type.String({ description: "Name of the client Service." }),
              namespace: Type.String({ description: "Namespace of the client Service." }),
            },
            { description: "The client Service." },
          ),
        },
        { description: "Where to find the default (administrator) user." },
      ),
    ),
    policies: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ description: "Name of the policy." }),
            vhost: Type.String({ description: "Virtual host of the policy." }),
          },
          { description: "A policy applied from spec.policies." },
        ),
        { description: "The policies the operator applied from spec.policies; one removed from spec is deleted from RabbitMQ." },
      ),
    ),
    nodeRemoval: Type.Optional(
      Type.Object(
        {
          node: Type.String({ description: "Erlang node name of the node being removed." }),
          pod: Type.String({ description: "Its pod." }),
          type: NodeType,
          ordinal: Type.Integer({ description: "Its ordinal in its StatefulSet.", minimum: 0, format: "int32" }),
          startedAt: Type.String({ description: "When the operator started draining it.", format: "date-time" }),
        },
        {
          description:
            "A scale-down the operator started (drain, shrink quorum queues, one replica less) and has not finished. Recorded before the node is drained, so that after any interruption the next reconcile finishes it, or revives the node when it is wanted again.",
        },
      ),
    ),
    rabbitmq: Type.Optional(
      Type.Object(
        {
          version: Type.String({ description: "The RabbitMQ version the nodes report (whatever the image's tag says)." }),
          metadataStore: MetadataStore,
          deprecatedFeaturesUsed: Type.Optional(
            Type.Array(Type.String({ description: "A deprecated feature in use: its name, then what becomes of it and what to do." }), {
              description: "Deprecated RabbitMQ features the cluster uses, each with what becomes of it (RabbitMQ writes these only to its log).",
            }),
          ),
        },
        { description: "What the running cluster reports about itself." },
      ),
    ),
    endpoints: Type.Optional(
      Type.Object(
        {
          amqp: Type.String({ description: "AMQP URL inside the Kubernetes cluster." }),
          management: Type.String({ description: "Management UI and HTTP API URL inside the Kubernetes cluster." }),
        },
        { description: "How clients reach the cluster." },
      ),
    ),
  },
  { description: "The observed state of the cluster." },
);
export type RabbitClusterStatus = Static<typeof RabbitClusterStatus>;

export type RabbitCluster = CustomResource<"RabbitCluster", RabbitClusterSpec, RabbitClusterStatus>;
