// The pure parts of the management API client: URL building, error parsing and classification,
// the retry policy (with an injected sleep and randomness), decoding of RabbitMQ's JSON. The
// client against a real RabbitMQ is tested in test/integration/rabbitmq/management.test.ts.
import { describe, expect, it } from "vitest";
import { decodeBinding, decodeNode, decodeOverview, decodeQueue, decodeVhost, decodeLimits } from "../../../operator/rabbitmq/management-decode.js";
import { ManagementApiError, amqpCodeOf, parseErrorBody } from "../../../operator/rabbitmq/management-errors.js";
import { apiPath, normalizeBaseUrl, withQuery } from "../../../operator/rabbitmq/management-http.js";
import { backoffDelay, isTransient, retryDelay, type RetryPolicy } from "../../../operator/rabbitmq/management-retry.js";
import { exchangeSegment, propertiesKeyFromLocation } from "../../../operator/rabbitmq/management.js";

describe("URL building", () => {
  it("percent-encodes every segment, the default vhost included", () => {
    expect(apiPath("queues", "/", "orders")).toBe("/api/queues/%2F/orders");
    expect(apiPath("vhosts", "team a/b#?%")).toBe("/api/vhosts/team%20a%2Fb%23%3F%25");
    expect(apiPath("permissions", "/", "user@example.com")).toBe("/api/permissions/%2F/user%40example.com");
  });

  it("refuses dot segments, which URL parsers would resolve away", () => {
    expect(() => apiPath("vhosts", "..")).toThrow(/cannot be addressed/);
    expect(() => apiPath("queues", "/", ".")).toThrow(/cannot be addressed/);
    expect(apiPath("queues", "/", "...")).toBe("/api/queues/%2F/...");
  });

  it("keeps a path prefix, drops trailing slashes, credentials and queries from the base URL", () => {
    expect(normalizeBaseUrl("http://rabbit:15672/")).toBe("http://rabbit:15672");
    expect(normalizeBaseUrl("https://user:secret@rabbit.example.com/rabbitmq//?x=1#y")).toBe("https://rabbit.example.com/rabbitmq");
    expect(() => normalizeBaseUrl("amqp://rabbit:5672")).toThrow(/http or https/);
    expect(() => normalizeBaseUrl("rabbit:15672/api")).toThrow();
  });

  it("never shows a password written into a URL it refuses", () => {
    for (const url of ["amqp://app:s3cret-pw@rabbit:5672", "http://app:s3cret-pw@rab bit:15672"]) {
      expect(() => normalizeBaseUrl(url)).toThrow(/URL/);
      expect(() => normalizeBaseUrl(url)).not.toThrow(/s3cret-pw/);
    }
  });

  it("adds only the query parameters that are set", () => {
    expect(withQuery("/api/queues", { columns: "name,vhost", disable_stats: "true", "if-empty": undefined })).toBe(
      "/api/queues?columns=name%2Cvhost&disable_stats=true",
    );
    expect(withQuery("/api/queues", { "if-empty": undefined })).toBe("/api/queues");
    expect(withQuery("/api/queues", undefined)).toBe("/api/queues");
  });

  it("addresses the default exchange as amq.default", () => {
    expect(exchangeSegment("")).toBe("amq.default");
    expect(exchangeSegment("orders")).toBe("orders");
  });

  it("reads a new binding's properties key from its Location", () => {
    // As RabbitMQ 3.10 answers: the key ("a.%2A~2pnG8w") is percent-encoded once more in the URL.
    expect(propertiesKeyFromLocation("q1/a.%252A~2pnG8w")).toBe("a.%2A~2pnG8w");
    expect(propertiesKeyFromLocation("q1/~")).toBe("~");
    expect(propertiesKeyFromLocation(undefined)).toBeUndefined();
    expect(propertiesKeyFromLocation("q1/")).toBeUndefined();
  });
});

describe("error parsing", () => {
  it("takes RabbitMQ's error and reason from the JSON body", () => {
    expect(parseErrorBody('{"error":"not_found","reason":"vhost_not_found"}')).toEqual({ error: "not_found", reason: "vhost_not_found" });
    expect(parseErrorBody('{"error":"Object Not Found","reason":"Not Found"}')).toEqual({ error: "Object Not Found", reason: "Not Found" });
  });

  it("unescapes the HTML entities RabbitMQ puts into reasons and keeps them on one line", () => {
    const body = JSON.stringify({
      error: "bad_request",
      reason: 'Validation failed\n\n[{&lt;&lt;"bogus-key"&gt;&gt;,1}] are not recognised policy settings\n',
    });
    expect(parseErrorBody(body).reason).toBe('Validation failed: [{<<"bogus-key">>,1}] are not recognised policy settings');
  });

  it("falls back to the body's text when it is not RabbitMQ's JSON", () => {
    expect(parseErrorBody("<html>502 Bad Gateway</html>")).toEqual({ reason: "<html>502 Bad Gateway</html>" });
    expect(parseErrorBody("")).toEqual({ reason: "" });
    expect(parseErrorBody("[1,2]")).toEqual({ reason: "[1,2]" });
  });

  it("recognises the AMQP error behind a 400", () => {
    expect(amqpCodeOf("inequivalent arg 'x-max-length' for queue 'q1' in vhost 'v1': received '20' but current is '10'")).toBe("PRECONDITION_FAILED");
    expect(amqpCodeOf("invalid property 'non-durable' for queue 'qq' in vhost 'v1'")).toBe("PRECONDITION_FAILED");
    expect(amqpCodeOf("PRECONDITION_FAILED - inequivalent arg 'durable'")).toBe("PRECONDITION_FAILED");
    expect(amqpCodeOf("RESOURCE_LOCKED - cannot obtain exclusive access")).toBe("RESOURCE_LOCKED");
    expect(amqpCodeOf("unknown exchange type 'bogus'")).toBeUndefined();
  });
});

