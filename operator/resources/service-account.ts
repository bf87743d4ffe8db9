// The nodes' ServiceAccount. Peer discovery is classic_config (stable DNS names), so the nodes never
// call the Kubernetes API: least privilege is no Role at all and no mounted token.
import type { V1ServiceAccount } from "@kubernetes/client-node";
import type { RabbitCluster } from "../api/index.js";
import { childMetadata, clusterNames } from "./names.js";

export function buildServiceAccount(cluster: RabbitCluster): V1ServiceAccount {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: childMetadata(cluster, clusterNames(cluster).serviceAccount),
    automountServiceAccountToken: false,
  };
}
