// Policy: replaced as a whole whenever any of its settings differ.
import { TOPOLOGY_KINDS, type Policy, type PolicySpec } from "../../../api/index.js";
import type { JsonObject, PolicyApplyTo, PolicyInfo } from "../../../rabbitmq/management.js";
import { policyFeatures } from "../../../rabbitmq/versions.js";
import type { TopologyAdapter } from "../adapter.js";
import { ABSENT, fieldDifferences, inVhost, jsonObject } from "./common.js";

export interface DesiredPolicy {
  vhost: string;
  name: string;
  pattern: string;
  applyTo: PolicyApplyTo;
  priority: number;
  definition: JsonObject;
}

/** A Policy's spec, or a RabbitCluster's spec.policies entry (the same fields), as RabbitMQ takes it. */
export function desiredPolicy(spec: Pick<PolicySpec, "vhost" | "name" | "pattern" | "applyTo" | "priority" | "definition">): DesiredPolicy {
  return { vhost: spec.vhost, name: spec.name, pattern: spec.pattern, applyTo: spec.applyTo, priority: spec.priority, definition: jsonObject(spec.definition) };
}

/**
 * What differs between a policy as wanted and as RabbitMQ has it; RabbitMQ replaces a policy as a
 * whole, so any difference means declaring it again. Also decides the RabbitCluster's spec.policies.
 */
export function policyDifferences(desired: DesiredPolicy, observed: Pick<PolicyInfo, "pattern" | "applyTo" | "priority" | "definition"> | undefined): string[] {
  if (!observed) return [ABSENT];
  return fieldDifferences([
    ["pattern", observed.pattern, desired.pattern],
    ["applyTo", observed.applyTo, desired.applyTo],
    ["priority", observed.priority, desired.priority],
    ["definition", observed.definition, desired.definition],
  ]);
}

export const policyAdapter: TopologyAdapter<Policy, DesiredPolicy, PolicyInfo> = {
  definition: TOPOLOGY_KINDS.find((kind) => kind.kind === "Policy")!,
  listings: ["policies"],
  prepare: (policy) => desiredPolicy(policy.spec),
  describe: (desired) => `policy ${inVhost(desired.name, desired.vhost)}`,
  observe: (client, desired) => client.getPolicy(desired.vhost, desired.name),
  observeInSnapshot: (snapshot, desired) => snapshot.policy(desired.vhost, desired.name),
  differences: policyDifferences,
  features: policyFeatures,
  async declare(client, desired) {
    await client.putPolicy(desired.vhost, desired.name, {
      pattern: desired.pattern,
      definition: desired.definition,
      priority: desired.priority,
      applyTo: desired.applyTo,
    });
  },
  async delete(client, desired) {
    await client.deletePolicy(desired.vhost, desired.name);
  },
  needs: (policy) => [{ type: "vhost", vhost: policy.spec.vhost }],
  provides: () => [],
};
