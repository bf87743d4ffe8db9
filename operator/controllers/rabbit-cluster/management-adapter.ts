// The RabbitCluster controller's view of a cluster (management-port.ts) over the management
// client, reached in the Kubernetes cluster through the client Service.
import { POLICY_APPLY_TO, type ClusterPolicy, type PolicyApplyTo, type RabbitCluster } from "../../api/index.js";
import { ManagementClient, type JsonObject } from "../../rabbitmq/management.js";
import { managementUrl, serviceHost } from "../../resources/names.js";
import type { ClusterManagement } from "./management-port.js";

const KHEPRI_FEATURE_FLAG = "khepri_db";

const isPolicyApplyTo = (value: string): value is PolicyApplyTo => (POLICY_APPLY_TO as readonly string[]).includes(value);

export function managementOf(client: ManagementClient): ClusterManagement {
  return {
    nodes: () => client.listNodes(),
    async runtime() {
      const [overview, flags] = await Promise.all([client.overview(), client.listFeatureFlags()]);
      // RabbitMQ before 3.13 has no khepri_db flag: Mnesia.
      const khepri = flags.some((flag) => flag.name === KHEPRI_FEATURE_FLAG && flag.state === "enabled");
      return { version: overview.rabbitmqVersion, metadataStore: khepri ? "khepri" : "mnesia" };
    },
    async durableClassicQueuesOn(node) {
      const queues = await client.listQueues({ columns: ["name", "vhost", "type", "durable", "node"] });
      return queues.filter((q) => q.node === node && (q.type ?? "classic") === "classic" && q.durable).map((q) => ({ vhost: q.vhost, name: q.name }));
    },
    async quorumQueues() {
      const queues = await client.listQueues({ columns: ["name", "vhost", "type", "members", "arguments"] });
      return queues
        .filter((q) => q.type === "quorum")
        .map((q) => {
          const size = q.arguments["x-quorum-initial-group-size"];
          return { vhost: q.vhost, name: q.name, members: q.members ?? [], ...(typeof size === "number" && size > 0 ? { initialGroupSize: size } : {}) };
        });
    },
    async vhostsWithStreams() {
      const queues = await client.listQueues({ columns: ["name", "vhost", "type"] });
      return [...new Set(queues.filter((q) => q.type === "stream").map((q) => q.vhost))].sort();
    },
    async policies() {
      return (await client.listPolicies()).map((p): ClusterPolicy => ({
        name: p.name,
        vhost: p.vhost,
        pattern: p.pattern,
        applyTo: isPolicyApplyTo(p.applyTo) ? p.applyTo : "all",
        priority: p.priority,
        definition: p.definition,
      }));
    },
    async putPolicy(policy) {
      await client.putPolicy(policy.vhost, policy.name, {
        pattern: policy.pattern,
        definition: policy.definition as JsonObject,
        priority: policy.priority,
        applyTo: policy.applyTo,
      });
    },
    async deletePolicy({ vhost, name }) {
      await client.deletePolicy(vhost, name);
    },
  };
}

/** The management API of a RabbitCluster, through its client Service (the operator runs in the cluster). */
export function inClusterManagement(clusterDomain: string) {
  return (cluster: RabbitCluster, credentials: { username: string; password: string }): ClusterManagement =>
    managementOf(new ManagementClient({ url: managementUrl(serviceHost(cluster, clusterDomain)), ...credentials }));
}
