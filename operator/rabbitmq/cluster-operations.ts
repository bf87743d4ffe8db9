// Cluster membership operations, run with RabbitMQ's own CLI tools on the nodes (inside the
// node pods, over pods/exec): the management API has no endpoint for them. Each is safe to repeat
// (a reconcile can be cut off between any two of them and run them again), and each stops when
// its signal is aborted.
import type { KubeConfig } from "@kubernetes/client-node";
import type { NodeOperations, QuorumCheck, StreamReplica } from "../controllers/rabbit-cluster/node-operations-port.js";
import { PodExecError, execInPod, type ExecOptions, type ExecResult } from "./pod-exec.js";

export const RABBITMQ_CONTAINER = "rabbitmq";

/** Runs a CLI command (rabbitmqctl, rabbitmq-queues, ...) against the node of a pod. */
export type NodeCommandRunner = (pod: string, command: string[], options: ExecOptions) => Promise<ExecResult>;

/** In the node's own pod, as the operator does it. */
export function podExecRunner(kc: KubeConfig, namespace: string): NodeCommandRunner {
  return (pod, command, options) => execInPod(kc, { namespace, pod, container: RABBITMQ_CONTAINER }, command, options);
}

export class ClusterOperations implements NodeOperations {
  constructor(private readonly runner: NodeCommandRunner) {}

  private run(pod: string, command: string[], signal?: AbortSignal, timeoutMs?: number): Promise<ExecResult> {
    return this.runner(pod, command, { timeoutMs, signal });
  }

  private async runChecked(pod: string, command: string[], signal?: AbortSignal, timeoutMs?: number): Promise<string> {
    const result = await this.run(pod, command, signal, timeoutMs);
    if (result.exitCode !== 0) throw new PodExecError(pod, command, result, `exited with ${result.exitCode}`);
    return result.stdout;
  }

  async quorumCritical(pod: string, signal?: AbortSignal): Promise<QuorumCheck> {
    const result = await this.run(pod, ["rabbitmq-queues", "check_if_node_is_quorum_critical", "--formatter", "json"], signal);
    return parseQuorumCritical(result.exitCode, result.stdout.trim() || result.stderr.trim());
  }

  /** Asked of the queue processes themselves: exact at this moment, unlike the management statistics. */
  async localQueueMessages(pod: string, vhost: string, signal?: AbortSignal): Promise<Map<string, number>> {
    const output = await this.runChecked(pod, ["rabbitmqctl", "list_queues", "-q", "-p", vhost, "--local", "name", "messages", "--formatter", "json"], signal);
    return parseQueueMessages(output);
  }

  async drain(pod: string, timeoutSeconds: number, signal?: AbortSignal): Promise<void> {
    await this.runChecked(pod, ["rabbitmq-upgrade", "drain", "-t", String(timeoutSeconds)], signal, (timeoutSeconds + 30) * 1000);
  }

  async revive(pod: string, signal?: AbortSignal): Promise<void> {
    await this.runChecked(pod, ["rabbitmq-upgrade", "revive"], signal);
  }

  async shrinkQuorumQueues(fromPod: string, node: string, signal?: AbortSignal): Promise<void> {
    await this.runChecked(fromPod, ["rabbitmq-queues", "shrink", node, "--errors-only"], signal);
  }

  async growQuorumQueues(fromPod: string, node: string, queues: { vhost: string; names: string[] }, signal?: AbortSignal): Promise<void> {
    const command = [
      "rabbitmq-queues",
      "grow",
      node,
      "all",
      "--vhost-pattern",
      exactPattern([queues.vhost]),
      "--queue-pattern",
      exactPattern(queues.names),
      "--errors-only",
    ];
    const output = (await this.runChecked(fromPod, command, signal)).trim();
    // It exits 0 and lists the queues it could not grow.
    const failures = output.split("\n").filter((line) => /error|timeout|nodedown|not_found/i.test(line));
    if (failures.length > 0) throw new Error(`rabbitmq-queues grow ${node}: ${failures.slice(0, 5).join(" | ")}`);
  }

  async streams(pod: string, vhost: string, signal?: AbortSignal): Promise<{ vhost: string; name: string; members: string[] }[]> {
    const output = await this.runChecked(pod, ["rabbitmqctl", "list_queues", "-q", "-p", vhost, "name", "type", "members", "--formatter", "json"], signal);
    return parseStreams(output, vhost);
  }

  async addStreamReplica(fromPod: string, stream: { vhost: string; name: string }, node: string, signal?: AbortSignal): Promise<void> {
    await this.runChecked(fromPod, ["rabbitmq-streams", "add_replica", "--vhost", stream.vhost, stream.name, node], signal);
  }

  async deleteStreamReplica(fromPod: string, stream: { vhost: string; name: string }, node: string, signal?: AbortSignal): Promise<void> {
    await this.runChecked(fromPod, ["rabbitmq-streams", "delete_replica", "--vhost", stream.vhost, stream.name, node], signal);
  }

  async runningStreamReplicas(fromPod: string, stream: { vhost: string; name: string }, signal?: AbortSignal): Promise<StreamReplica[]> {
    const output = await this.runChecked(fromPod, ["rabbitmq-streams", "stream_status", "--vhost", stream.vhost, stream.name, "--formatter", "json"], signal);
    return parseStreamStatus(output);
  }

