// The messaging topology kinds: objects inside a RabbitMQ cluster, declared through the management
// HTTP API. Field names follow rabbitmq.com/v1beta1 (messaging-topology-operator).
import { Type, type Static, type TProperties } from "@sinclair/typebox";
import { ClusterReference, DeletionPolicy, LocalObjectReference, POLICY_APPLY_TO, TopologyStatus, type CustomResource } from "./common.js";
import { FreeformObject, StringEnum, addressable, immutable, immutableOptional, unreserved, validations, type CelRule } from "./schema.js";

/** Every topology spec has a cluster reference and a deletion policy. */
function topologySpec<P extends TProperties>(description: string, properties: P, rules: CelRule[] = []) {
  return Type.Object(
    { ...properties, rabbitmqClusterReference: ClusterReference, deletionPolicy: DeletionPolicy },
    { description, ...(rules.length > 0 ? validations(...rules) : {}) },
  );
}

/** A name inside RabbitMQ that identifies the object and so cannot change. */
const IdentityName = (what: string, ...rules: CelRule[]) =>
  Type.String({ description: `${what} Immutable.`, minLength: 1, maxLength: 255, ...validations(immutable("name"), addressable("name"), ...rules) });

const IdentityVhost = () =>
  Type.String({
    description: "The virtual host. Immutable.",
    minLength: 1,
    maxLength: 255,
    default: "/",
    ...validations(immutable("vhost"), addressable("vhost")),
  });

const Arguments = (what: string) => Type.Optional(FreeformObject({ description: `Optional ${what} arguments (x-* keys).` }));

// Vhost -----------------------------------------------------------------------------------------

export const VhostSpec = topologySpec("A virtual host.", {
  name: IdentityName("Name of the virtual host."),
  tags: Type.Optional(
    Type.Array(Type.String({ description: "A tag.", maxLength: 255 }), { description: "Tags of the virtual host.", "x-kubernetes-list-type": "set" }),
  ),
  defaultQueueType: Type.Optional(
    StringEnum(["classic", "quorum", "stream"] as const, {
      description: "Type of queues declared in this vhost without an explicit x-queue-type (RabbitMQ 3.11+).",
    }),
  ),
  tracing: Type.Boolean({ description: "Enables message tracing (firehose) in the virtual host.", default: false }),
  limits: Type.Optional(
    Type.Object(
      {
        connections: Type.Optional(Type.Integer({ description: "Maximum number of connections; -1 for no limit.", minimum: -1 })),
        queues: Type.Optional(Type.Integer({ description: "Maximum number of queues; -1 for no limit.", minimum: -1 })),
      },
      { description: "Limits of the virtual host." },
    ),
  ),
});
export type VhostSpec = Static<typeof VhostSpec>;
export type Vhost = CustomResource<"Vhost", VhostSpec, TopologyStatus>;

// User ------------------------------------------------------------------------------------------

export const USER_TAGS = ["management", "policymaker", "monitoring", "administrator", "impersonator"] as const;

export const UserSpec = topologySpec(
  "A user. Its credentials are kept in the Secret <metadata.name>-user-credentials: generated (a random password) or imported from importCredentialsSecret.",
  {
    username: Type.Optional(
      Type.String({
        description: "The user's name in RabbitMQ; by default the `username` key of importCredentialsSecret, else metadata.name. Immutable.",
        minLength: 1,
        maxLength: 255,
      }),
    ),
    tags: Type.Optional(
      Type.Array(StringEnum(USER_TAGS, { description: "A user tag." }), {
        description: "Tags of the user: management, policymaker, monitoring, administrator, impersonator.",
        "x-kubernetes-list-type": "set",
      }),
    ),
    importCredentialsSecret: Type.Optional(
      LocalObjectReference(
        "A Secret with `password` (and optionally `username`) to use instead of a generated password. The user is updated when the Secret changes.",
      ),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          connections: Type.Optional(Type.Integer({ description: "Maximum number of connections; -1 for no limit.", minimum: -1 })),
          channels: Type.Optional(Type.Integer({ description: "Maximum number of channels; -1 for no limit.", minimum: -1 })),
        },
        { description: "Limits of the user (RabbitMQ 3.11+)." },
      ),
    ),
  },
  [immutableOptional("username")],
);
export type UserSpec = Static<typeof UserSpec>;

