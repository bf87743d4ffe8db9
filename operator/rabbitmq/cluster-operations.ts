// Cluster membership operations, run with RabbitMQ's own CLI tools inside the node pods: the
// management API has no endpoint for them. Each is safe to repeat (a reconcile can be cut off
// between any two of them and run them again).
import type { KubeConfig } from "@kubernetes/client-node";
import { PodExecError, execInPod, execInPodChecked, type ExecResult } from "./pod-exec.js";

export const RABBITMQ_CONTAINER = "rabbitmq";

export interface QuorumCheck {
  critical: boolean;
  detail: string;
}

export class ClusterOperations {
  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
  ) {}

  private target(pod: string) {
    return { namespace: this.namespace, pod, container: RABBITMQ_CONTAINER };
  }

  private run(pod: string, command: string[], timeoutMs?: number): Promise<ExecResult> {
    return execInPod(this.kc, this.target(pod), command, timeoutMs);
  }

  /** Whether stopping this pod's node would leave a quorum queue without a majority. */
  async quorumCritical(pod: string): Promise<QuorumCheck> {
    const result = await this.run(pod, ["rabbitmq-queues", "check_if_node_is_quorum_critical"]);
    return { critical: result.exitCode !== 0, detail: (result.stdout + result.stderr).trim() };
  }

  /**
   * Messages (ready + unacknowledged) of the queues of a vhost that live on this pod's node, asked
   * of the queue processes themselves: exact at this moment, unlike the management statistics.
   */
  async localQueueMessages(pod: string, vhost: string): Promise<Map<string, number>> {
    const output = await execInPodChecked(this.kc, this.target(pod), ["rabbitmqctl", "list_queues", "-q", "-p", vhost, "--local", "name", "messages", "--formatter", "json"]);
    return parseQueueMessages(output);
  }

  /** Maintenance mode: moves queue leaders away, closes client connections, stops accepting new ones. */
  async drain(pod: string, timeoutSeconds: number): Promise<void> {
    await execInPodChecked(this.kc, this.target(pod), ["rabbitmq-upgrade", "drain", "-t", String(timeoutSeconds)], (timeoutSeconds + 30) * 1000);
  }

  /** Removes the node's members from every quorum queue (run from another node). */
  async shrinkQuorumQueues(fromPod: string, node: string): Promise<void> {
    await execInPodChecked(this.kc, this.target(fromPod), ["rabbitmq-queues", "shrink", node, "--errors-only"]);
  }

  /** Adds a member on this node to every quorum queue that lacks one (run on any node). */
  async growQuorumQueues(fromPod: string, node: string): Promise<void> {
    await execInPodChecked(this.kc, this.target(fromPod), ["rabbitmq-queues", "grow", node, "all", "--errors-only"]);
  }

  /** Removes a stopped node from the cluster's membership (run from a running node). */
  async forget(fromPod: string, node: string): Promise<void> {
    const result = await this.run(fromPod, ["rabbitmqctl", "forget_cluster_node", node]);
    // Forgetting a node that is no longer a member is what we wanted anyway.
    if (result.exitCode !== 0 && !/not a member|not_a_cluster_node/i.test(result.stdout + result.stderr)) {
      throw new PodExecError(fromPod, ["rabbitmqctl", "forget_cluster_node", node], result, `exited with ${result.exitCode}`);
    }
  }
}

/** `rabbitmqctl list_queues -q name messages --formatter json`: a JSON array of {name, messages}. */
export function parseQueueMessages(output: string): Map<string, number> {
  const trimmed = output.trim();
  if (trimmed === "") return new Map();
  const rows = JSON.parse(trimmed) as unknown;
  if (!Array.isArray(rows)) throw new Error(`list_queues: expected a JSON array, got ${trimmed.slice(0, 200)}`);
  const counts = new Map<string, number>();
  for (const row of rows as { name?: unknown; messages?: unknown }[]) {
    if (typeof row.name !== "string") continue;
    // A queue that cannot answer (e.g. still recovering) reports no number: count it as holding messages.
    counts.set(row.name, typeof row.messages === "number" ? row.messages : Number.POSITIVE_INFINITY);
  }
  return counts;
}