  async availablePlugins(pod: string, signal?: AbortSignal): Promise<string[]> {
    // --minimal: one name per line; --silent: no banner. Offline: read from the image's plugins directory.
    const output = await this.runChecked(pod, ["rabbitmq-plugins", "list", "--minimal", "--silent"], signal);
    return output
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => /^[a-z0-9_]+$/.test(line));
  }

  async forget(fromPod: string, node: string, signal?: AbortSignal): Promise<void> {
    const result = await this.run(fromPod, ["rabbitmqctl", "forget_cluster_node", node], signal);
    // Forgetting a node that is no longer a member is what we wanted anyway.
    if (result.exitCode !== 0 && !/not a member|not_a_cluster_node/i.test(result.stdout + result.stderr)) {
      throw new PodExecError(fromPod, ["rabbitmqctl", "forget_cluster_node", node], result, `exited with ${result.exitCode}`);
    }
  }
}

/** A regular expression (PCRE, as RabbitMQ's CLI takes) matching exactly these names. */
export function exactPattern(names: readonly string[]): string {
  return `^(?:${names.map((name) => name.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&")).join("|")})$`;
}

/**
 * `rabbitmq-queues check_if_node_is_quorum_critical --formatter json`. RabbitMQ 4 lists streams
 * too, and a stream of one or two replicas always, which would block every removal and restart
 * for good: they come apart from the rest, for the step to judge (a leaving node's replicas are
 * moved; a restart waits only for streams of three or more). Quorum queues and critical
 * processes (4.x: the stream coordinator, Khepri's metadata store) make the node critical. Output
 * that is not the expected report counts as critical: a node is never let go unchecked.
 */
export function parseQuorumCritical(exitCode: number, output: string): QuorumCheck {
  if (exitCode === 0) return { critical: false, detail: "" };
  let report: { message?: unknown; queues?: unknown } | undefined;
  try {
    report = JSON.parse(output) as { message?: unknown; queues?: unknown };
  } catch {
    // RabbitMQ 4.0.5's CLI crashes writing the report of a queue whose name is not ASCII, in
    // JSON and in words alike: its first error line, not a page of stack trace.
    const crash = /^\*\* \(\w+\).*$/m.exec(output)?.[0];
    if (crash)
      return {
        critical: true,
        detail: `the check failed, and RabbitMQ's CLI crashed writing which queues (as 4.0 does for a queue name that is not ASCII): ${crash}`,
      };
    return { critical: true, detail: output };
  }
  if (!report || !Array.isArray(report.queues) || report.queues.length === 0) return { critical: true, detail: output };
  const entries = report.queues as { readable_name?: unknown; name?: unknown; virtual_host?: unknown; type?: unknown }[];
  const isStream = (entry: (typeof entries)[number]) => STREAM_TYPES.has(String(entry.type));
  const streams = entries.filter(isStream).map((entry) => ({ vhost: String(entry.virtual_host), name: String(entry.name) }));
  const blocking = entries.filter((entry) => !isStream(entry));
  if (blocking.length === 0) return { critical: false, detail: "", streams };
  const named = blocking.map((entry) => `${String(entry.readable_name ?? entry.name)}${entry.type === "process" ? " (a process of the cluster)" : ""}`);
  return { critical: true, detail: `${typeof report.message === "string" ? report.message : "critical"}: ${named.join(", ")}`, streams };
}

/** How the check names a stream's type: RabbitMQ 4 gives the queue type's module. */
const STREAM_TYPES = new Set(["stream", "rabbit_stream_queue"]);

/** The rows of a RabbitMQ CLI command's `--formatter json` output (none when it printed nothing). */
function jsonRows<Row>(output: string, command: string): Partial<Row>[] {
  const trimmed = output.trim();
  if (trimmed === "") return [];
  const rows = JSON.parse(trimmed) as unknown;
  if (!Array.isArray(rows)) throw new Error(`${command}: expected a JSON array, got ${trimmed.slice(0, 200)}`);
  return rows as Partial<Row>[];
}

/** `rabbitmqctl list_queues -q name type members --formatter json`: the streams among them. */
export function parseStreams(output: string, vhost: string): { vhost: string; name: string; members: string[] }[] {
  return jsonRows<{ name: unknown; type: unknown; members: unknown }>(output, "list_queues")
    .filter((row) => row.type === "stream" && typeof row.name === "string")
    .map((row) => ({
      vhost,
      name: row.name as string,
      members: Array.isArray(row.members) ? row.members.filter((m): m is string => typeof m === "string") : [],
    }));
}

/** `rabbitmq-streams stream_status --formatter json`: one row per running replica, with its role and node. */
export function parseStreamStatus(output: string): StreamReplica[] {
  return jsonRows<{ role: unknown; node: unknown }>(output, "stream_status")
    .filter((row) => typeof row.node === "string" && (row.role === "writer" || row.role === "replica"))
    .map((row) => ({ node: row.node as string, role: row.role as StreamReplica["role"] }));
}

/** `rabbitmqctl list_queues -q name messages --formatter json`: a JSON array of {name, messages}. */
export function parseQueueMessages(output: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of jsonRows<{ name: unknown; messages: unknown }>(output, "list_queues")) {
    if (typeof row.name !== "string") continue;
    // A queue that cannot answer (e.g. still recovering) reports no number: count it as holding messages.
    counts.set(row.name, typeof row.messages === "number" ? row.messages : Number.POSITIVE_INFINITY);
  }
  return counts;
}
