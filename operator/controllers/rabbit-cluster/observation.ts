// What the RabbitCluster controller observes before deciding anything: the Kubernetes side
// (StatefulSets, pods, volumes) and the RabbitMQ side (cluster membership from the management API).
import type { NodeType } from "../../api/index.js";

export interface StatefulSetObservation {
  replicas: number;
  readyReplicas: number;
  updateRevision?: string;
}

export interface PodObservation {
  name: string;
  type: NodeType;
  ordinal: number;
  /** Ready and not terminating. */
  ready: boolean;
  terminating: boolean;
  /** controller-revision-hash of the pod; compared with the StatefulSet's updateRevision. */
  revision?: string;
}

export interface VolumeClaimObservation {
  name: string;
  type: NodeType;
  ordinal: number;
}

export interface RabbitNodeObservation {
  /** Erlang node name, rabbit@<pod>.<headless>.<ns>.svc.<domain>. */
  name: string;
  type: NodeType;
  running: boolean;
}

export interface ClusterObservation {
  statefulSets: Record<NodeType, StatefulSetObservation | undefined>;
  pods: PodObservation[];
  volumeClaims: VolumeClaimObservation[];
  /** Undefined when the management API could not be reached. */
  rabbitNodes?: RabbitNodeObservation[];
  /** Why the management API could not be reached. */
  rabbitError?: string;
}

export const NODE_TYPES: readonly NodeType[] = ["disc", "ram"];

/** `persistence-<cluster>-<type>-<ordinal>`: the claim a StatefulSet makes for a pod. */
export function parseOrdinal(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^\d+$/.test(rest) ? Number(rest) : undefined;
}
