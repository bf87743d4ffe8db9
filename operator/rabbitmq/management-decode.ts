// RabbitMQ's JSON (snake_case, fields left out by `columns=` or by older versions) to the
// client's camelCase types. Unknown fields are dropped; a missing identity field is an error,
// because an object without a name cannot be compared with anything.
import type { NodeType } from "../api/index.js";
import type {
  Arguments,
  BindingInfo,
  ClusterNode,
  CurrentUser,
  ExchangeDefinition,
  FeatureFlag,
  JsonObject,
  JsonValue,
  NodeDetails,
  Overview,
  PermissionInfo,
  PolicyInfo,
  QueueDefinition,
  QueueInfo,
  UserInfo,
  VhostInfo,
} from "./management-types.js";

export class UnexpectedAnswerError extends Error {
  override readonly name = "UnexpectedAnswerError";
}

export function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && value !== undefined && typeof value === "object" && !Array.isArray(value);
}

export function asObject(value: JsonValue | undefined, what: string): JsonObject {
  if (!isObject(value)) throw new UnexpectedAnswerError(`expected an object for ${what}, got ${JSON.stringify(value)?.slice(0, 200)}`);
  return value;
}

export function asArray(value: JsonValue | undefined, what: string): JsonValue[] {
  if (!Array.isArray(value)) throw new UnexpectedAnswerError(`expected a list for ${what}, got ${JSON.stringify(value)?.slice(0, 200)}`);
  return value;
}

function requiredString(object: JsonObject, key: string, what: string): string {
  const value = object[key];
  if (typeof value !== "string") throw new UnexpectedAnswerError(`${what} has no "${key}"`);
  return value;
}

function optionalString(object: JsonObject, key: string): string | undefined {
  const value = object[key];
  return typeof value === "string" ? value : undefined;
}

function optionalNumber(object: JsonObject, key: string): number | undefined {
  const value = object[key];
  return typeof value === "number" ? value : undefined;
}

function flag(object: JsonObject, key: string, fallback = false): boolean {
  const value = object[key];
  return typeof value === "boolean" ? value : fallback;
}

function jsonObject(object: JsonObject, key: string): JsonObject {
  const value = object[key];
  return isObject(value) ? value : {};
}

/** Tags are a list since 3.9 and a comma-separated string before. */
function tags(object: JsonObject, key = "tags"): string[] {
  const value = object[key];
  if (Array.isArray(value)) return value.filter((tag): tag is string => typeof tag === "string" && tag !== "");
  if (typeof value === "string")
    return value
      .split(",")
      .map((tag) => tag.trim())
      .filter((tag) => tag !== "");
  return [];
}

export function decodeVhost(value: JsonValue): VhostInfo {
  const object = asObject(value, "a vhost");
  const defaultQueueType = optionalString(object, "default_queue_type");
  return {
    name: requiredString(object, "name", "a vhost"),
    description: optionalString(object, "description") ?? "",
    tags: tags(object),
    // 3.10 has the field but not the setting, and answers "undefined".
    defaultQueueType: defaultQueueType === "undefined" || defaultQueueType === "" ? undefined : defaultQueueType,
    tracing: flag(object, "tracing"),
    stoppedOn: Object.entries(jsonObject(object, "cluster_state"))
      .filter(([, state]) => state === "stopped")
      .map(([node]) => node)
      .sort(),
  };
}

export function decodeUser(value: JsonValue): UserInfo {
  const object = asObject(value, "a user");
  return {
    name: requiredString(object, "name", "a user"),
    passwordHash: optionalString(object, "password_hash") ?? "",
    hashingAlgorithm: optionalString(object, "hashing_algorithm") ?? "",
    tags: tags(object),
  };
}

export function decodePermission(value: JsonValue): PermissionInfo {
  const object = asObject(value, "a permission");
  return {
    user: requiredString(object, "user", "a permission"),
    vhost: requiredString(object, "vhost", "a permission"),
    configure: optionalString(object, "configure") ?? "",
    write: optionalString(object, "write") ?? "",
    read: optionalString(object, "read") ?? "",
  };
}

export function decodeQueueDefinition(value: JsonValue): QueueDefinition {
  const object = asObject(value, "a queue");
  const args: Arguments = jsonObject(object, "arguments");
  const declaredType = args["x-queue-type"];
  return {
    name: requiredString(object, "name", "a queue"),
    vhost: requiredString(object, "vhost", "a queue"),
    type: optionalString(object, "type") ?? (typeof declaredType === "string" ? declaredType : "classic"),
    durable: flag(object, "durable"),
    autoDelete: flag(object, "auto_delete"),
    arguments: args,
  };
}

export function decodeQueue(value: JsonValue): QueueInfo {
  const object = asObject(value, "a queue");
  return {
    ...decodeQueueDefinition(object),
    exclusive: typeof object.exclusive === "boolean" ? object.exclusive : undefined,
    // Quorum queues and streams name their leader's node.
    node: optionalString(object, "node") ?? optionalString(object, "leader"),
    state: optionalString(object, "state"),
    policy: optionalString(object, "policy"),
    messages: optionalNumber(object, "messages"),
    messagesReady: optionalNumber(object, "messages_ready"),
    messagesUnacknowledged: optionalNumber(object, "messages_unacknowledged"),
    consumers: optionalNumber(object, "consumers"),
    members: stringList(object, "members"),
    online: stringList(object, "online"),
  };
}