describe("ManagementApiError", () => {
  const precondition = new ManagementApiError({
    kind: "http",
    method: "PUT",
    path: "/api/queues/%2F/orders",
    status: 400,
    error: "bad_request",
    reason: "inequivalent arg 'x-max-length' for queue 'orders' in vhost '/': received '20' but current is '10'",
    attempts: 1,
  });

  it("says what was asked and what RabbitMQ answered", () => {
    expect(precondition.message).toBe(
      "PUT /api/queues/%2F/orders: RabbitMQ answered 400: bad_request: inequivalent arg 'x-max-length' for queue 'orders' in vhost '/': received '20' but current is '10'",
    );
    expect(precondition).toBeInstanceOf(Error);
    expect(precondition.name).toBe("ManagementApiError");
  });

  it("gives a controller the fields of a status condition", () => {
    expect(precondition.isPreconditionFailed).toBe(true);
    expect(precondition.amqpCode).toBe("PRECONDITION_FAILED");
    expect(precondition.conditionReason).toBe("PreconditionFailed");
    expect(precondition.isNotFound).toBe(false);
    expect(precondition.isUnreachable).toBe(false);
  });

  it("derives condition reasons from RabbitMQ's token, the status or the failure", () => {
    const http = (status: number, reason: string, error?: string) =>
      new ManagementApiError({ kind: "http", method: "PUT", path: "/api/x", status, error, reason, attempts: 1 });
    expect(http(404, "vhost_not_found", "not_found").conditionReason).toBe("VhostNotFound");
    expect(http(400, "vhost_or_user_not_found", "bad_request").conditionReason).toBe("VhostOrUserNotFound");
    expect(http(404, "Not Found", "Object Not Found").conditionReason).toBe("NotFound");
    expect(http(401, "Login failed", "not_authorized").conditionReason).toBe("Unauthorized");
    expect(http(400, "unknown exchange type 'bogus'", "bad_request").conditionReason).toBe("BadRequest");
    expect(http(503, "timeout").conditionReason).toBe("Timeout");
    expect(http(500, "Internal Server Error").conditionReason).toBe("ServerError");

    const network = new ManagementApiError({
      kind: "network",
      method: "GET",
      path: "/api/overview",
      reason: "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1",
      attempts: 4,
    });
    expect(network.conditionReason).toBe("Unreachable");
    expect(network.isUnreachable).toBe(true);
    expect(network.message).toBe("GET /api/overview: cannot reach RabbitMQ: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1 (after 4 attempts)");
    const timeout = new ManagementApiError({ kind: "timeout", method: "GET", path: "/api/overview", reason: "timed out after 200 ms", attempts: 1 });
    expect(timeout.conditionReason).toBe("Timeout");
  });
});

describe("retry policy", () => {
  const policy: RetryPolicy = { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 1_000, multiplier: 3, jitter: 0.5 };

  it("grows the delay exponentially up to the cap", () => {
    const noJitter = { ...policy, jitter: 0 };
    expect([1, 2, 3, 4, 5].map((retry) => backoffDelay(noJitter, retry))).toEqual([100, 300, 900, 1_000, 1_000]);
  });

  it("draws only the jitter fraction at random", () => {
    expect(backoffDelay(policy, 2, () => 0)).toBe(150);
    expect(backoffDelay(policy, 2, () => 1)).toBe(300);
    expect(backoffDelay(policy, 2, () => 0.5)).toBe(225);
  });

  it("retries connection errors, timeouts and 5xx, never 4xx", () => {
    expect(isTransient({ kind: "network" })).toBe(true);
    expect(isTransient({ kind: "timeout" })).toBe(true);
    for (const status of [500, 502, 503, 504]) expect(isTransient({ kind: "status", status })).toBe(true);
    for (const status of [400, 401, 403, 404, 405, 409, 412, 429, 501, 505]) expect(isTransient({ kind: "status", status })).toBe(false);
  });

  it("gives up after maxAttempts and never repeats a request that is not idempotent", () => {
    const random = () => 0;
    expect(retryDelay(policy, 1, { kind: "network" }, true, random)).toBe(50);
    expect(retryDelay(policy, 3, { kind: "status", status: 503 }, true, random)).toBe(450);
    expect(retryDelay(policy, 4, { kind: "network" }, true, random)).toBeUndefined();
    expect(retryDelay(policy, 1, { kind: "network" }, false, random)).toBeUndefined();
    expect(retryDelay(policy, 1, { kind: "status", status: 400 }, true, random)).toBeUndefined();
    expect(retryDelay({ ...policy, maxAttempts: 1 }, 1, { kind: "timeout" }, true, random)).toBeUndefined();
  });

  it("adds up to a bounded total wait (what a caller sleeps through before it sees the error)", () => {
    const sleeps: number[] = [];
    for (let attempt = 1; ; attempt++) {
      const delay = retryDelay(policy, attempt, { kind: "timeout" }, true, () => 1);
      if (delay === undefined) break;
      sleeps.push(delay);
    }
    expect(sleeps).toEqual([100, 300, 900]);
  });
});

