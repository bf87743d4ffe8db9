// Cluster policies from spec.policies: the differences between what is declared and what
// RabbitMQ has. Pure; the reconciler applies the result.
import type { ClusterPolicy } from "../../api/index.js";
import { desiredPolicy, policyDifferences } from "../topology/kinds/policy.js";
import { judgeFeatures, policyFeatures, type RabbitMQVersion } from "../../rabbitmq/versions.js";
import type { ClusterPolicyKey } from "./management-port.js";

export interface PolicyChanges {
  put: ClusterPolicy[];
  delete: ClusterPolicyKey[];
  /** Declared policies the cluster's RabbitMQ version lacks a feature for: not put, one line each. */
  refused: string[];
  /** Settings of declared policies the version takes and ignores: one line each. */
  ignored: string[];
}

const keyOf = (p: ClusterPolicyKey) => `${p.vhost}\0${p.name}`;

/**
 * declared: spec.policies. observed: RabbitMQ's policies. previouslyManaged: what we applied
 * before (status.policies): only those are ever deleted, never a policy someone else made.
 * version: the cluster's RabbitMQ, when known, which judges the features each policy uses.
 */
export function policyChanges(
  declared: readonly ClusterPolicy[],
  observed: readonly ClusterPolicy[],
  previouslyManaged: readonly ClusterPolicyKey[],
  version?: RabbitMQVersion,
): PolicyChanges {
  const observedByKey = new Map(observed.map((p) => [keyOf(p), p]));
  const declaredKeys = new Set(declared.map(keyOf));
  const refused: string[] = [];
  const ignored: string[] = [];
  const acceptable = declared.filter((p) => {
    if (!version) return true;
    const verdicts = judgeFeatures(policyFeatures(p), version);
    const named = (line: string) => `policy ${JSON.stringify(p.name)} in vhost ${JSON.stringify(p.vhost)}: ${line}`;
    refused.push(...verdicts.refused.map(named));
    ignored.push(...verdicts.ignored.map(named));
    return verdicts.refused.length === 0;
  });
  return {
    refused,
    ignored,
    put: acceptable.filter((p) => {
      const current = observedByKey.get(keyOf(p));
      return policyDifferences(desiredPolicy(p), current && desiredPolicy(current)).length > 0;
    }),
    delete: previouslyManaged.filter((p) => !declaredKeys.has(keyOf(p)) && observedByKey.has(keyOf(p))).map(({ name, vhost }) => ({ name, vhost })),
  };
}
