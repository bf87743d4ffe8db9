// What the RabbitCluster controller needs from a cluster's management API. An interface of its
// own, so that the controller states its needs in its terms; rabbitmq/management.ts provides it.
import type { ClusterPolicy, MetadataStore, NodeType } from "../../api/index.js";

/** A member of the cluster as the management API reports it. */
export interface RabbitNodeObservation {
  /** Erlang node name, rabbit@<pod>.<headless>.<ns>.svc.<domain>. */
  name: string;
  type: NodeType;
  running: boolean;
}

/** What RabbitMQ says it is: the truth an image's tag (a digest, `latest`, a private name) may not tell. */
export interface RabbitRuntime {
  version: string;
  metadataStore: MetadataStore;
}

export interface ClusterPolicyKey {
  name: string;
  vhost: string;
}

export interface QueueKey {
  vhost: string;
  name: string;
}

/** A quorum queue and where its replicas are. */
export interface QuorumQueueMembers extends QueueKey {
  members: string[];
  /** x-quorum-initial-group-size: the replica count it was declared with; undefined for the default (every node). */
  initialGroupSize?: number;
}

/** A stream and the nodes of its replicas. */
export interface StreamMembers extends QueueKey {
  members: string[];
}

export interface ClusterManagement {
  /** Members of the cluster with their type and whether they run. */
  nodes(): Promise<RabbitNodeObservation[]>;
  /** The version the nodes run and their metadata store. */
  runtime(): Promise<RabbitRuntime>;
  /**
   * Durable classic queues whose home is this node: they go with it. From queue metadata, not
   * from statistics, which lag by the stats interval and are absent for a new queue.
   */
  durableClassicQueuesOn(node: string): Promise<QueueKey[]>;
  /** Every quorum queue with its members. */
  quorumQueues(): Promise<QuorumQueueMembers[]>;
  /**
   * The vhosts that have streams. Not their replicas: the management API's member list of a
   * stream keeps a removed replica for long (3.10: a second, stale `members` key); NodeOperations.streams has them right.
   */
  vhostsWithStreams(): Promise<string[]>;
  /** The policies of these vhosts as RabbitMQ has them. */
  policies(): Promise<ClusterPolicy[]>;
  putPolicy(policy: ClusterPolicy): Promise<void>;
  deletePolicy(key: ClusterPolicyKey): Promise<void>;
}