describe("decoding RabbitMQ's JSON", () => {
  it("turns a 3.10 vhost into camelCase and drops the default queue type 3.10 does not have", () => {
    const vhost = decodeVhost({
      name: "v1",
      description: "d",
      tags: ["a", "b"],
      default_queue_type: "undefined",
      metadata: { description: "d", tags: ["a", "b"] },
      tracing: true,
      cluster_state: { "rabbit@a": "running" },
    });
    expect(vhost).toEqual({ name: "v1", description: "d", tags: ["a", "b"], defaultQueueType: undefined, tracing: true, stoppedOn: [] });
    expect(decodeVhost({ name: "v2", tags: "x, y", default_queue_type: "quorum" })).toMatchObject({
      tags: ["x", "y"],
      defaultQueueType: "quorum",
      stoppedOn: [],
    });
  });

  it("lists the nodes a vhost is stopped on, not those that are down or running", () => {
    const vhost = decodeVhost({ name: "v", cluster_state: { "rabbit@c": "stopped", "rabbit@a": "running", "rabbit@d": "nodedown", "rabbit@b": "stopped" } });
    expect(vhost.stoppedOn).toEqual(["rabbit@b", "rabbit@c"]);
  });

  it("reads the listeners of every node from the overview", () => {
    const overview = decodeOverview({
      rabbitmq_version: "3.10.8",
      listeners: [
        { node: "rabbit@a", protocol: "amqp", ip_address: "::", port: 5672 },
        { node: "rabbit@a", protocol: "http", ip_address: "::", port: 15672 },
        { node: "rabbit@b", protocol: "amqp/ssl", ip_address: "::", port: 5671 },
      ],
    });
    expect(overview.listeners).toEqual([
      { node: "rabbit@a", protocol: "amqp", port: 5672 },
      { node: "rabbit@a", protocol: "http", port: 15672 },
      { node: "rabbit@b", protocol: "amqp/ssl", port: 5671 },
    ]);
    // Left out by a server with management stats disabled: unknown, not "no listener anywhere".
    expect(decodeOverview({ rabbitmq_version: "3.10.8" }).listeners).toBeUndefined();
  });

  it("reads a queue's definition and statistics; quorum queues name their leader", () => {
    const queue = decodeQueue({
      name: "qq",
      vhost: "/",
      type: "quorum",
      durable: true,
      auto_delete: false,
      arguments: { "x-queue-type": "quorum" },
      leader: "rabbit@b",
      messages: 3,
      messages_ready: 2,
      messages_unacknowledged: 1,
      consumers: 1,
    });
    expect(queue).toMatchObject({
      type: "quorum",
      durable: true,
      autoDelete: false,
      node: "rabbit@b",
      messages: 3,
      messagesReady: 2,
      messagesUnacknowledged: 1,
      consumers: 1,
    });
    // Without `type` (older versions, or not among the columns) x-queue-type tells.
    expect(decodeQueue({ name: "s", vhost: "/", arguments: { "x-queue-type": "stream" } }).type).toBe("stream");
    expect(decodeQueue({ name: "c", vhost: "/" }).type).toBe("classic");
    expect(() => decodeQueue({ vhost: "/" })).toThrow(/has no "name"/);
  });

  it("reads bindings, nodes and limits", () => {
    expect(
      decodeBinding({
        source: "e1",
        vhost: "v1",
        destination: "q1",
        destination_type: "queue",
        routing_key: "a.*",
        arguments: { k: 1 },
        properties_key: "a.%2A~x",
      }),
    ).toEqual({ vhost: "v1", source: "e1", destination: "q1", destinationType: "queue", routingKey: "a.*", arguments: { k: 1 }, propertiesKey: "a.%2A~x" });
    expect(() => decodeBinding({ source: "", vhost: "/", destination: "x", destination_type: "topic", properties_key: "~" })).toThrow(/destination_type/);
    expect(decodeNode({ name: "rabbit@a", type: "ram", running: false })).toEqual({ name: "rabbit@a", type: "ram", running: false });
    const limits = decodeLimits([{ vhost: "v1", value: { "max-queues": 5, "max-other": 1 } }], "vhost", ["max-connections", "max-queues"] as const);
    expect(limits.get("v1")).toEqual({ "max-queues": 5 });
  });
});
