// Cluster policies from spec.policies: the differences between what is declared and what
// RabbitMQ has. Pure; the reconciler applies the result.
import type { ClusterPolicy } from "../../api/index.js";
import { desiredPolicy, policyDifferences } from "../topology/kinds/policy.js";
import type { ClusterPolicyKey } from "./management-port.js";

export interface PolicyChanges {
  put: ClusterPolicy[];
  delete: ClusterPolicyKey[];
}

const keyOf = (p: ClusterPolicyKey) => `${p.vhost}\0${p.name}`;

/**
 * declared: spec.policies. observed: RabbitMQ's policies. previouslyManaged: what we applied
 * before (status.policies): only those are ever deleted, never a policy someone else made.
 */
export function policyChanges(
  declared: readonly ClusterPolicy[],
  observed: readonly ClusterPolicy[],
  previouslyManaged: readonly ClusterPolicyKey[],
): PolicyChanges {
  const observedByKey = new Map(observed.map((p) => [keyOf(p), p]));
  const declaredKeys = new Set(declared.map(keyOf));
  return {
    put: declared.filter((p) => {
      const current = observedByKey.get(keyOf(p));
      return policyDifferences(desiredPolicy(p), current && desiredPolicy(current)).length > 0;
    }),
    delete: previouslyManaged.filter((p) => !declaredKeys.has(keyOf(p)) && observedByKey.has(keyOf(p))).map(({ name, vhost }) => ({ name, vhost })),
  };
}
