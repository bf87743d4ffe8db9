// The harness's check that GET /api/nodes shows exactly the cluster it started.
import { describe, expect, it } from "vitest";
import { membershipProblems } from "../../../dev/rabbitmq-cluster.js";

describe("membershipProblems", () => {
  const expected = [
    { nodeName: "rabbit-a-0@localhost", type: "disc" as const },
    { nodeName: "rabbit-a-1@localhost", type: "disc" as const },
    { nodeName: "rabbit-a-2@localhost", type: "ram" as const },
  ];

  it("accepts every node running with its type", () => {
    const seen = expected.map((node) => ({ name: node.nodeName, type: node.type, running: true }));
    expect(membershipProblems(expected, seen)).toEqual([]);
  });

  it("names missing members, wrong types, stopped nodes and strangers", () => {
    const seen = [
      { name: "rabbit-a-0@localhost", type: "disc" as const, running: true },
      { name: "rabbit-a-2@localhost", type: "disc" as const, running: true },
      { name: "rabbit-b-0@localhost", type: "disc" as const, running: false },
    ];
    expect(membershipProblems(expected, seen)).toEqual([
      "rabbit-a-1@localhost is not a member",
      "rabbit-a-2@localhost is disc, expected ram",
      "unexpected member rabbit-b-0@localhost",
    ]);
    expect(membershipProblems(expected.slice(0, 1), [{ name: "rabbit-a-0@localhost", type: "disc", running: false }])).toEqual([
      "rabbit-a-0@localhost is not running",
    ]);
  });
});
