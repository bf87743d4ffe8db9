// What the RabbitCluster controller needs from a cluster's management API. An interface of its
// own, so that the controller states its needs in its terms; rabbitmq/management.ts provides it.
import type { ClusterPolicy } from "../../api/index.js";
import type { RabbitNodeObservation } from "./observation.js";

export interface ClusterPolicyKey {
  name: string;
  vhost: string;
}

export interface ClusterManagement {
  /** Members of the cluster with their type and whether they run. */
  nodes(): Promise<RabbitNodeObservation[]>;
  /** Durable classic queues on this node that hold messages: they would be lost with it. */
  classicQueuesWithMessagesOn(node: string): Promise<string[]>;
  /** The policies of these vhosts as RabbitMQ has them. */
  policies(): Promise<ClusterPolicy[]>;
  putPolicy(policy: ClusterPolicy): Promise<void>;
  deletePolicy(key: ClusterPolicyKey): Promise<void>;
}
