// The client Service: AMQP, the management UI and API, Prometheus metrics.
import type { V1Service, V1ServicePort } from "@kubernetes/client-node";
import type { RabbitCluster } from "../api/index.js";
import { PORTS } from "../rabbitmq/ports.js";
import { childMetadata, clusterNames, clusterSelector } from "./names.js";
import { mergeOverride } from "./override.js";

export function buildClientService(cluster: RabbitCluster): V1Service {
  const ports: V1ServicePort[] = [
    { name: "amqp", port: PORTS.amqp, targetPort: PORTS.amqp, protocol: "TCP", appProtocol: "amqp" },
    { name: "management", port: PORTS.management, targetPort: PORTS.management, protocol: "TCP", appProtocol: "http" },
    { name: "prometheus", port: PORTS.prometheus, targetPort: PORTS.prometheus, protocol: "TCP", appProtocol: "prometheus.io/metrics" },
  ];
  if (cluster.spec.tls) {
    ports.push(
      { name: "amqps", port: PORTS.amqps, targetPort: PORTS.amqps, protocol: "TCP", appProtocol: "amqps" },
      { name: "management-tls", port: PORTS.managementTls, targetPort: PORTS.managementTls, protocol: "TCP", appProtocol: "https" },
    );
  }
  const metadata = childMetadata(cluster, clusterNames(cluster).clientService);
  const service: V1Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: cluster.spec.service.annotations ? { ...metadata, annotations: cluster.spec.service.annotations } : metadata,
    spec: { type: cluster.spec.service.type, selector: clusterSelector(cluster), ports },
  };
  return mergeOverride(service, cluster.spec.override?.clientService);
}
