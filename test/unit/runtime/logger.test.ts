import { describe, expect, it } from "vitest";
import { ApiError, createLogger } from "../../../operator/runtime/index.js";

describe("logger", () => {
  it("writes one JSON object per line, with child fields, errors described, below-threshold levels dropped", () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "info", write: (line) => lines.push(line), now: () => Date.UTC(2025, 0, 1) });
    const child = logger.child({ controller: "RabbitCluster" });
    child.debug("hidden");
    child.info("reconciled", { key: "ns/a", skipped: undefined });
    child.error("failed", { error: new ApiError(409, "conflict", "Conflict") });
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { ts: "2025-01-01T00:00:00.000Z", level: "info", msg: "reconciled", controller: "RabbitCluster", key: "ns/a" },
      {
        ts: "2025-01-01T00:00:00.000Z",
        level: "error",
        msg: "failed",
        controller: "RabbitCluster",
        error: { message: "conflict", statusCode: 409, reason: "Conflict" },
      },
    ]);
  });

  it("never throws on cycles", () => {
    const lines: string[] = [];
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    createLogger({ write: (line) => lines.push(line) }).warn("cycle", { cyclic });
    expect(JSON.parse(lines[0]!).cyclic).toEqual({ self: "[cycle]" });
  });
});