export const UserStatus = Type.Object(
  {
    ...TopologyStatus.properties,
    username: Type.Optional(Type.String({ description: "The user's name in RabbitMQ." })),
    credentials: Type.Optional(LocalObjectReference("The Secret with `username` and `password` of this user.")),
  },
  { description: "The observed state of the user." },
);
export type UserStatus = Static<typeof UserStatus>;
export type User = CustomResource<"User", UserSpec, UserStatus>;

// Permission ------------------------------------------------------------------------------------

export const PermissionSpec = topologySpec(
  "A user's permissions in a virtual host.",
  {
    user: Type.Optional(Type.String({ description: "Name of the user in RabbitMQ. Mutually exclusive with userReference.", minLength: 1, maxLength: 255 })),
    userReference: Type.Optional(LocalObjectReference("A User object in this namespace. Mutually exclusive with user.")),
    vhost: IdentityVhost(),
    permissions: Type.Object(
      {
        configure: Type.String({ description: "Regular expression of the resources the user may configure.", default: "" }),
        write: Type.String({ description: "Regular expression of the resources the user may write to.", default: "" }),
        read: Type.String({ description: "Regular expression of the resources the user may read from.", default: "" }),
      },
      { description: "The permissions.", default: {} },
    ),
  },
  [
    { rule: "has(self.user) != has(self.userReference)", message: "exactly one of user or userReference must be set" },
    immutableOptional("user"),
    immutableOptional("userReference"),
  ],
);
export type PermissionSpec = Static<typeof PermissionSpec>;
export const PermissionStatus = Type.Object(
  {
    ...TopologyStatus.properties,
    username: Type.Optional(Type.String({ description: "The user's name in RabbitMQ, given as user or through userReference." })),
  },
  { description: "The observed state of the permissions." },
);
export type PermissionStatus = Static<typeof PermissionStatus>;
export type Permission = CustomResource<"Permission", PermissionSpec, PermissionStatus>;

// Queue -----------------------------------------------------------------------------------------

export const QUEUE_TYPES = ["classic", "quorum", "stream"] as const;

export const QueueSpec = topologySpec(
  "A queue.",
  {
    name: IdentityName("Name of the queue.", unreserved("name")),
    vhost: IdentityVhost(),
    type: StringEnum(QUEUE_TYPES, {
      description: "Queue type (x-queue-type): classic, quorum or stream. Immutable.",
      default: "classic",
      ...validations(immutable("type")),
    }),
    durable: Type.Boolean({
      description: "Whether the queue survives a broker restart. Quorum queues and streams are always durable. Immutable.",
      default: true,
      ...validations(immutable("durable")),
    }),
    autoDelete: Type.Boolean({
      description: "Whether the queue is deleted when its last consumer goes away. Immutable.",
      default: false,
      ...validations(immutable("autoDelete")),
    }),
    arguments: Type.Optional(
      Type.Unsafe<Record<string, unknown>>({
        description: "Optional queue arguments (x-* keys).",
        type: "object",
        "x-kubernetes-preserve-unknown-fields": true,
        // Named so that a rule can see it: CEL sees no key of a free-form object.
        properties: {
          "x-max-priority": {
            type: "integer",
            minimum: 0,
            maximum: 255,
            description: "Highest message priority of a classic queue, up to 255 (RabbitMQ advises at most 10).",
          },
        },
      }),
    ),
  },
  [
    {
      rule: "self.type == 'classic' || (self.durable && !self.autoDelete)",
      message: "quorum queues and streams must be durable and cannot be autoDelete",
    },
    {
      // RabbitMQ refuses the argument too, in words that do not say what to do instead.
      rule: "self.type == 'classic' || !has(self.arguments) || !has(self.arguments.x__dash__max__dash__priority)",
      message:
        "quorum queues and streams take no x-max-priority: from RabbitMQ 4.0 a quorum queue delivers messages of priority 5 and above first without it (RabbitMQ 3.x quorum queues have no priorities); a classic queue takes x-max-priority",
    },
  ],
);
export type QueueSpec = Static<typeof QueueSpec>;
export type Queue = CustomResource<"Queue", QueueSpec, TopologyStatus>;

