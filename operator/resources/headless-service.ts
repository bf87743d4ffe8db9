// The headless Service of both StatefulSets: every node gets a stable DNS name and Erlang long name.
import type { V1Service } from "@kubernetes/client-node";
import type { RabbitCluster } from "../api/index.js";
import { PORTS } from "../rabbitmq/ports.js";
import { childMetadata, clusterNames, clusterSelector } from "./names.js";

export function buildHeadlessService(cluster: RabbitCluster): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: childMetadata(cluster, clusterNames(cluster).headlessService),
    spec: {
      clusterIP: "None",
      // Nodes must find each other while they boot, before they are ready.
      publishNotReadyAddresses: true,
      selector: clusterSelector(cluster),
      ports: [
        { name: "epmd", port: PORTS.epmd, targetPort: PORTS.epmd, protocol: "TCP" },
        { name: "cluster-rpc", port: PORTS.clustering, targetPort: PORTS.clustering, protocol: "TCP" },
        { name: "amqp", port: PORTS.amqp, targetPort: PORTS.amqp, protocol: "TCP" },
      ],
    },
  } as V1Service;
}
