// What the RabbitCluster controller observes before deciding anything: the Kubernetes side
// (StatefulSets, pods, volumes) and the RabbitMQ side (cluster membership from the management API).
import type { V1ContainerStatus } from "@kubernetes/client-node";
import type { NodeType, RabbitClusterStatus } from "../../api/index.js";
import type { QuorumQueueMembers, RabbitNodeObservation, RabbitRuntime } from "./management-port.js";

/** A scale-down the operator started and recorded in status before draining the node. */
export type NodeRemoval = NonNullable<RabbitClusterStatus["nodeRemoval"]>;

export interface StatefulSetObservation {
  replicas: number;
  readyReplicas: number;
  updateRevision?: string;
  /**
   * The StatefulSet controller has not yet seen its latest spec (status.observedGeneration behind
   * metadata.generation): updateRevision is stale, so which pods are outdated is not known yet.
   */
  updating?: boolean;
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
  /** Why its RabbitMQ container does not run (crash loop, image, config), with its last log lines. */
  failure?: string;
  /** The image of its RabbitMQ container, as the pod specifies it. */
  image?: string;
}

export interface VolumeClaimObservation {
  name: string;
  type: NodeType;
  ordinal: number;
}

export interface ClusterObservation {
  statefulSets: Record<NodeType, StatefulSetObservation | undefined>;
  pods: PodObservation[];
  volumeClaims: VolumeClaimObservation[];
  /** Undefined when the management API could not be reached. */
  rabbitNodes?: RabbitNodeObservation[];
  /** Undefined when the management API could not be reached. */
  runtime?: RabbitRuntime;
  /** Every quorum queue with its members; undefined when the management API could not be reached. */
  quorumQueues?: QuorumQueueMembers[];
  /** Why the management API could not be reached. */
  rabbitError?: string;
  /** A condition reason for rabbitError when it is more than unreachable (DefaultUserRejected). */
  rabbitErrorReason?: string;
  /** The node removal recorded in status, if one was started and not finished. */
  removal?: NodeRemoval;
}

export const NODE_TYPES: readonly NodeType[] = ["disc", "ram"];

/** `persistence-<cluster>-<type>-<ordinal>`: the claim a StatefulSet makes for a pod. */
export function parseOrdinal(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^\d+$/.test(rest) ? Number(rest) : undefined;
}

/** Waiting reasons of a container that will not run without a change. */
const FAILING_WAITING_REASONS = new Set([
  "CrashLoopBackOff",
  "CreateContainerConfigError",
  "CreateContainerError",
  "ErrImagePull",
  "ImagePullBackOff",
  "ErrImageNeverPull",
  "InvalidImageName",
]);
const MAX_FAILURE_LINES = 8;

/**
 * Why the pod's RabbitMQ container is failing, from its status (pure): the waiting reason, the
 * last exit, and the last lines it logged (its termination message); undefined while it runs or
 * is merely starting.
 */
export function containerFailure(status: V1ContainerStatus | undefined, failedRunLog?: string): string | undefined {
  if (!status || status.ready) return undefined;
  const waiting = status.state?.waiting?.reason;
  const terminated = status.state?.terminated ?? status.lastState?.terminated;
  const failedExit = terminated && terminated.exitCode !== 0 ? terminated : undefined;
  if (!(waiting && FAILING_WAITING_REASONS.has(waiting)) && !failedExit) return undefined;
  const parts = [waiting ?? failedExit?.reason ?? "Error"];
  // RabbitMQ exits 0 when it fails to boot ("Kernel pid terminated"): the exit is named anyway.
  if (terminated) parts.push(`exit code ${terminated.exitCode}${status.restartCount ? ` after ${status.restartCount} restarts` : ""}`);
  const lines = bootErrors(failedRunLog ?? "") ?? lastLines(failedExit?.message ?? status.state?.waiting?.message ?? "");
  return `${parts.join(", ")}${lines.length > 0 ? `: ${lines.join(" | ")}` : ""}`;
}

/**
 * The first error lines of a RabbitMQ node's log (the cause comes first; the crash report after
 * it repeats it), without timestamps and process ids; undefined when there is none.
 */
export function bootErrors(log: string): string[] | undefined {
  const errors = log
    .split("\n")
    .map((line) => /\[error\]\s+<[^>]*>\s?(.*)$/.exec(line)?.[1]?.trim())
    .filter((line): line is string => Boolean(line));
  return errors.length > 0 ? [...new Set(errors)].slice(0, MAX_FAILURE_LINES) : undefined;
}

function lastLines(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-MAX_FAILURE_LINES);
}
