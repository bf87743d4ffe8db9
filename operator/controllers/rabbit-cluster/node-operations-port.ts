// What the RabbitCluster controller runs inside the node pods, one function per step: RabbitMQ's
// CLI tools offer these and the management API does not. rabbitmq/cluster-operations.ts provides
// it over pods/exec; unit tests provide fakes, to break any step on purpose.
export interface QuorumCheck {
  /** Quorum queues or critical processes would lose their majority (streams aside). */
  critical: boolean;
  detail: string;
  /** Streams the check listed (RabbitMQ 4 lists them; 3.10 does not), not counted in `critical`. */
  streams?: { vhost: string; name: string }[];
}

export interface StreamReplica {
  node: string;
  role: "writer" | "replica";
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
  /** The streams of a vhost with the nodes of their replicas, as the queue records have them. */
  streams(pod: string, vhost: string, signal?: AbortSignal): Promise<{ vhost: string; name: string; members: string[] }[]>;
  /** Adds a replica of a stream on this node (run from a node of the stream coordinator); nothing when it has one. */
  addStreamReplica(fromPod: string, stream: { vhost: string; name: string }, node: string, signal?: AbortSignal): Promise<void>;
  /** Removes a stream's replica from this (running) node (run from a node of the stream coordinator); nothing when it has none. */
  deleteStreamReplica(fromPod: string, stream: { vhost: string; name: string }, node: string, signal?: AbortSignal): Promise<void>;
  /**
   * The stream's replicas that run now, as the stream's own processes report them (its writer
   * and replicas): after a membership change RabbitMQ stops every replica, elects a writer and
   * starts them again, and until then readers of a node without a running replica get nothing.
   */
  runningStreamReplicas(fromPod: string, stream: { vhost: string; name: string }, signal?: AbortSignal): Promise<StreamReplica[]>;
  /** Every plugin the pod's image has, enabled or not. */
  availablePlugins(pod: string, signal?: AbortSignal): Promise<string[]>;
  /** Removes a stopped node from the cluster's membership (run from a running node). */
  forget(fromPod: string, node: string, signal?: AbortSignal): Promise<void>;
}