// Exchange --------------------------------------------------------------------------------------

export const ExchangeSpec = topologySpec("An exchange.", {
  name: IdentityName("Name of the exchange.", unreserved("name")),
  vhost: IdentityVhost(),
  type: Type.String({
    description: "Exchange type: direct, fanout, topic, headers, or a type a plugin adds. Immutable.",
    default: "direct",
    minLength: 1,
    maxLength: 255,
    ...validations(immutable("type")),
  }),
  durable: Type.Boolean({ description: "Whether the exchange survives a broker restart. Immutable.", default: true, ...validations(immutable("durable")) }),
  autoDelete: Type.Boolean({
    description: "Whether the exchange is deleted when its last binding goes away. Immutable.",
    default: false,
    ...validations(immutable("autoDelete")),
  }),
  arguments: Arguments("exchange"),
});
export type ExchangeSpec = Static<typeof ExchangeSpec>;
export type Exchange = CustomResource<"Exchange", ExchangeSpec, TopologyStatus>;

// Binding ---------------------------------------------------------------------------------------

export const BindingSpec = topologySpec(
  "A binding from an exchange to a queue or another exchange. Every field but deletionPolicy is immutable.",
  {
    vhost: IdentityVhost(),
    source: Type.String({
      description: "The exchange messages come from. Immutable.",
      minLength: 1,
      maxLength: 255,
      ...validations(immutable("source"), addressable("source")),
    }),
    destination: Type.String({
      description: "The queue or exchange messages go to. Immutable.",
      minLength: 1,
      maxLength: 255,
      ...validations(immutable("destination"), addressable("destination")),
    }),
    destinationType: StringEnum(["queue", "exchange"] as const, {
      description: "Whether destination is a queue or an exchange. Immutable.",
      default: "queue",
      ...validations(immutable("destinationType")),
    }),
    routingKey: Type.String({ description: "The routing key. Immutable.", default: "", maxLength: 255, ...validations(immutable("routingKey")) }),
    arguments: Arguments("binding"),
  },
  [immutableOptional("arguments")],
);
export type BindingSpec = Static<typeof BindingSpec>;
export type Binding = CustomResource<"Binding", BindingSpec, TopologyStatus>;

// Policy ----------------------------------------------------------------------------------------

export const PolicySpec = topologySpec("A policy: settings applied to the queues or exchanges whose names match a pattern.", {
  name: IdentityName("Name of the policy."),
  vhost: IdentityVhost(),
  pattern: Type.String({ description: "Regular expression matched against queue or exchange names.", maxLength: 4096 }),
  applyTo: StringEnum(POLICY_APPLY_TO, {
    description: "What the policy applies to (classic_queues, quorum_queues and streams need RabbitMQ 3.12+).",
    default: "all",
  }),
  priority: Type.Integer({ description: "Priority: the matching policy with the highest priority wins.", default: 0, format: "int32" }),
  definition: FreeformObject({ description: 'Policy keys and values, e.g. {"max-length": 10000}.', minProperties: 1 }),
});
export type PolicySpec = Static<typeof PolicySpec>;
export type Policy = CustomResource<"Policy", PolicySpec, TopologyStatus>;
