// The pure halves of every kind: the desired management-API object built from the spec, and the
// comparison of desired with what RabbitMQ reports (empty: in sync).
import { describe, expect, it } from "vitest";
import { bindingAdapter, bindingDifferences, desiredBinding, matchingBinding } from "../../../../operator/controllers/topology/kinds/binding.js";
import { desiredExchange, exchangeDifferences } from "../../../../operator/controllers/topology/kinds/exchange.js";
import { desiredPermission, permissionAdapter, permissionDifferences, permissionUser } from "../../../../operator/controllers/topology/kinds/permission.js";
import { desiredPolicy, policyDifferences } from "../../../../operator/controllers/topology/kinds/policy.js";
import { desiredQueue, queueDifferences } from "../../../../operator/controllers/topology/kinds/queue.js";
import { desiredUser, userAdapter, userDifferences } from "../../../../operator/controllers/topology/kinds/user.js";
import { desiredVhost, stoppedWhereServing, vhostAdapter, vhostDifferences } from "../../../../operator/controllers/topology/kinds/vhost.js";
import { Problem, type TopologyLookups } from "../../../../operator/controllers/topology/adapter.js";
import { TOPOLOGY_ADAPTERS } from "../../../../operator/controllers/topology/kinds/index.js";
import { TOPOLOGY_KINDS } from "../../../../operator/api/index.js";
import type { BindingInfo, QueueDefinition } from "../../../../operator/rabbitmq/management.js";
import { VERSIONED_FEATURES } from "../../../../operator/rabbitmq/versions.js";
import { binding, exchange, permission, policy, queue, user, vhost } from "./fixtures.js";

/** sha256 hash of "s3cret" with salt 01020304, as RabbitMQ stores it. */
const S3CRET_HASH = "AQIDBLq/hWyT4GNQ5SjFtltSvLoQIZIQIckdYAqRUvj04Npv";

const noLookups: TopologyLookups = { secret: () => undefined, user: () => undefined };

describe("Queue", () => {
  it("builds the declaration from the spec; x-queue-type comes from type alone", () => {
    expect(desiredQueue(queue({ name: "orders", arguments: { "x-max-length": 10, "x-queue-type": "stream" } }).spec)).toEqual({
      vhost: "/",
      name: "orders",
      type: "classic",
      durable: true,
      autoDelete: false,
      arguments: { "x-max-length": 10 },
    });
  });

  const observed: QueueDefinition = {
    name: "orders",
    vhost: "/",
    type: "quorum",
    durable: true,
    autoDelete: false,
    arguments: { "x-queue-type": "quorum", "x-delivery-limit": 5 },
  };
  const desired = desiredQueue(queue({ name: "orders", type: "quorum", arguments: { "x-delivery-limit": 5 } }).spec);

  it("is in sync with what RabbitMQ reports for it, argument order and x-queue-type aside", () => {
    expect(queueDifferences(desired, observed)).toEqual([]);
  });

  it("says what differs", () => {
    expect(queueDifferences(desired, undefined)).toEqual(["absent from RabbitMQ"]);
    expect(queueDifferences(desired, { ...observed, type: "classic", arguments: { "x-delivery-limit": 6 } })).toEqual([
      'type is "classic", want "quorum"',
      'arguments is {"x-delivery-limit":6}, want {"x-delivery-limit":5}',
    ]);
    expect(queueDifferences(desired, { ...observed, durable: false })).toEqual(["durable is false, want true"]);
  });
});

describe("Exchange", () => {
  const desired = desiredExchange(exchange({ name: "events", type: "topic", arguments: { "alternate-exchange": "unrouted" } }).spec);
  const observed = {
    name: "events",
    vhost: "/",
    type: "topic",
    durable: true,
    autoDelete: false,
    internal: false,
    arguments: { "alternate-exchange": "unrouted" },
  };

  it("builds the declaration from the spec, never internal", () => {
    expect(desired).toEqual({ vhost: "/", name: "events", type: "topic", durable: true, autoDelete: false, arguments: { "alternate-exchange": "unrouted" } });
    expect(exchangeDifferences(desired, observed)).toEqual([]);
  });

  it("sees an exchange made internal or given other arguments behind our back", () => {
    expect(exchangeDifferences(desired, { ...observed, internal: true, arguments: {} })).toEqual([
      "internal is true, want false",
      'arguments is {}, want {"alternate-exchange":"unrouted"}',
    ]);
  });
});

