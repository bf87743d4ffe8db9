// The RabbitCluster controller's view of a cluster (management-port.ts) over the management
// client, reached in the Kubernetes cluster through the client Service.
import type { ClusterPolicy, RabbitCluster } from "../../api/index.js";
import { ManagementClient, type JsonObject, type PolicyApplyTo } from "../../rabbitmq/management.js";
import { PORTS } from "../../rabbitmq/ports.js";
import { serviceHost } from "../../resources/names.js";
import type { ClusterManagement } from "./management-port.js";

const APPLY_TO: readonly string[] = ["queues", "exchanges", "all", "classic_queues", "quorum_queues", "streams"];

export function managementOf(client: ManagementClient): ClusterManagement {
  return {
    nodes: () => client.listNodes(),
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
    async policies() {
      return (await client.listPolicies()).map(
        (p): ClusterPolicy => ({
          name: p.name,
          vhost: p.vhost,
          pattern: p.pattern,
          applyTo: (APPLY_TO.includes(p.applyTo) ? p.applyTo : "all") as ClusterPolicy["applyTo"],
          priority: p.priority,
          definition: p.definition,
        }),
      );
    },
    async putPolicy(policy) {
      await client.putPolicy(policy.vhost, policy.name, {
        pattern: policy.pattern,
        definition: policy.definition as JsonObject,
        priority: policy.priority,
        applyTo: policy.applyTo as PolicyApplyTo,
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
    managementOf(new ManagementClient({ url: `http://${serviceHost(cluster, clusterDomain)}:${PORTS.management}`, ...credentials }));
}
