// Types of the RabbitMQ management HTTP API as the operator sees them: camelCase like our CRDs
// (the client translates to and from RabbitMQ's snake_case JSON), optional where RabbitMQ leaves a
// field out (bulk listings with `columns=`, older versions, nodes that are down).
import type { NodeType, PolicyApplyTo } from "../api/index.js";

/** Where a cluster's management API is and who we are there. */
export interface ManagementConnection {
  /** Base URL of the management API, e.g. http://my-cluster.ns.svc:15672 (a path prefix is kept). */
  url: string;
  username: string;
  password: string;
  /**
   * For an https URL: the PEM certificates of the CAs the server's certificate must chain to
   * (instead of the system's). Verification is never turned off.
   */
  ca?: string;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** x-arguments of queues, exchanges and bindings; policy definitions. */
export type Arguments = JsonObject;

export type QueueType = "classic" | "quorum" | "stream";

// Virtual hosts ---------------------------------------------------------------------------------

export interface VhostSettings {
  description?: string;
  tags?: string[];
  /** Honoured by RabbitMQ 3.11+; 3.10 accepts and ignores it (reads back as absent). */
  defaultQueueType?: QueueType;
  tracing?: boolean;
}

export interface VhostInfo {
  name: string;
  description: string;
  tags: string[];
  /** Absent when the server does not know the setting (3.10 answers "undefined"). */
  defaultQueueType?: string;
  tracing: boolean;
  /**
   * Nodes where the vhost is not running ("stopped": RabbitMQ refuses connections to it there),
   * from the vhost's cluster_state. Nodes that are down are not in it.
   */
  stoppedOn: string[];
}

/** The vhost limits the operator reads and sets, under RabbitMQ's names. */
export const VHOST_LIMIT_NAMES = ["max-connections", "max-queues"] as const;
export type VhostLimitName = (typeof VHOST_LIMIT_NAMES)[number];
/** Limits set on a vhost; a missing key means no limit. */
export type VhostLimits = Partial<Record<VhostLimitName, number>>;

// Users -----------------------------------------------------------------------------------------

export type UserCredentials =
  | { password: string }
  /** A hash as RabbitMQ stores it (base64 of salt + hash); "" makes a user that cannot log in with a password. */
  | { passwordHash: string; hashingAlgorithm?: string };

export type UserSettings = UserCredentials & { tags?: string[] };

export interface UserInfo {
  name: string;
  passwordHash: string;
  hashingAlgorithm: string;
  tags: string[];
}

/** The user limits the operator reads and sets, under RabbitMQ's names. */
export const USER_LIMIT_NAMES = ["max-connections", "max-channels"] as const;
export type UserLimitName = (typeof USER_LIMIT_NAMES)[number];
export type UserLimits = Partial<Record<UserLimitName, number>>;

// Permissions -----------------------------------------------------------------------------------

export interface PermissionSettings {
  configure: string;
  write: string;
  read: string;
}

export interface PermissionInfo extends PermissionSettings {
  user: string;
  vhost: string;
}

// Queues ----------------------------------------------------------------------------------------

export interface QueueSettings {
  /** Sent as x-queue-type; RabbitMQ's default (classic) when absent. */
  type?: QueueType;
  durable?: boolean;
  autoDelete?: boolean;
  arguments?: Arguments;
}

/** What defines a queue: the fields drift detection compares. */
export interface QueueDefinition {
  name: string;
  vhost: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  arguments: Arguments;
}

export interface QueueInfo extends QueueDefinition {
  exclusive?: boolean;
  /** The node the queue (or its leader) lives on. */
  node?: string;
  state?: string;
  policy?: string;
  messages?: number;
  messagesReady?: number;
  messagesUnacknowledged?: number;
  consumers?: number;
  /** Quorum queues and streams: the nodes holding a replica. */
  members?: string[];
  /** Quorum queues and streams: the members that run now. */
  online?: string[];
}

export interface DeleteQueueOptions {
  /** Refuse (400) when the queue has messages. */
  ifEmpty?: boolean;
  /** Refuse (400) when the queue has consumers. */
  ifUnused?: boolean;
}

// Exchanges -------------------------------------------------------------------------------------

export interface ExchangeSettings {
  type: string;
  durable?: boolean;
  autoDelete?: boolean;
  internal?: boolean;
  arguments?: Arguments;
}

export interface ExchangeDefinition {
  name: string;
  vhost: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: Arguments;
}

// Bindings --------------------------------------------------------------------------------------

export type DestinationType = "queue" | "exchange";

export interface BindingSettings {
  source: string;
  destination: string;
  destinationType: DestinationType;
  routingKey?: string;
  arguments?: Arguments;
}

export interface BindingInfo {
  vhost: string;
  /** "" for the default exchange. */
  source: string;
  destination: string;
  destinationType: DestinationType;
  routingKey: string;
  arguments: Arguments;
  /** RabbitMQ's identifier of the binding among those with the same source and destination. */
  propertiesKey: string;
}

// Policies --------------------------------------------------------------------------------------

// What a policy applies to is the API's fact (operator/api); re-exported for the client's callers.
export type { PolicyApplyTo };

export interface PolicySettings {
  pattern: string;
  definition: JsonObject;
  priority?: number;
  applyTo?: PolicyApplyTo;
}

export interface PolicyInfo {
  vhost: string;
  name: string;
  pattern: string;
  applyTo: string;
  priority: number;
  definition: JsonObject;
}

// Cluster ---------------------------------------------------------------------------------------

export interface ClusterNode {
  name: string;
  type: NodeType;
  running: boolean;
}

/** A member with what an administrator checks first: resource alarms, partitions, memory and disk. */
export interface NodeDetails extends ClusterNode {
  memoryUsed?: number;
  memoryLimit?: number;
  memoryAlarm: boolean;
  diskFree?: number;
  diskFreeLimit?: number;
  diskFreeAlarm: boolean;
  /** The nodes this one cannot see (a network partition). */
  partitions: string[];
  uptimeMs?: number;
}

/** A feature flag and its state on the cluster ("enabled", "disabled", "state_changing", "unavailable"). */
export interface FeatureFlag {
  name: string;
  state: string;
}

export interface Overview {
  rabbitmqVersion: string;
  erlangVersion?: string;
  managementVersion?: string;
  clusterName: string;
  /** The node that answered. */
  node: string;
  objectTotals: { connections: number; channels: number; consumers: number; exchanges: number; queues: number };
  /**
   * Every node's client listeners (AMQP and others) that are accepting connections; absent when
   * the server leaves them out (management stats disabled, or a user without the monitoring tag).
   */
  listeners?: { node: string; protocol: string; port: number }[];
}

export interface CurrentUser {
  name: string;
  tags: string[];
}

/** A health check answers 200 when it passes and 503 with a reason when it fails. */
export type HealthCheckResult = { ok: true } | { ok: false; reason: string; details: JsonObject };

export type CertificateExpiryUnit = "days" | "weeks" | "months" | "years";

/** A cluster's topology as the bulk listings show it: what the drift detector compares with. */
export interface TopologySnapshot {
  vhosts: VhostInfo[];
  vhostLimits: Map<string, VhostLimits>;
  users: UserInfo[];
  userLimits: Map<string, UserLimits>;
  permissions: PermissionInfo[];
  queues: QueueDefinition[];
  exchanges: ExchangeDefinition[];
  bindings: BindingInfo[];
  policies: PolicyInfo[];
}

/** One bulk listing: one GET request of the management API. */
export type TopologyListing = keyof TopologySnapshot;