describe("Binding", () => {
  const desired = desiredBinding(binding({ source: "events", destination: "audit", routingKey: "a.#", arguments: { "x-match": "any" } }).spec);
  const info = (overrides: Partial<BindingInfo>): BindingInfo => ({
    vhost: "/",
    source: "events",
    destination: "audit",
    destinationType: "queue",
    routingKey: "a.#",
    arguments: { "x-match": "any" },
    propertiesKey: "a.#~xyz",
    ...overrides,
  });

  it("finds ours among the bindings between the same ends by routing key and arguments", () => {
    expect(matchingBinding(desired, [info({ routingKey: "b" }), info({ arguments: {} }), info({})])).toEqual(info({}));
    expect(matchingBinding(desired, [info({ destinationType: "exchange" })])).toBeUndefined();
    expect(bindingDifferences(desired, undefined)).toEqual(["absent from RabbitMQ"]);
    expect(bindingDifferences(desired, info({}))).toEqual([]);
  });

  it("needs its vhost, its destination and its source exchange (not the default exchange)", () => {
    expect(bindingAdapter.needs(binding({ source: "events", destination: "audit" }))).toEqual([
      { type: "vhost", vhost: "/" },
      { type: "queue", vhost: "/", name: "audit" },
      { type: "exchange", vhost: "/", name: "events" },
    ]);
    expect(bindingAdapter.needs(binding({ source: "", destination: "x", destinationType: "exchange" }))).toEqual([
      { type: "vhost", vhost: "/" },
      { type: "exchange", vhost: "/", name: "x" },
    ]);
  });
});

describe("Policy", () => {
  const desired = desiredPolicy(policy({ name: "limits", pattern: "^q\\.", definition: { "max-length": 10 } }).spec);

  it("builds the policy with the schema's defaults and compares every setting", () => {
    expect(desired).toEqual({ vhost: "/", name: "limits", pattern: "^q\\.", applyTo: "all", priority: 0, definition: { "max-length": 10 } });
    const observed = { vhost: "/", name: "limits", pattern: "^q\\.", applyTo: "all", priority: 0, definition: { "max-length": 10 } };
    expect(policyDifferences(desired, observed)).toEqual([]);
    expect(policyDifferences(desired, { ...observed, priority: 3, definition: { "max-length": 10, "message-ttl": 5 } })).toEqual([
      "priority is 3, want 0",
      'definition is {"max-length":10,"message-ttl":5}, want {"max-length":10}',
    ]);
  });
});

describe("Permission", () => {
  it("builds the permission for the named user", () => {
    const spec = permission({ vhost: "orders", user: "app", permissions: { write: ".*" } }).spec;
    expect(desiredPermission(spec, "app")).toEqual({ vhost: "orders", user: "app", configure: "", write: ".*", read: "" });
    const desired = desiredPermission(spec, "app");
    expect(permissionDifferences(desired, { ...desired })).toEqual([]);
    expect(permissionDifferences(desired, { ...desired, read: ".*" })).toEqual(['read is ".*", want ""']);
  });

  it("takes the user of a User object: its declared name, else its spec, else its metadata name", () => {
    const byReference = permission({ vhost: "/", userReference: { name: "alice" } });
    expect(permissionUser(byReference, noLookups)).toEqual(new Problem("UserNotFound", "User messaging/alice (userReference) does not exist"));
    const lookups = (stored: ReturnType<typeof user>): TopologyLookups => ({ secret: () => undefined, user: () => stored });
    expect(permissionUser(byReference, lookups(user({})))).toBe("alice");
    expect(permissionUser(byReference, lookups(user({ username: "alice-the-user" })))).toBe("alice-the-user");
    expect(permissionUser(byReference, lookups({ ...user({ username: "renamed" }), status: { username: "declared" } }))).toBe("declared");
    expect(permissionAdapter.needs(byReference)).toEqual([
      { type: "vhost", vhost: "/" },
      { type: "userObject", namespace: "messaging", name: "alice" },
    ]);
  });
});

