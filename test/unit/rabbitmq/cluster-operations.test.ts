// Parsing what RabbitMQ's CLI tools print, for the cluster operations run in the node pods.
import { describe, expect, it } from "vitest";
import { parseQueueMessages, parseStreams } from "../../../operator/rabbitmq/cluster-operations.js";

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
