// The ConfigMap with every configuration file of the nodes, and the hash of the part of it that
// only takes effect on a restart ("does this change need a pod restart?" lives here).
import { createHash } from "node:crypto";
import type { V1ConfigMap } from "@kubernetes/client-node";
import type { RabbitCluster } from "../api/index.js";
import { PEERS_KEY, renderAdditionalConfig, renderEnabledPlugins, renderNodeType, renderOperatorDefaults, renderPeers } from "./rabbitmq-config.js";
import type { BuildContext } from "./context.js";
import { childMetadata, clusterNames } from "./names.js";

/** Keys whose content the nodes read only on boot: a change rolls the pods. */
function restartRelevantData(cluster: RabbitCluster): Record<string, string> {
  return {
    "operator-defaults.conf": renderOperatorDefaults(cluster),
    "node-type-disc.conf": renderNodeType("disc"),
    "node-type-ram.conf": renderNodeType("ram"),
    "additional.conf": renderAdditionalConfig(cluster),
    enabled_plugins: renderEnabledPlugins(cluster),
    "advanced.config": cluster.spec.rabbitmq?.advancedConfig ?? "[].\n",
    "rabbitmq-env.conf": cluster.spec.rabbitmq?.envConfig ?? "",
  };
}

export function buildServerConfigMap(cluster: RabbitCluster, ctx: BuildContext): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: childMetadata(cluster, clusterNames(cluster).serverConfig),
    data: {
      ...restartRelevantData(cluster),
      // Seeds for joining nodes only: scaling changes it, running nodes ignore it.
      [PEERS_KEY]: renderPeers(cluster, ctx.clusterDomain, ctx.seeding),
    },
  };
}

/** Hash of the configuration that needs a restart; on the pod template, it rolls the pods when it changes. */
export function serverConfigHash(cluster: RabbitCluster): string {
  const data = restartRelevantData(cluster);
  const hash = createHash("sha256");
  for (const key of Object.keys(data).sort()) hash.update(`${key}\0${data[key]}\0`);
  return hash.digest("hex").slice(0, 16);
}
