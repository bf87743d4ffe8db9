import { describe, expect, it } from "vitest";
import { imageVersion, validateCluster } from "../../../operator/resources/index.js";
import { cluster } from "../fixtures.js";

describe("imageVersion", () => {
  it.each([
    ["rabbitmq:4.1.4-management", { major: 4, minor: 1, patch: 4 }],
    ["rabbitmq:3.13-management", { major: 3, minor: 13 }],
    ["localhost/rabbit-operator/rabbitmq:3.10.8", { major: 3, minor: 10, patch: 8 }],
    ["registry.example.com:5000/rabbitmq:4.2.0", { major: 4, minor: 2, patch: 0 }],
    ["rabbitmq:4.2-management@sha256:abcd", { major: 4, minor: 2 }],
    ["rabbitmq:latest", undefined],
    ["rabbitmq", undefined],
    ["rabbitmq@sha256:abcd", undefined],
    ["registry.example.com:5000/rabbitmq", undefined],
  ])("%s", (image, expected) => {
    expect(imageVersion(image)).toEqual(expected);
  });
});

describe("validateCluster", () => {
  it("accepts ram nodes up to RabbitMQ 4.1", () => {
    expect(validateCluster(cluster({ image: "rabbitmq:4.1-management", nodes: { disc: 3, ram: 2 } }))).toEqual([]);
    expect(validateCluster(cluster({ image: "localhost/rabbitmq:3.10.8", nodes: { disc: 1, ram: 1 } }))).toEqual([]);
  });

  it("refuses ram nodes from RabbitMQ 4.2 (Khepri)", () => {
    const problems = validateCluster(cluster({ image: "rabbitmq:4.2.1-management", nodes: { disc: 3, ram: 1 } }));
    expect(problems).toEqual([{ reason: "RamNodesUnsupported", message: expect.stringContaining("4.2") }]);
    expect(validateCluster(cluster({ image: "rabbitmq:4.2.1-management", nodes: { disc: 3, ram: 0 } }))).toEqual([]);
  });

  it("allows ram nodes when the version cannot be told from the image", () => {
    expect(validateCluster(cluster({ image: "rabbitmq@sha256:abcd", nodes: { disc: 1, ram: 1 } }))).toEqual([]);
  });

  it("leaves policies to the version the running cluster reports (a policy problem does not stop the cluster being built)", () => {
    const policies = [{ name: "ha", vhost: "/", pattern: ".*", applyTo: "queues" as const, priority: 0, definition: { "ha-mode": "all" } }];
    expect(validateCluster(cluster({ image: "rabbitmq:4.0-management", policies }))).toEqual([]);
  });

  it("rejects additionalConfig lines that are not key = value", () => {
    const problems = validateCluster(
      cluster({ rabbitmq: { additionalConfig: "# fine\nconsumer_timeout = 10\n\nthis is wrong\nvm_memory_high_watermark.relative=0.5" } }),
    );
    expect(problems).toEqual([{ reason: "InvalidAdditionalConfig", message: expect.stringContaining('"this is wrong"') }]);
  });
});