export function decodeExchange(value: JsonValue): ExchangeDefinition {
  const object = asObject(value, "an exchange");
  return {
    name: requiredString(object, "name", "an exchange"),
    vhost: requiredString(object, "vhost", "an exchange"),
    type: requiredString(object, "type", "an exchange"),
    durable: flag(object, "durable"),
    autoDelete: flag(object, "auto_delete"),
    internal: flag(object, "internal"),
    arguments: jsonObject(object, "arguments"),
  };
}

export function decodeBinding(value: JsonValue): BindingInfo {
  const object = asObject(value, "a binding");
  const destinationType = requiredString(object, "destination_type", "a binding");
  if (destinationType !== "queue" && destinationType !== "exchange") {
    throw new UnexpectedAnswerError(`a binding has destination_type ${destinationType}`);
  }
  return {
    vhost: requiredString(object, "vhost", "a binding"),
    source: optionalString(object, "source") ?? "",
    destination: requiredString(object, "destination", "a binding"),
    destinationType,
    routingKey: optionalString(object, "routing_key") ?? "",
    arguments: jsonObject(object, "arguments"),
    propertiesKey: requiredString(object, "properties_key", "a binding"),
  };
}

export function decodePolicy(value: JsonValue): PolicyInfo {
  const object = asObject(value, "a policy");
  return {
    vhost: requiredString(object, "vhost", "a policy"),
    name: requiredString(object, "name", "a policy"),
    pattern: optionalString(object, "pattern") ?? "",
    applyTo: optionalString(object, "apply-to") ?? "all",
    priority: optionalNumber(object, "priority") ?? 0,
    definition: jsonObject(object, "definition"),
  };
}

export function decodeNode(value: JsonValue): ClusterNode {
  const object = asObject(value, "a node");
  const type = optionalString(object, "type");
  return {
    name: requiredString(object, "name", "a node"),
    // Mnesia knows every member's type, running or not; anything else would be a new kind of node.
    type: (type === "ram" ? "ram" : "disc") satisfies NodeType,
    running: flag(object, "running"),
  };
}

export function decodeNodeDetails(value: JsonValue): NodeDetails {
  const object = asObject(value, "a node");
  return {
    ...decodeNode(object),
    memoryUsed: optionalNumber(object, "mem_used"),
    memoryLimit: optionalNumber(object, "mem_limit"),
    memoryAlarm: flag(object, "mem_alarm"),
    diskFree: optionalNumber(object, "disk_free"),
    diskFreeLimit: optionalNumber(object, "disk_free_limit"),
    diskFreeAlarm: flag(object, "disk_free_alarm"),
    partitions: stringList(object, "partitions") ?? [],
    uptimeMs: optionalNumber(object, "uptime"),
  };
}

function stringList(object: JsonObject, key: string): string[] | undefined {
  const value = object[key];
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === "string") : undefined;
}

export function decodeFeatureFlag(value: JsonValue): FeatureFlag {
  const object = asObject(value, "a feature flag");
  return { name: requiredString(object, "name", "a feature flag"), state: optionalString(object, "state") ?? "unknown" };
}

export function decodeOverview(value: JsonValue | undefined): Overview {
  const object = asObject(value, "the overview");
  const totals = jsonObject(object, "object_totals");
  const count = (key: string) => optionalNumber(totals, key) ?? 0;
  return {
    rabbitmqVersion: requiredString(object, "rabbitmq_version", "the overview"),
    erlangVersion: optionalString(object, "erlang_version"),
    managementVersion: optionalString(object, "management_version"),
    clusterName: optionalString(object, "cluster_name") ?? "",
    node: optionalString(object, "node") ?? "",
    objectTotals: {
      connections: count("connections"),
      channels: count("channels"),
      consumers: count("consumers"),
      exchanges: count("exchanges"),
      queues: count("queues"),
    },
    listeners:
      object.listeners === undefined
        ? undefined
        : asArray(object.listeners, "the overview's listeners").flatMap((entry) => {
            const listener = asObject(entry, "a listener");
            const node = optionalString(listener, "node");
            const protocol = optionalString(listener, "protocol");
            const port = optionalNumber(listener, "port");
            return node !== undefined && protocol !== undefined && port !== undefined ? [{ node, protocol, port }] : [];
          }),
  };
}

export function decodeCurrentUser(value: JsonValue | undefined): CurrentUser {
  const object = asObject(value, "whoami");
  return { name: requiredString(object, "name", "whoami"), tags: tags(object) };
}

/** `[{vhost|user, value: {max-...: n}}]` from /api/vhost-limits and /api/user-limits. */
export function decodeLimits<K extends string>(
  value: JsonValue | undefined,
  ownerKey: "vhost" | "user",
  names: readonly K[],
): Map<string, Partial<Record<K, number>>> {
  const limits = new Map<string, Partial<Record<K, number>>>();
  for (const entry of asArray(value ?? [], `${ownerKey} limits`)) {
    const object = asObject(entry, `${ownerKey} limits`);
    const owner = requiredString(object, ownerKey, `${ownerKey} limits`);
    const values = jsonObject(object, "value");
    const known: Partial<Record<K, number>> = {};
    for (const name of names) {
      const limit = values[name];
      if (typeof limit === "number") known[name] = limit;
    }
    limits.set(owner, known);
  }
  return limits;
}
