// Status from a reconcile's outcome, and the Problem a management API failure becomes.
import { describe, expect, it } from "vitest";
import { Problem } from "../../../../operator/controllers/topology/adapter.js";
import { UnaddressableNameError } from "../../../../operator/rabbitmq/management-http.js";
import { computeStatus, isNotReady, isReadyForGeneration, problemOf } from "../../../../operator/controllers/topology/status.js";
import { ManagementApiError } from "../../../../operator/rabbitmq/management.js";
import { queue } from "./fixtures.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");

describe("computeStatus", () => {
  it("Ready=True moves observedGeneration; a failure keeps the last good one", () => {
    const fresh = { ...queue({ name: "q" }), metadata: { ...queue({ name: "q" }).metadata, generation: 2 } };
    const ok = computeStatus(fresh, { ready: true, message: "declared" }, {}, T0);
    expect(ok).toEqual({
      status: {
        observedGeneration: 2,
        conditions: [
          { type: "Ready", status: "True", observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z", reason: "Declared", message: "declared" },
        ],
      },
      transitioned: true,
    });

    const declared = { ...fresh, metadata: { ...fresh.metadata, generation: 3 }, status: ok.status };
    const failed = computeStatus(declared, { ready: false, problem: new Problem("PreconditionFailed", "inequivalent arg") }, {}, T0 + 5_000);
    expect(failed.status.observedGeneration).toBe(2);
    expect(failed.status.conditions[0]).toMatchObject({
      status: "False",
      reason: "PreconditionFailed",
      observedGeneration: 3,
      lastTransitionTime: "2026-01-01T00:00:05Z",
    });
    expect(failed.transitioned).toBe(true);
    expect(isNotReady({ ...declared, status: failed.status })).toBe(true);
  });

  it("does not transition (no Event) when the same outcome repeats, and keeps the transition time", () => {
    const object = queue({ name: "q" });
    const first = computeStatus(object, { ready: true, message: "declared" }, { extra: 1 }, T0);
    const again = computeStatus({ ...object, status: first.status }, { ready: true, message: "declared" }, { extra: 1 }, T0 + 60_000);
    expect(again).toEqual({ status: first.status, transitioned: false });
    expect(isReadyForGeneration({ ...object, status: again.status })).toBe(true);
    expect(isReadyForGeneration({ ...object, metadata: { ...object.metadata, generation: 2 }, status: again.status })).toBe(false);
  });
});

describe("problemOf", () => {
  const refused = new ManagementApiError({
    kind: "http",
    method: "PUT",
    path: "/api/queues/%2F/q",
    status: 400,
    error: "bad_request",
    reason: "inequivalent arg 'durable' for queue 'q' in vhost '/': received 'true' but current is 'false'",
    attempts: 1,
  });

  it("keeps RabbitMQ's words and its AMQP reason", () => {
    expect(problemOf(refused, "declare", 'queue "q" in vhost "/"', "RabbitCluster ns/demo")).toEqual(
      new Problem(
        "PreconditionFailed",
        `RabbitMQ refused to declare queue "q" in vhost "/": inequivalent arg 'durable' for queue 'q' in vhost '/': received 'true' but current is 'false'`,
      ),
    );
  });

  it("says which cluster could not be reached, without attempt counts that would change the status on every retry", () => {
    const unreachable = new ManagementApiError({
      kind: "network",
      method: "GET",
      path: "/api/queues/%2F/q",
      reason: "ECONNREFUSED: connect ECONNREFUSED 10.0.0.1:15672",
      attempts: 4,
    });
    expect(problemOf(unreachable, "declare", 'queue "q" in vhost "/"', "RabbitCluster ns/demo")).toEqual(
      new Problem("Unreachable", `cannot reach RabbitCluster ns/demo to declare queue "q" in vhost "/": ECONNREFUSED: connect ECONNREFUSED 10.0.0.1:15672`),
    );
  });

  it('reports a name the management API cannot address (a user named "..") instead of throwing it', () => {
    expect(problemOf(new UnaddressableNameError(".."), "declare", 'user ".."', "RabbitCluster ns/demo")).toEqual(
      new Problem("UnaddressableName", `cannot declare user "..": ".." cannot be addressed through RabbitMQ's management API`),
    );
  });

  it("leaves other errors (Kubernetes API failures, bugs) to be thrown", () => {
    expect(problemOf(new Error("boom"), "declare", "x", "y")).toBeUndefined();
  });
});
