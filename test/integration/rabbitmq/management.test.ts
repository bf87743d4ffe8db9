// The management API client against a real 2 disc + 1 ram cluster: every method, what "absent"
// means for each kind, the errors RabbitMQ gives and how the client surfaces them, and which
// failures are retried.
import { connect } from "amqplib";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import { ManagementApiError, ManagementClient, type AttemptEvent } from "../../../operator/rabbitmq/management.js";
import { Reachability } from "../../../operator/rabbitmq/reachability.js";
import { managementOf } from "../../../operator/controllers/rabbit-cluster/management-adapter.js";
import { freePort } from "../../../dev/ports.js";
import { useRabbitCluster } from "../../harness/rabbitmq/use-rabbit-cluster.js";
import { managementFailure } from "../../support/management-errors.js";
import { RABBITMQ_VERSION } from "../../../dev/images/rabbitmq-image.js";
import { atLeast, parseVersion } from "../../../operator/rabbitmq/versions.js";
import { publishPersistent } from "../../../dev/workloads.js";

/** The error a promise rejects with, which must be a ManagementApiError. */
async function readyMessages(url: string, queue: string): Promise<number> {
  const connection = await connect(url);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await connection.close();
  }
}

describe("management API client against a real cluster", () => {
  const rabbit = useRabbitCluster({ name: "mgmt", disc: 2, ram: 1 });
  /** The series these nodes run (RABBIT_OPERATOR_RABBITMQ_SERIES): some answers differ. */
  const isRabbitMQ4 = atLeast(parseVersion(RABBITMQ_VERSION)!, 4, 0);
  let client: ManagementClient;
  beforeAll(() => {
    client = rabbit.management();
  });

  describe("cluster", () => {
    it("reads the overview and who we are", async () => {
      const overview = await client.overview();
      expect(overview.rabbitmqVersion).toBe(rabbit.version);
      expect(overview.node).toBe(rabbit.nodes[0]!.nodeName);
      expect(overview.clusterName).not.toBe("");
      expect(overview.objectTotals.exchanges).toBeGreaterThan(0);
      expect(await client.whoami()).toEqual({ name: rabbit.admin.username, tags: ["administrator"] });
    });

    it("lists the feature flags with the states rabbitmqctl reports; the controller's runtime view reads Mnesia and the nodes' version from them", async () => {
      const flags = await client.listFeatureFlags();
      const cli = JSON.parse(await rabbit.rabbitmqctl(rabbit.nodes[0]!, ["list_feature_flags", "name", "state", "--formatter", "json", "-q"])) as {
        name: string;
        state: string;
      }[];
      expect(flags.length).toBeGreaterThan(5);
      expect([...flags].sort((a, b) => a.name.localeCompare(b.name))).toEqual([...cli].sort((a, b) => a.name.localeCompare(b.name)));
      expect(flags).toContainEqual({ name: "quorum_queue", state: "enabled" });
      // 3.10 has no Khepri at all: no khepri_db flag, so Mnesia; 4.0 has it, off unless enabled.
      if (isRabbitMQ4) expect(flags).toContainEqual({ name: "khepri_db", state: "disabled" });
      else expect(flags.map((flag) => flag.name)).not.toContain("khepri_db");
      expect(await managementOf(client).runtime()).toEqual({ version: (await client.overview()).rabbitmqVersion, metadataStore: "mnesia" });
    });

    it("lists the nodes with their types, and gets one by name", async () => {
      const nodes = await client.listNodes();
      expect(nodes).toHaveLength(3);
      for (const node of rabbit.nodes) expect(nodes).toContainEqual({ name: node.nodeName, type: node.type, running: true });
      const ram = rabbit.ramNodes[0]!;
      expect(await client.getNode(ram.nodeName)).toEqual({ name: ram.nodeName, type: "ram", running: true });
      expect(await client.getNode("rabbit@nowhere")).toBeUndefined();
    });

    it("works through the ram node's API as through a disc node's", async () => {
      const viaRam = rabbit.management(rabbit.ramNodes[0]);
      await viaRam.declareQueue("/", "declared-via-ram");
      // Mnesia applies a committed transaction on the other replicas asynchronously: another
      // node sees the queue a moment later.
      await expect
        .poll(() => client.getQueue("/", "declared-via-ram"), { timeout: 5000, interval: 50 })
        .toMatchObject({ name: "declared-via-ram", node: rabbit.ramNodes[0]!.nodeName });
      expect(await viaRam.deleteQueue("/", "declared-via-ram")).toBe(true);
    });
  });

  describe("health checks: a failing check is a result, not an error", () => {
    it("passes the checks a healthy cluster passes", async () => {
      expect(await client.checkAlarms()).toEqual({ ok: true });
      expect(await client.checkLocalAlarms()).toEqual({ ok: true });
      expect(await client.checkNodeIsQuorumCritical()).toEqual({ ok: true });
      expect(await client.checkVirtualHosts()).toEqual({ ok: true });
      expect(await client.checkCertificateExpiration(1, "months")).toEqual({ ok: true });
      expect(await client.checkPortListener(rabbit.nodes[0]!.amqpPort)).toEqual({ ok: true });
      expect(await client.checkProtocolListener("amqp")).toEqual({ ok: true });
    });

    it("reports a failed check with RabbitMQ's reason, without retrying the 503", async () => {
      const attempts: AttemptEvent[] = [];
      const counting = rabbit.management(0, { onAttempt: (event) => attempts.push(event) });
      const closedPort = await freePort();
      const result = await counting.checkPortListener(closedPort);
      expect(result).toMatchObject({ ok: false, reason: "No active listener", details: { status: "failed", missing: closedPort } });
      expect(await counting.checkProtocolListener("mqtt")).toMatchObject({ ok: false, reason: "No active listener" });
      expect(attempts.map((a) => a.status)).toEqual([503, 503]);
    });
  });

  describe("vhosts", () => {
    it("creates, reads, replaces, lists and deletes a vhost", async () => {
      await client.putVhost("vh-crud", { description: "first", tags: ["a", "b"], tracing: true, defaultQueueType: "quorum" });
      // 3.10 accepts default_queue_type and ignores it: the setting arrived in 3.11.
      expect(await client.getVhost("vh-crud")).toEqual({
        name: "vh-crud",
        description: "first",
        tags: ["a", "b"],
        tracing: true,
        defaultQueueType: isRabbitMQ4 ? "quorum" : undefined,
        stoppedOn: [],
      });

      await client.putVhost("vh-crud", { description: "second", tags: ["c"] });
      expect(await client.getVhost("vh-crud")).toMatchObject({ description: "second", tags: ["c"], tracing: false });
      expect((await client.listVhosts()).map((v) => v.name)).toEqual(expect.arrayContaining(["/", "vh-crud"]));

      expect(await client.deleteVhost("vh-crud")).toBe(true);
      expect(await client.getVhost("vh-crud")).toBeUndefined();
      expect(await client.deleteVhost("vh-crud")).toBe(false);
    });

    it("encodes vhost names: the default vhost and names with URL syntax in them", async () => {
      expect(await client.getVhost("/")).toMatchObject({ name: "/" });
      const odd = "team a/b#?%&=+";
      await client.putVhost(odd);
      expect(await client.getVhost(odd)).toMatchObject({ name: odd });
      await client.declareQueue(odd, "q/with spaces?");
      expect(await client.getQueue(odd, "q/with spaces?")).toMatchObject({ name: "q/with spaces?", vhost: odd });
      expect(await client.deleteVhost(odd)).toBe(true);
    });

    it("sets, reads and clears limits, which RabbitMQ then enforces", async () => {
      await client.putVhost("vh-limits");
      expect(await client.getVhostLimits("vh-limits")).toEqual({});
      await client.setVhostLimit("vh-limits", "max-queues", 1);
      await client.setVhostLimit("vh-limits", "max-connections", 5);
      expect(await client.getVhostLimits("vh-limits")).toEqual({ "max-queues": 1, "max-connections": 5 });
      expect((await client.listVhostLimits()).get("vh-limits")).toEqual({ "max-queues": 1, "max-connections": 5 });

      await client.declareQueue("vh-limits", "first");
      const refused = await managementFailure(client.declareQueue("vh-limits", "second"));
      expect(refused.status).toBe(400);
      expect(refused.reason).toMatch(/limit/);

      await client.clearVhostLimit("vh-limits", "max-queues");
      expect(await client.getVhostLimits("vh-limits")).toEqual({ "max-connections": 5 });
      await client.declareQueue("vh-limits", "second");
      expect(await client.getVhostLimits("no-such-vhost")).toBeUndefined();
      await client.deleteVhost("vh-limits");
    });
  });

  describe("users", () => {
    it("creates a user with a password and tags; the user can log in", async () => {
      await client.putUser("alice", { password: "alice-secret", tags: ["management", "monitoring"] });
      const alice = await client.getUser("alice");
      expect(alice).toMatchObject({ name: "alice", tags: ["management", "monitoring"], hashingAlgorithm: "rabbit_password_hashing_sha256" });
      expect(alice?.passwordHash).not.toBe("");
      const asAlice = new ManagementClient({ url: rabbit.managementUrl(), username: "alice", password: "alice-secret" });
      expect(await asAlice.whoami()).toEqual({ name: "alice", tags: ["management", "monitoring"] });
      expect((await client.listUsers()).map((u) => u.name)).toEqual(expect.arrayContaining(["alice", rabbit.admin.username]));
    });

    it("creates a user from a password hash; replacing its tags keeps its credentials", async () => {
      const alice = await client.getUser("alice");
      await client.putUser("alice-twin", { passwordHash: alice!.passwordHash, hashingAlgorithm: alice!.hashingAlgorithm, tags: ["management"] });
      const asTwin = new ManagementClient({ url: rabbit.managementUrl(), username: "alice-twin", password: "alice-secret" });
      expect((await asTwin.whoami()).name).toBe("alice-twin");
      await client.putUser("alice-twin", { passwordHash: alice!.passwordHash, tags: ["monitoring"] });
      expect(await asTwin.whoami()).toEqual({ name: "alice-twin", tags: ["monitoring"] });
    });

    it("answers a wrong password with 401, which is not retried", async () => {
      const attempts: AttemptEvent[] = [];
      const wrong = new ManagementClient({ url: rabbit.managementUrl(), username: "alice", password: "wrong" }, { onAttempt: (a) => attempts.push(a) });
      const error = await managementFailure(wrong.overview());
      expect(error).toMatchObject({ status: 401, conditionReason: "Unauthorized", attempts: 1 });
      // RabbitMQ 4 no longer says why.
      expect(error.message).toBe(`GET /api/overview: RabbitMQ answered 401: not_authorized: ${isRabbitMQ4 ? "Not_Authorized" : "Login failed"}`);
      expect(attempts).toHaveLength(1);
    });

    it("sets, reads and clears user limits", async () => {
      expect(await client.getUserLimits("alice")).toEqual({});
      await client.setUserLimit("alice", "max-connections", 3);
      await client.setUserLimit("alice", "max-channels", 7);
      expect(await client.getUserLimits("alice")).toEqual({ "max-connections": 3, "max-channels": 7 });
      expect((await client.listUserLimits()).get("alice")).toEqual({ "max-connections": 3, "max-channels": 7 });
      await client.clearUserLimit("alice", "max-channels");
      expect(await client.getUserLimits("alice")).toEqual({ "max-connections": 3 });
      expect(await client.getUserLimits("nobody")).toBeUndefined();
    });

    it("deletes a user; deleting an absent one succeeds", async () => {
      expect(await client.deleteUser("alice-twin")).toBe(true);
      expect(await client.getUser("alice-twin")).toBeUndefined();
      expect(await client.deleteUser("alice-twin")).toBe(false);
    });
  });

  describe("permissions", () => {
    it("sets, reads, lists and deletes a permission", async () => {
      await client.putVhost("vh-perm");
      await client.putPermission("vh-perm", "alice", { configure: "^alice\\.", write: ".*", read: "" });
      expect(await client.getPermission("vh-perm", "alice")).toEqual({ user: "alice", vhost: "vh-perm", configure: "^alice\\.", write: ".*", read: "" });
      const inVhost = await client.listPermissions("vh-perm");
      // RabbitMQ gives the user who creates a vhost full permissions in it.
      expect(inVhost).toContainEqual({ user: rabbit.admin.username, vhost: "vh-perm", configure: ".*", write: ".*", read: ".*" });
      expect(inVhost).toContainEqual({ user: "alice", vhost: "vh-perm", configure: "^alice\\.", write: ".*", read: "" });
      expect(inVhost.every((p) => p.vhost === "vh-perm")).toBe(true);
      expect(await client.listPermissions()).toContainEqual({ user: "alice", vhost: "vh-perm", configure: "^alice\\.", write: ".*", read: "" });

      expect(await client.deletePermission("vh-perm", "alice")).toBe(true);
      expect(await client.getPermission("vh-perm", "alice")).toBeUndefined();
      expect(await client.deletePermission("vh-perm", "alice")).toBe(false);
    });

    it("refuses a permission for a missing user or vhost with RabbitMQ's reason", async () => {
      const error = await managementFailure(client.putPermission("vh-perm", "nobody", { configure: "", write: "", read: "" }));
      expect(error).toMatchObject({ status: 400, reason: "vhost_or_user_not_found", conditionReason: "VhostOrUserNotFound" });
      const noVhost = await managementFailure(client.putPermission("no-such-vhost", "alice", { configure: "", write: "", read: "" }));
      expect(noVhost.conditionReason).toBe("VhostOrUserNotFound");
    });
  });

  describe("queues", () => {
    it("declares classic, quorum and stream queues and reads them back", async () => {
      await client.declareQueue("/", "orders", { type: "classic", durable: true, autoDelete: false, arguments: { "x-max-length": 10 } });
      await client.declareQueue("/", "payments", { type: "quorum", arguments: { "x-delivery-limit": 5 } });
      await client.declareQueue("/", "events", { type: "stream", arguments: { "x-max-length-bytes": 10_000_000 } });
      await client.declareQueue("/", "scratch", { durable: false, autoDelete: true });

      expect(await client.getQueue("/", "orders")).toMatchObject({
        name: "orders",
        vhost: "/",
        type: "classic",
        durable: true,
        autoDelete: false,
        arguments: { "x-max-length": 10, "x-queue-type": "classic" },
        node: rabbit.nodes[0]!.nodeName,
      });
      expect(await client.getQueue("/", "payments")).toMatchObject({
        type: "quorum",
        durable: true,
        arguments: { "x-delivery-limit": 5, "x-queue-type": "quorum" },
      });
      expect(await client.getQueue("/", "events")).toMatchObject({ type: "stream", durable: true });
      expect(await client.getQueue("/", "scratch")).toMatchObject({ type: "classic", durable: false, autoDelete: true });
      expect(await client.getQueue("/", "absent")).toBeUndefined();
      expect(await client.getQueue("no-such-vhost", "orders")).toBeUndefined();
    });

    it("declares again with the same settings as a no-op", async () => {
      await client.declareQueue("/", "orders", { type: "classic", durable: true, arguments: { "x-max-length": 10 } });
      await client.declareQueue("/", "payments", { type: "quorum", arguments: { "x-delivery-limit": 5 } });
    });

    it("surfaces PRECONDITION_FAILED with RabbitMQ's message when a queue exists with other settings, without retrying", async () => {
      const attempts: AttemptEvent[] = [];
      const counting = rabbit.management(0, { onAttempt: (a) => attempts.push(a) });
      const error = await managementFailure(counting.declareQueue("/", "orders", { type: "classic", arguments: { "x-max-length": 20 } }));
      expect(error).toMatchObject({
        kind: "http",
        method: "PUT",
        path: "/api/queues/%2F/orders",
        status: 400,
        error: "bad_request",
        reason: "inequivalent arg 'x-max-length' for queue 'orders' in vhost '/': received '20' but current is '10'",
        amqpCode: "PRECONDITION_FAILED",
        conditionReason: "PreconditionFailed",
        attempts: 1,
      });
      expect(error.isPreconditionFailed).toBe(true);
      expect(error.message).toContain("PUT /api/queues/%2F/orders: RabbitMQ answered 400");
      expect(attempts).toHaveLength(1);

      const durability = await managementFailure(client.declareQueue("/", "orders", { durable: false, arguments: { "x-max-length": 10 } }));
      expect(durability.reason).toBe("inequivalent arg 'durable' for queue 'orders' in vhost '/': received 'false' but current is 'true'");
      expect(durability.conditionReason).toBe("PreconditionFailed");
      const type = await managementFailure(client.declareQueue("/", "payments", { type: "classic" }));
      expect(type.reason).toMatch(/inequivalent arg 'x-queue-type'/);
      // RabbitMQ refused; the queue is as it was.
      expect((await client.getQueue("/", "orders"))?.arguments).toEqual({ "x-max-length": 10, "x-queue-type": "classic" });
    });

    it("refuses a quorum queue that is not durable, and a queue in a missing vhost (404 on PUT is an error, not absence)", async () => {
      const nonDurable = await managementFailure(client.declareQueue("/", "bad-quorum", { type: "quorum", durable: false }));
      expect(nonDurable).toMatchObject({ status: 400, amqpCode: "PRECONDITION_FAILED" });
      expect(nonDurable.reason).toMatch(/invalid property 'non-durable'/);
      const noVhost = await managementFailure(client.declareQueue("no-such-vhost", "q"));
      expect(noVhost).toMatchObject({ status: 404, reason: "vhost_not_found", conditionReason: "VhostNotFound" });
    });

    it("lists queues with chosen columns, and queue definitions in bulk without statistics", async () => {
      const typed = await client.listQueues({ vhost: "/", columns: ["type", "durable"] });
      expect(typed).toContainEqual(expect.objectContaining({ name: "payments", vhost: "/", type: "quorum", durable: true }));
      expect(typed.find((q) => q.name === "orders")?.messages).toBeUndefined();

      const definitions = await client.listQueueDefinitions();
      expect(definitions).toContainEqual({
        name: "orders",
        vhost: "/",
        type: "classic",
        durable: true,
        autoDelete: false,
        arguments: { "x-max-length": 10, "x-queue-type": "classic" },
      });
      expect(definitions.map((q) => q.name)).toEqual(expect.arrayContaining(["orders", "payments", "events", "scratch"]));
      expect(await client.listQueueDefinitions("no-such-vhost").catch((e: unknown) => e)).toBeInstanceOf(ManagementApiError);
    });

    it("purges a queue; purging an absent queue says so", async () => {
      await publishPersistent(rabbit.amqpUrl(), "orders", { count: 4 });
      expect(await readyMessages(rabbit.amqpUrl(), "orders")).toBe(4);
      expect(await client.purgeQueue("/", "orders")).toBe(true);
      expect(await readyMessages(rabbit.amqpUrl(), "orders")).toBe(0);
      expect(await client.purgeQueue("/", "absent")).toBe(false);
    });

    it("deletes queues, if empty when asked; deleting an absent queue succeeds", async () => {
      await publishPersistent(rabbit.amqpUrl(), "orders", { count: 1 });
      const notEmpty = await managementFailure(client.deleteQueue("/", "orders", { ifEmpty: true }));
      expect(notEmpty.status).toBe(400);
      expect(notEmpty.reason).toMatch(/not empty/);
      expect(await client.deleteQueue("/", "orders")).toBe(true);
      expect(await client.getQueue("/", "orders")).toBeUndefined();
      expect(await client.deleteQueue("/", "orders")).toBe(false);
      expect(await client.deleteQueue("no-such-vhost", "orders")).toBe(false);
    });
  });

  describe("exchanges", () => {
    it("declares, reads, lists and deletes exchanges", async () => {
      await client.declareExchange("/", "orders.topic", { type: "topic", arguments: { "alternate-exchange": "amq.fanout" } });
      await client.declareExchange("/", "orders.internal", { type: "fanout", durable: false, autoDelete: true, internal: true });
      expect(await client.getExchange("/", "orders.topic")).toEqual({
        name: "orders.topic",
        vhost: "/",
        type: "topic",
        durable: true,
        autoDelete: false,
        internal: false,
        arguments: { "alternate-exchange": "amq.fanout" },
      });
      expect(await client.getExchange("/", "orders.internal")).toMatchObject({ durable: false, autoDelete: true, internal: true });
      expect(await client.getExchange("/", "")).toMatchObject({ name: "", type: "direct" });
      expect(await client.getExchange("/", "absent")).toBeUndefined();
      const all = await client.listExchanges();
      expect(all).toContainEqual(expect.objectContaining({ name: "orders.topic", vhost: "/", type: "topic" }));
      expect(all).toContainEqual(expect.objectContaining({ name: "amq.direct", vhost: "/" }));

      expect(await client.deleteExchange("/", "orders.internal")).toBe(true);
      expect(await client.deleteExchange("/", "orders.internal")).toBe(false);
    });

    it("refuses a different type for an existing exchange (PRECONDITION_FAILED) and an unknown type (400)", async () => {
      const changed = await managementFailure(
        client.declareExchange("/", "orders.topic", { type: "direct", arguments: { "alternate-exchange": "amq.fanout" } }),
      );
      expect(changed).toMatchObject({ status: 400, conditionReason: "PreconditionFailed" });
      expect(changed.reason).toBe("inequivalent arg 'type' for exchange 'orders.topic' in vhost '/': received 'direct' but current is 'topic'");
      const unknown = await managementFailure(client.declareExchange("/", "weird", { type: "bogus" }));
      expect(unknown).toMatchObject({ status: 400, reason: "unknown exchange type 'bogus'", conditionReason: "BadRequest" });
    });
  });

  describe("bindings", () => {
    beforeAll(async () => {
      await client.declareQueue("/", "bound");
      await client.declareExchange("/", "bind.src", { type: "topic" });
      await client.declareExchange("/", "bind.dst", { type: "fanout" });
    });

    it("creates bindings to queues and exchanges and finds them by source, destination and between", async () => {
      const toQueue = { source: "bind.src", destination: "bound", destinationType: "queue" as const, routingKey: "orders.*", arguments: { "x-match": "all" } };
      const key = await client.createBinding("/", toQueue);
      expect(key).toMatch(/^orders\.%2A~/);
      const found = await client.findBinding("/", toQueue);
      expect(found).toEqual({ vhost: "/", ...toQueue, propertiesKey: key });
      // Binding twice is a no-op and yields the same key.
      expect(await client.createBinding("/", toQueue)).toBe(key);
      expect(await client.listBindingsBetween("/", "bind.src", "bound", "queue")).toHaveLength(1);

      const toExchange = { source: "bind.src", destination: "bind.dst", destinationType: "exchange" as const, routingKey: "#" };
      const exchangeKey = await client.createBinding("/", toExchange);
      expect(exchangeKey).toBe("%23");

      const bySource = await client.listBindingsBySource("/", "bind.src");
      expect(bySource.map((b) => b.destination).sort()).toEqual(["bind.dst", "bound"]);
      const intoQueue = await client.listBindingsByDestination("/", "bound", "queue");
      // The default exchange's implicit binding is listed too, with source "".
      expect(intoQueue).toContainEqual(expect.objectContaining({ source: "", destination: "bound", routingKey: "bound" }));
      expect(intoQueue).toContainEqual(expect.objectContaining({ source: "bind.src", propertiesKey: key }));
      expect(await client.listBindingsByDestination("/", "bind.dst", "exchange")).toEqual([expect.objectContaining({ source: "bind.src", routingKey: "#" })]);
      expect(await client.listBindings("/")).toContainEqual(expect.objectContaining({ source: "bind.src", destination: "bind.dst" }));
      expect(await client.listBindings()).toContainEqual(expect.objectContaining({ source: "bind.src", destination: "bound" }));
      expect(await client.listBindingsBySource("/", "absent")).toEqual([]);
    });

    it("round-trips routing keys that need encoding, and deletes by properties key; deleting an absent binding succeeds", async () => {
      const odd = { source: "bind.src", destination: "bound", destinationType: "queue" as const, routingKey: "a b/c%~#" };
      const key = await client.createBinding("/", odd);
      expect(await client.findBinding("/", odd)).toMatchObject({ routingKey: "a b/c%~#", propertiesKey: key });
      expect(await client.deleteBinding("/", { ...odd, propertiesKey: key })).toBe(true);
      expect(await client.findBinding("/", odd)).toBeUndefined();
      expect(await client.deleteBinding("/", { ...odd, propertiesKey: key })).toBe(false);
      expect(await client.deleteBinding("/", { ...odd, destination: "absent", propertiesKey: key })).toBe(false);
    });

    it("refuses a binding to a missing queue with RabbitMQ's reason", async () => {
      const error = await managementFailure(client.createBinding("/", { source: "bind.src", destination: "absent", destinationType: "queue" }));
      expect(error).toMatchObject({ status: 404, method: "POST", reason: "no queue 'absent' in vhost '/'", conditionReason: "NotFound" });
    });
  });

  describe("policies", () => {
    it("creates, reads, lists, applies and deletes a policy", async () => {
      await client.declareQueue("/", "limited.jobs");
      await client.putPolicy("/", "limit-jobs", { pattern: "^limited\\.", definition: { "max-length": 100 }, priority: 3, applyTo: "queues" });
      const policy = { vhost: "/", name: "limit-jobs", pattern: "^limited\\.", applyTo: "queues", priority: 3, definition: { "max-length": 100 } };
      expect(await client.getPolicy("/", "limit-jobs")).toEqual(policy);
      expect(await client.listPolicies("/")).toContainEqual(policy);
      expect(await client.listPolicies()).toContainEqual(policy);
      // The queue's policy field comes with its statistics, emitted every 5 s.
      await expect.poll(async () => (await client.getQueue("/", "limited.jobs"))?.policy, { timeout: 15_000, interval: 500 }).toBe("limit-jobs");

      await client.putPolicy("/", "limit-jobs", { pattern: "^limited\\.", definition: { "max-length": 5 } });
      expect(await client.getPolicy("/", "limit-jobs")).toMatchObject({ priority: 0, applyTo: "all", definition: { "max-length": 5 } });

      expect(await client.deletePolicy("/", "limit-jobs")).toBe(true);
      expect(await client.getPolicy("/", "limit-jobs")).toBeUndefined();
      expect(await client.deletePolicy("/", "limit-jobs")).toBe(false);
    });

    it("refuses an invalid definition with RabbitMQ's validation message on one line", async () => {
      const error = await managementFailure(client.putPolicy("/", "bad", { pattern: ".*", definition: { "bogus-key": 1 } }));
      expect(error.status).toBe(400);
      expect(error.reason).toBe('Validation failed: [{<<"bogus-key">>,1}] are not recognised policy settings');
      // apply-to values of 3.12+ are refused by 3.10 with its own explanation.
      const newer = { pattern: "^nothing-matches$", definition: { "max-length": 1 }, applyTo: "classic_queues" } as const;
      if (isRabbitMQ4) {
        await client.putPolicy("/", "newer", newer);
        expect(await client.getPolicy("/", "newer")).toMatchObject({ applyTo: "classic_queues" });
        await client.deletePolicy("/", "newer");
      } else {
        expect((await managementFailure(client.putPolicy("/", "newer", newer))).reason).toMatch(/apply-to 'classic_queues' unrecognised/);
      }
    });
  });

  describe("bulk listing for drift detection", () => {
    it("reads the whole topology with one GET per kind", async () => {
      await client.putVhost("vh-bulk", { tags: ["bulk"] });
      await client.setVhostLimit("vh-bulk", "max-queues", 50);
      await client.putUser("bulk-user", { password: "x", tags: [] });
      await client.setUserLimit("bulk-user", "max-channels", 9);
      await client.putPermission("vh-bulk", "bulk-user", { configure: ".*", write: ".*", read: ".*" });
      await client.declareQueue("vh-bulk", "bulk-q", { type: "quorum" });
      await client.declareExchange("vh-bulk", "bulk-x", { type: "direct" });
      await client.createBinding("vh-bulk", { source: "bulk-x", destination: "bulk-q", destinationType: "queue", routingKey: "k" });
      await client.putPolicy("vh-bulk", "bulk-p", { pattern: "^bulk", definition: { "max-length": 1 } });

      const attempts: AttemptEvent[] = [];
      const snapshot = await rabbit
        .management(0, { onAttempt: (a) => attempts.push(a) })
        .listTopology(["vhosts", "vhostLimits", "users", "userLimits", "permissions", "queues", "exchanges", "bindings", "policies"]);
      expect(attempts.map((a) => `${a.method} ${a.path.split("?")[0]}`).sort()).toEqual(
        [
          "GET /api/bindings",
          "GET /api/exchanges",
          "GET /api/permissions",
          "GET /api/policies",
          "GET /api/queues",
          "GET /api/user-limits",
          "GET /api/users",
          "GET /api/vhost-limits",
          "GET /api/vhosts",
        ].sort(),
      );
      expect(attempts.find((a) => a.path.startsWith("/api/queues"))?.path).toBe(
        "/api/queues?columns=name%2Cvhost%2Ctype%2Cdurable%2Cauto_delete%2Carguments&disable_stats=true",
      );

      expect(snapshot.vhosts).toContainEqual(expect.objectContaining({ name: "vh-bulk", tags: ["bulk"] }));
      expect(snapshot.vhostLimits?.get("vh-bulk")).toEqual({ "max-queues": 50 });
      expect(snapshot.users).toContainEqual(expect.objectContaining({ name: "bulk-user", tags: [] }));
      expect(snapshot.userLimits?.get("bulk-user")).toEqual({ "max-channels": 9 });
      expect(snapshot.permissions).toContainEqual({ user: "bulk-user", vhost: "vh-bulk", configure: ".*", write: ".*", read: ".*" });
      expect(snapshot.queues).toContainEqual({
        name: "bulk-q",
        vhost: "vh-bulk",
        type: "quorum",
        durable: true,
        autoDelete: false,
        arguments: { "x-queue-type": "quorum" },
      });
      expect(snapshot.exchanges).toContainEqual({
        name: "bulk-x",
        vhost: "vh-bulk",
        type: "direct",
        durable: true,
        autoDelete: false,
        internal: false,
        arguments: {},
      });
      expect(snapshot.bindings).toContainEqual(
        expect.objectContaining({ vhost: "vh-bulk", source: "bulk-x", destination: "bulk-q", routingKey: "k", propertiesKey: "k" }),
      );
      expect(snapshot.policies).toContainEqual(expect.objectContaining({ vhost: "vh-bulk", name: "bulk-p" }));
    });
  });

  describe("failures without an answer", () => {
    it("retries connection errors with backoff, then says the cluster is unreachable", async () => {
      const sleeps: number[] = [];
      const closedPort = await freePort();
      const unreachable = new ManagementClient(
        { url: `http://127.0.0.1:${closedPort}`, username: "a", password: "b" },
        { retry: { maxAttempts: 4, initialDelayMs: 100, multiplier: 2, jitter: 0 }, sleep: async (ms) => void sleeps.push(ms) },
      );
      const error = await managementFailure(unreachable.listVhosts());
      expect(error).toMatchObject({ kind: "network", conditionReason: "Unreachable", attempts: 4, method: "GET" });
      expect(error.reason).toMatch(/ECONNREFUSED/);
      expect(sleeps).toEqual([100, 200, 400]);
      // Deletes are idempotent too: retried the same way.
      sleeps.length = 0;
      await managementFailure(unreachable.deleteQueue("/", "q"));
      expect(sleeps).toHaveLength(3);
    });

    it("gives up on a request without an answer after the per-request timeout, and retries it", async () => {
      // A listener that accepts connections and never answers, like a hung node.
      const sockets: Socket[] = [];
      const blackHole: Server = createServer((socket) => void sockets.push(socket));
      const port = await freePort();
      await new Promise<void>((resolve) => blackHole.listen(port, "127.0.0.1", resolve));
      try {
        const sleeps: number[] = [];
        const hung = new ManagementClient(
          { url: `http://127.0.0.1:${port}`, username: "a", password: "b" },
          { timeoutMs: 200, retry: { maxAttempts: 2 }, sleep: async (ms) => void sleeps.push(ms) },
        );
        const started = Date.now();
        const error = await managementFailure(hung.overview());
        expect(error).toMatchObject({ kind: "timeout", conditionReason: "Timeout", attempts: 2, reason: "timed out after 200 ms" });
        expect(sleeps).toHaveLength(1);
        expect(Date.now() - started).toBeLessThan(5_000);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => blackHole.close(resolve));
      }
    });

    it("waits for a vhost to start past the per-request timeout, once, without making its cluster look slow to other requests", async () => {
      // Starting a vhost answers once its message store has recovered: here 600 ms, three times
      // the client's timeout and six times what counts as slow. Reads answer at once.
      const port = await freePort();
      const server = createHttpServer((request, response) => {
        if (request.method === "POST") setTimeout(() => response.writeHead(204).end(), 600);
        else response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ rabbitmq_version: "3.10.8", node: "rabbit@a" }));
      });
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
      try {
        const attempts: AttemptEvent[] = [];
        const client = new ManagementClient(
          { url: `http://127.0.0.1:${port}`, username: "a", password: "b" },
          { timeoutMs: 200, reachability: new Reachability({ slowMs: 100 }), onAttempt: (attempt) => attempts.push(attempt) },
        );
        const starting = client.startVhost("v", "rabbit@a");
        await new Promise((resolve) => setTimeout(resolve, 300));
        // Past slowMs and past the timeout: the cluster still admits other requests, and they are answered.
        expect((await client.overview()).node).toBe("rabbit@a");
        await starting;
        const posts = attempts.filter((attempt) => attempt.method === "POST");
        expect(posts).toEqual([expect.objectContaining({ path: "/api/vhosts/v/start/rabbit%40a", status: 204 })]);
        expect(posts[0]!.durationMs).toBeGreaterThanOrEqual(550);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it("retries a node that is down until it is back", async () => {
      const ram = rabbit.ramNodes[0]!;
      await rabbit.stopNode(ram);
      const viaStoppedNode = rabbit.management(ram, { retry: { maxAttempts: 60, initialDelayMs: 500, maxDelayMs: 500 } });
      const [overview] = await Promise.all([viaStoppedNode.overview(), rabbit.startNode(ram)]);
      expect(overview.node).toBe(ram.nodeName);
    });
  });
});
