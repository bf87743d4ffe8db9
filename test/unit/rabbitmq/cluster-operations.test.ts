// Parsing what RabbitMQ's CLI tools print, for the cluster operations run in the node pods.
import { describe, expect, it } from "vitest";
import { parseQueueMessages, parseQuorumCritical, parseStreams } from "../../../operator/rabbitmq/cluster-operations.js";

describe("parseQueueMessages (rabbitmqctl list_queues name messages --formatter json)", () => {
  it("reads each queue's message count", () => {
    const output = '[\n{"name":"held","messages":3}\n,{"name":"empty","messages":0}\n]\n';
    expect(parseQueueMessages(output)).toEqual(
      new Map([
        ["held", 3],
        ["empty", 0],
      ]),
    );
  });

  it("reads no output as no queues", () => {
    expect(parseQueueMessages("")).toEqual(new Map());
  });

  it("counts a queue that reports no number as holding messages", () => {
    expect(parseQueueMessages('[{"name":"recovering","messages":""}]').get("recovering")).toBe(Number.POSITIVE_INFINITY);
  });

  it("refuses output that is not a JSON array", () => {
    expect(() => parseQueueMessages('{"error":"x"}')).toThrow(/expected a JSON array/);
  });
});

describe("parseStreams", () => {
  it("keeps the streams of rabbitmqctl list_queues' JSON with their members, and nothing else", () => {
    const output =
      '[\n{"name":"s","type":"stream","members":["rabbit@a","rabbit@b"]}\n,{"name":"q","type":"quorum","members":["rabbit@a"]}\n,{"name":"c","type":"classic","members":""}\n]\n';
    expect(parseStreams(output, "v")).toEqual([{ vhost: "v", name: "s", members: ["rabbit@a", "rabbit@b"] }]);
    expect(parseStreams("", "v")).toEqual([]);
  });
});

describe("parseQuorumCritical (rabbitmq-queues check_if_node_is_quorum_critical --formatter json)", () => {
  const node = "rabbit@demo-disc-4.demo-nodes.messaging.svc.cluster.local";
  const report = (queues: object[]) => JSON.stringify({ result: "error", queues, message: `Node ${node} reported local queues with minimum online quorum` });

  it("passes a node whose check passes", () => {
    expect(parseQuorumCritical(0, '{"result":"ok"}')).toEqual({ critical: false, detail: "" });
  });

  it("names the quorum queues that would lose their majority, as 3.10 and 4.0 type them", () => {
    const on310 = parseQuorumCritical(69, report([{ readable_name: "queue 'orders' in vhost '/'", name: "orders", virtual_host: "/", type: "quorum" }]));
    expect(on310).toEqual({
      critical: true,
      detail: `Node ${node} reported local queues with minimum online quorum: queue 'orders' in vhost '/'`,
      streams: [],
    });
    const on40 = parseQuorumCritical(
      69,
      report([{ readable_name: "queue 'orders' in vhost '/'", name: "orders", virtual_host: "/", type: "rabbit_quorum_queue" }]),
    );
    expect(on40.critical).toBe(true);
  });

  it("does not count streams, which RabbitMQ 4 lists (one of one or two replicas always), and counts the cluster's critical processes", () => {
    const stream = { readable_name: "queue 'events' in vhost '/'", name: "events", virtual_host: "/", type: "rabbit_stream_queue" };
    expect(parseQuorumCritical(69, report([stream]))).toEqual({ critical: false, detail: "", streams: [{ vhost: "/", name: "events" }] });
    const coordinator = { readable_name: "rabbit_stream_coordinator", name: "rabbit_stream_coordinator", virtual_host: "(not applicable)", type: "process" };
    expect(parseQuorumCritical(69, report([stream, coordinator]))).toEqual({
      critical: true,
      detail: `Node ${node} reported local queues with minimum online quorum: rabbit_stream_coordinator (a process of the cluster)`,
      streams: [{ vhost: "/", name: "events" }],
    });
  });

  it("counts output it cannot read as critical, with the output as the reason, and a failed check that names nothing", () => {
    expect(parseQuorumCritical(69, report([]))).toMatchObject({ critical: true });
    expect(parseQuorumCritical(70, "Error: unable to perform an operation on node")).toEqual({
      critical: true,
      detail: "Error: unable to perform an operation on node",
    });
  });

  it("says in one line that RabbitMQ's CLI crashed writing the report (4.0.5, a queue name that is not ASCII), and counts it critical", () => {
    const crash = [
      "Stack trace: ",
      "",
      "** (FunctionClauseError) no function clause matching in JSONOLD.Encoder.BitString.encode_binary_recursive/2",
      "    lib/json/encoder/default_implementations.ex:92: JSONOLD.Encoder.BitString.encode_binary_recursive(...)",
    ].join("\n");
    expect(parseQuorumCritical(69, crash)).toEqual({
      critical: true,
      detail:
        "the check failed, and RabbitMQ's CLI crashed writing which queues (as 4.0 does for a queue name that is not ASCII): ** (FunctionClauseError) no function clause matching in JSONOLD.Encoder.BitString.encode_binary_recursive/2",
    });
  });
});