describe("Vhost", () => {
  it("builds tags as a set and limits under RabbitMQ's names", () => {
    expect(desiredVhost(vhost({ name: "orders", tags: ["b", "a", "b"], limits: { queues: 10 } }).spec)).toEqual({
      name: "orders",
      tags: ["a", "b"],
      tracing: false,
      limits: { "max-queues": 10 },
    });
  });

  const desired = desiredVhost(vhost({ name: "orders", tags: ["a"], defaultQueueType: "quorum", limits: { connections: 5 } }).spec);
  const info = { name: "orders", description: "by hand", tags: ["a"], tracing: false, defaultQueueType: "quorum", stoppedOn: [] };

  it("compares tags, tracing, default queue type and every limit; a limit set by hand is drift", () => {
    expect(vhostDifferences(desired, { info, limits: { "max-connections": 5 }, refusingOn: [] })).toEqual([]);
    expect(
      vhostDifferences(desired, {
        info: { ...info, tags: ["a", "x"], tracing: true, defaultQueueType: "classic" },
        limits: { "max-queues": 1 },
        refusingOn: [],
      }),
    ).toEqual([
      'tags is ["a","x"], want ["a"]',
      "tracing is true, want false",
      'defaultQueueType is "classic", want "quorum"',
      "limit max-connections is null, want 5",
      "limit max-queues is 1, want null",
    ]);
  });

  it("does not chase a default queue type the server does not keep (RabbitMQ < 3.11, where the version check refuses it first)", () => {
    const observed = { info: { ...info, defaultQueueType: undefined }, limits: { "max-connections": 5 }, refusingOn: [] };
    expect(vhostDifferences(desired, observed)).toEqual([]);
    expect(vhostAdapter.features!(desired)).toEqual([VERSIONED_FEATURES.vhostDefaultQueueType]);
    expect(vhostAdapter.features!(desiredVhost(vhost({ name: "plain" }).spec))).toEqual([]);
  });

  it("counts a vhost stopped on a node as drift only where that node serves clients (a booting node starts its vhosts itself)", () => {
    const stopped = { ...info, stoppedOn: ["rabbit@booting", "rabbit@serving"] };
    const serving = new Set(["rabbit@serving", "rabbit@other"]);
    expect(stoppedWhereServing(stopped, serving)).toEqual(["rabbit@serving"]);
    expect(vhostDifferences(desired, { info: stopped, limits: { "max-connections": 5 }, refusingOn: stoppedWhereServing(stopped, serving) })).toEqual([
      "stopped on node rabbit@serving, which refuses connections to it",
    ]);
    expect(stoppedWhereServing(stopped, new Set())).toEqual([]);
    // A server that does not say which nodes serve (stats disabled): every node it is stopped on.
    expect(stoppedWhereServing(stopped, undefined)).toEqual(["rabbit@booting", "rabbit@serving"]);
  });
});

describe("User", () => {
  const desired = desiredUser(user({ tags: ["monitoring", "management"], limits: { channels: 10 } }).spec, { username: "alice", password: "s3cret" });
  const info = { name: "alice", passwordHash: S3CRET_HASH, hashingAlgorithm: "rabbit_password_hashing_sha256", tags: ["management", "monitoring"] };

  it("is in sync when RabbitMQ's hash is of the password we hold", () => {
    expect(desired).toEqual({ username: "alice", password: "s3cret", tags: ["management", "monitoring"], limits: { "max-channels": 10 } });
    expect(userDifferences(desired, { info, limits: { "max-channels": 10 } })).toEqual([]);
  });

  it("sees a password, tags or limits changed behind our back", () => {
    expect(userDifferences({ ...desired, password: "rotated" }, { info: { ...info, tags: ["administrator"] }, limits: {} })).toEqual([
      "password differs from the credentials Secret",
      'tags is ["administrator"], want ["management","monitoring"]',
      "limit max-channels is null, want 10",
    ]);
  });

  it("reads its credentials Secret, and the imported one when it imports", () => {
    expect(userAdapter.secretsRead!(user({}))).toEqual(["alice-user-credentials"]);
    expect(userAdapter.secretsRead!(user({ importCredentialsSecret: { name: "legacy" } }))).toEqual(["alice-user-credentials", "legacy"]);
  });

  it("provides its RabbitMQ name and itself as a User object", () => {
    expect(userAdapter.provides({ ...user({}), status: { username: "alice" } })).toEqual([
      { type: "userObject", namespace: "messaging", name: "alice" },
      { type: "user", name: "alice" },
    ]);
  });
});

describe("the adapters", () => {
  it("are one per topology kind, each for its own kind: the one list the controllers are made from", () => {
    expect(TOPOLOGY_ADAPTERS.map((adapter) => adapter.definition.kind)).toEqual(TOPOLOGY_KINDS.map((kind) => kind.kind));
  });

  it("leave Secret wiring to the kinds that read Secrets of their own: only User does", () => {
    expect(TOPOLOGY_ADAPTERS.filter((adapter) => adapter.secretsRead).map((adapter) => adapter.definition.kind)).toEqual(["User"]);
  });
});
