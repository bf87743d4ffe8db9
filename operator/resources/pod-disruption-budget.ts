// At most one RabbitMQ node may be voluntarily evicted at a time (node drains, cluster upgrades).
import type { V1PodDisruptionBudget } from "@kubernetes/client-node";
import type { RabbitCluster } from "../api/index.js";
import { childMetadata, clusterNames, clusterSelector } from "./names.js";

export function buildPodDisruptionBudget(cluster: RabbitCluster): V1PodDisruptionBudget {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: childMetadata(cluster, clusterNames(cluster).podDisruptionBudget),
    spec: { maxUnavailable: 1, selector: { matchLabels: clusterSelector(cluster) } },
  };
}
