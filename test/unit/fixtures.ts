import { API_VERSION, RabbitClusterSpec, withDefaults, type RabbitCluster } from "../../operator/api/index.js";
import type { BuildContext } from "../../operator/resources/index.js";

/** A stored RabbitCluster: defaults filled in as the API server would. */
export function cluster(spec: Partial<RabbitCluster["spec"]> = {}, name = "demo"): RabbitCluster {
  return {
    apiVersion: API_VERSION,
    kind: "RabbitCluster",
    metadata: { name, namespace: "messaging", uid: "6f1c2f4e-0000-4000-8000-000000000001", generation: 1 },
    spec: withDefaults<RabbitCluster["spec"]>(RabbitClusterSpec, spec),
  };
}

/** The cluster of examples/rabbit-cluster.yaml, with TLS and overrides on top: every builder path. */
export function fullCluster(): RabbitCluster {
  return cluster({
    image: "rabbitmq:4.1.4-management",
    nodes: { disc: 3, ram: 2 },
    resources: { requests: { cpu: "100m", memory: "400Mi" }, limits: { memory: "1Gi" } },
    persistence: { storage: "2Gi", storageClassName: "fast", whenDeleted: "Delete" },
    service: { type: "LoadBalancer", annotations: { "example.com/lb": "internal" } },
    terminationGracePeriodSeconds: 300,
    rabbitmq: {
      additionalPlugins: ["rabbitmq_shovel"],
      additionalConfig: "consumer_timeout = 1800000\n",
      advancedConfig: "[{rabbit, [{tcp_listen_options, [{backlog, 256}]}]}].\n",
      envConfig: 'SERVER_ADDITIONAL_ERL_ARGS="+S 2:2"\n',
    },
    policies: [{ name: "limit", vhost: "/", pattern: "^backlog\\.", applyTo: "queues", priority: 1, definition: { "max-length": 1000 } }],
    tls: { secretName: "demo-tls", caSecretName: "demo-ca" },
    tolerations: [{ key: "dedicated", operator: "Equal", value: "rabbitmq", effect: "NoSchedule" }],
    override: {
      statefulSet: { spec: { template: { spec: { containers: [{ name: "rabbitmq", env: [{ name: "EXTRA", value: "1" }] }] } } } },
      clientService: { spec: { externalTrafficPolicy: "Local" } },
    },
  });
}

export const context: BuildContext = {
  clusterDomain: "cluster.local",
  erlangCookie: "cookie-0123456789",
  defaultUser: { username: "default_user_abc", password: "secret-password" },
};
