// What the RabbitCluster controller runs inside the node pods, one function per step: RabbitMQ's
// CLI tools offer these and the management API does not. rabbitmq/cluster-operations.ts provides
// it over pods/exec; unit tests provide fakes, to break any step on purpose.
export interface QuorumCheck {
  critical: boolean;
  detail: string;
}

export interface NodeOperations {
  /** Whether stopping this pod's node would leave a quorum queue without a majority. */
  quorumCritical(pod: string, signal?: AbortSignal): Promise<QuorumCheck>;
  /** Messages (ready + unacknowledged) of a vhost's queues that live on this pod's node, by queue name. */
  localQueueMessages(pod: string, vhost: string, signal?: AbortSignal): Promise<Map<string, number>>;
  /** Maintenance mode: moves queue leaders away, closes client connections, stops accepting new ones. */
  drain(pod: string, timeoutSeconds: number, signal?: AbortSignal): Promise<void>;
  /** Leaves maintenance mode: the node accepts clients and hosts leaders again. */
  revive(pod: string, signal?: AbortSignal): Promise<void>;
  /** Removes the node's members from every quorum queue (run from another node). */
  shrinkQuorumQueues(fromPod: string, node: string, signal?: AbortSignal): Promise<void>;
  /** Adds a member on this node to these quorum queues of one vhost, where they lack one (run on any node). */
  growQuorumQueues(fromPod: string, node: string, queues: { vhost: string; names: string[] }, signal?: AbortSignal): Promise<void>;
  /** Removes a stopped node from the cluster's membership (run from a running node). */
  forget(fromPod: string, node: string, signal?: AbortSignal): Promise<void>;
}
