import { describe, expect, it } from "vitest";
import { policyChanges } from "../../../operator/controllers/rabbit-cluster/policies.js";
import { atLeast, judgeFeature, judgeFeatures, parseVersion, policyFeatures, VERSIONED_FEATURES } from "../../../operator/rabbitmq/versions.js";

const v = (text: string) => parseVersion(text)!;

describe("parseVersion", () => {
  it.each([
    ["4.0.5", { major: 4, minor: 0, patch: 5 }],
    ["3.10.8", { major: 3, minor: 10, patch: 8 }],
    ["v3.13", { major: 3, minor: 13 }],
    ["4.1.4-management", { major: 4, minor: 1, patch: 4 }],
    ["4.0.0+beta.1", { major: 4, minor: 0, patch: 0 }],
    ["latest", undefined],
    ["", undefined],
  ])("%s", (text, expected) => expect(parseVersion(text)).toEqual(expected));

  it("compares by major, then minor (3.10 is older than 3.12, newer than 3.9)", () => {
    expect(atLeast(v("3.10.8"), 3, 12)).toBe(false);
    expect(atLeast(v("3.10.8"), 3, 9)).toBe(true);
    expect(atLeast(v("4.0.5"), 3, 12)).toBe(true);
    expect(atLeast(v("4.0.5"), 4, 0)).toBe(true);
  });
});

describe("judgeFeature", () => {
  const applyTo = VERSIONED_FEATURES.policyApplyToQueueType("quorum_queues");

  it("refuses a feature the version does not have yet, naming both versions and what to use instead", () => {
    expect(judgeFeature(applyTo, v("3.10.8"))).toEqual({
      refused:
        "applyTo: quorum_queues needs RabbitMQ 3.12 or later and this cluster runs RabbitMQ 3.10.8; use applyTo: queues (queues of every type), with a pattern that matches only the queues meant",
    });
    expect(judgeFeature(applyTo, v("3.12.0"))).toBeUndefined();
    expect(judgeFeature(applyTo, v("4.0.5"))).toBeUndefined();
  });

  it("refuses a feature the version has removed", () => {
    const mirroring = VERSIONED_FEATURES.classicQueueMirroring(["ha-mode"]);
    expect(judgeFeature(mirroring, v("3.13.7"))).toBeUndefined();
    expect(judgeFeature(mirroring, v("4.0.5"))).toEqual({
      refused:
        "classic queue mirroring (ha-mode) was removed in RabbitMQ 4.0 and this cluster runs RabbitMQ 4.0.5; use quorum queues, which replicate without a policy",
    });
  });

  it("says when the version takes a setting and ignores it", () => {
    const queueMode = VERSIONED_FEATURES.queueMode("the argument x-queue-mode");
    expect(judgeFeature(queueMode, v("3.10.8"))).toBeUndefined();
    expect(judgeFeature(queueMode, v("4.0.5"))).toEqual({
      ignored:
        "the argument x-queue-mode has had no effect since RabbitMQ 3.12 (this cluster runs RabbitMQ 4.0.5): classic queues move their messages to disk by themselves, so it can be left out",
    });
  });

  it("sorts several features into refused and ignored", () => {
    const features = policyFeatures({ applyTo: "streams", definition: { "queue-mode": "lazy", "ha-sync-mode": "automatic", "ha-mode": "all" } });
    expect(features.map((f) => f.what)).toEqual(["applyTo: streams", "classic queue mirroring (ha-mode, ha-sync-mode)", "the policy key queue-mode"]);
    expect(judgeFeatures(features, v("3.10.8"))).toEqual({ refused: [expect.stringContaining("applyTo: streams needs RabbitMQ 3.12")], ignored: [] });
    expect(judgeFeatures(features, v("4.0.5"))).toEqual({
      refused: [expect.stringContaining("classic queue mirroring (ha-mode, ha-sync-mode) was removed in RabbitMQ 4.0")],
      ignored: [expect.stringContaining("the policy key queue-mode has had no effect since RabbitMQ 3.12")],
    });
    expect(policyFeatures({ applyTo: "queues", definition: { "max-length": 10 } })).toEqual([]);
  });
});

describe("a RabbitCluster's spec.policies judged by the cluster's version", () => {
  const policy = (name: string, applyTo: "queues" | "quorum_queues", definition: Record<string, unknown>) => ({
    name,
    vhost: "/",
    pattern: ".*",
    applyTo,
    priority: 0,
    definition,
  });
  const declared = [policy("fine", "queues", { "max-length": 10 }), policy("quorum-only", "quorum_queues", { "delivery-limit": 3 })];

  it("puts the ones the version takes and names the others", () => {
    const changes = policyChanges(declared, [], [], v("3.10.8"));
    expect(changes.put.map((p) => p.name)).toEqual(["fine"]);
    expect(changes.refused).toEqual([expect.stringMatching(/^policy "quorum-only" in vhost "\/": applyTo: quorum_queues needs RabbitMQ 3.12/)]);
    expect(policyChanges(declared, [], [], v("4.0.5"))).toMatchObject({ put: declared, refused: [] });
  });

  it("puts every one when the version is unknown: RabbitMQ judges them", () => {
    expect(policyChanges(declared, [], [])).toMatchObject({ put: declared, refused: [], ignored: [] });
  });
});
