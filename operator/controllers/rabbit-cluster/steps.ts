// The steps that change a cluster's membership or restart a node, as RabbitMQ's tools and the
// Kubernetes API carry them out (the port is step-port.ts). Every write is preceded by a
// leadership check: a reconcile that outlived its Lease stops there.
import type { RabbitCluster } from "../../api/index.js";
import { throwIfStopped } from "../../runtime/controller.js";
import type { QueueKey } from "./management-port.js";
import type { StreamReplica } from "./node-operations-port.js";
import { streamReplicaMoves, type StreamReplicaMove } from "./plan.js";
import type { ClusterSteps, StepEnvironment, StepOutcome } from "./step-port.js";
import type { ConditionValue } from "./status.js";
import type { Step } from "./plan.js";

const SETTLING_REQUEUE_MS = 5_000;
const DRAIN_TIMEOUT_SECONDS = 300;
/** How long the streams whose replicas moved may take to run again on their new members. */
export const STREAM_SETTLE_TIMEOUT_MS = 120_000;
const STREAM_SETTLE_POLL_MS = 1_000;

export class ClusterStepExecutor implements ClusterSteps {
  /** The cluster with what the steps recorded in its status (the node removal in progress). */
  cluster: RabbitCluster;

  constructor(private readonly env: StepEnvironment) {
    this.cluster = env.cluster;
  }

  /**
   * Checks that the node may leave, records the removal (before anything changes, so that any
   * interruption is finished or reverted by the next reconcile), drains it, moves its quorum
   * members and stream replicas to nodes that stay, then lowers the StatefulSet by one.
   */
  async removeNode(step: Extract<Step, { kind: "removeNode" }>): Promise<StepOutcome> {
    const { operations, observation, signal, log } = this.env;
    const refusal = await this.removalRefusal(step);
    if (refusal) {
      if (!step.resumed) return refusal;
      // Interrupted earlier, and now it may not leave: it stays, so out of maintenance with it.
      throwIfStopped(signal);
      await operations.revive(step.pod, signal);
      this.cluster = await this.env.writes.recordRemoval(undefined);
      await this.env.event("Normal", "NodeRevived", `${step.node} stays in the cluster (its removal cannot go on now) and was taken out of maintenance`);
      return refusal;
    }
    const removal = observation.removal;
    if (!step.resumed || !removal) {
      throwIfStopped(signal);
      const started = { node: step.node, pod: step.pod, type: step.type, ordinal: step.ordinal, startedAt: new Date(this.env.now()).toISOString() };
      this.cluster = await this.env.writes.recordRemoval(started);
      log.info("removing node", { node: step.node });
      await this.env.event("Normal", "RemovingNode", `draining ${step.node} before it leaves the cluster`);
    } else {
      log.info("resuming an interrupted node removal", { node: step.node, startedAt: removal.startedAt });
      await this.env.event("Normal", "ResumingNodeRemoval", `resuming the removal of ${step.node}, interrupted after it started at ${removal.startedAt}`);
    }
    throwIfStopped(signal);
    await operations.drain(step.pod, DRAIN_TIMEOUT_SECONDS, signal);
    const other =
      observation.pods.find((p) => p.ready && p.name !== step.pod && p.type === "disc") ?? observation.pods.find((p) => p.ready && p.name !== step.pod);
    throwIfStopped(signal);
    if (other) await operations.shrinkQuorumQueues(other.name, step.node, signal);
    // Stream commands from the first disc node: it is in the stream coordinator (see topology/connection.ts).
    const coordinatorPod = observation.pods.find((p) => p.ready && p.name !== step.pod && p.type === "disc" && p.ordinal === 0) ?? other;
    if (coordinatorPod) await this.moveStreamReplicas(step.node, coordinatorPod.name, step.resumed);
    // The point of no return: the spec may have changed while the node was draining.
    if (this.env.writes.desiredNodes(step.type) > step.ordinal) return { requeueAfterMs: 1_000 };
    throwIfStopped(signal);
    await this.env.writes.setReplicas(step.type, step.ordinal);
    return { requeueAfterMs: SETTLING_REQUEUE_MS };
  }

  async reviveNode(step: Extract<Step, { kind: "reviveNode" }>): Promise<StepOutcome> {
    this.env.log.info("reviving a node whose removal is no longer wanted", { node: step.node });
    throwIfStopped(this.env.signal);
    await this.env.operations.revive(step.pod, this.env.signal);
    this.cluster = await this.env.writes.recordRemoval(undefined);
    await this.env.event(
      "Normal",
      "NodeRevived",
      `${step.node} is wanted again (spec.nodes changed while it was being removed) and was taken out of maintenance`,
    );
    return { requeueAfterMs: SETTLING_REQUEUE_MS };
  }

  async growQuorumQueues(step: Extract<Step, { kind: "growQuorumQueues" }>): Promise<StepOutcome> {
    this.env.log.info("adding quorum queue members", { node: step.node, vhost: step.vhost, queues: step.queues.length });
    throwIfStopped(this.env.signal);
    await this.env.operations.growQuorumQueues(step.fromPod, step.node, { vhost: step.vhost, names: step.queues }, this.env.signal);
    await this.env.event(
      "Normal",
      "QuorumQueuesGrown",
      `added a member on ${step.node} to ${step.queues.length} quorum queue(s) of vhost ${step.vhost} short of replicas: ${listSome(step.queues)}`,
    );
    return { requeueAfterMs: 1_000 };
  }

  async forgetNode(step: Extract<Step, { kind: "forgetNode" }>): Promise<StepOutcome> {
    this.env.log.info("forgetting node", { node: step.node, from: step.fromPod });
    throwIfStopped(this.env.signal);
    await this.env.operations.forget(step.fromPod, step.node, this.env.signal);
    await this.env.event("Normal", "NodeForgotten", `${step.node} left the cluster`);
    return { requeueAfterMs: 1_000 };
  }

  async deleteVolumeClaim(step: Extract<Step, { kind: "deleteVolumeClaim" }>): Promise<StepOutcome> {
    this.env.log.info("deleting volume of removed node", { claim: step.name });
    throwIfStopped(this.env.signal);
    await this.env.writes.deleteVolumeClaim(step.name);
    return { requeueAfterMs: 1_000 };
  }

  async restartPod(step: Extract<Step, { kind: "restartPod" }>): Promise<StepOutcome> {
    const { operations, observation, signal } = this.env;
    // A failing node runs no quorum member to lose (and cannot be asked): no check for it.
    const failing = observation.pods.some((p) => p.name === step.pod && p.failure && !p.ready);
    const critical = failing ? { critical: false, detail: "" } : await operations.quorumCritical(step.pod, signal);
    if (critical.critical) {
      return {
        blocked: blocked("RollingRestartWaiting", `${step.pod} waits to restart: quorum queues would lose their majority without it: ${critical.detail}`),
        requeueAfterMs: 15_000,
      };
    }
    const streams = await this.streamsLosingMajority(step.pod, critical.streams ?? []);
    if (streams.length > 0) {
      return {
        blocked: blocked("RollingRestartWaiting", `${step.pod} waits to restart: streams would lose their majority without it: ${listSome(streams)}`),
        requeueAfterMs: 15_000,
      };
    }
    this.env.log.info("restarting pod for a new template", { pod: step.pod });
    throwIfStopped(signal);
    await this.env.event("Normal", "RollingRestart", `restarting ${step.pod} to apply a configuration or image change`);
    await this.env.writes.deletePod(step.pod);
    return { requeueAfterMs: SETTLING_REQUEUE_MS };
  }

  /**
   * Of the streams the quorum check listed, those of three or more replicas, as "vhost/name (N
   * replicas)". One of one or two replicas is listed whenever any replica runs on the node, and
   * can only be unavailable while it restarts: waiting would never end.
   */
  private async streamsLosingMajority(pod: string, listed: { vhost: string; name: string }[]): Promise<string[]> {
    const losing: string[] = [];
    for (const vhost of new Set(listed.map((stream) => stream.vhost))) {
      const members = new Map((await this.env.operations.streams(pod, vhost, this.env.signal)).map((stream) => [stream.name, stream.members.length]));
      for (const stream of listed.filter((s) => s.vhost === vhost)) {
        const replicas = members.get(stream.name) ?? 0;
        if (replicas >= 3) losing.push(`${inVhost(vhost, stream.name)} (${replicas} replicas)`);
      }
    }
    return losing;
  }

  /** Why this node may not leave now (a blocking condition), or undefined when it may. */
  private async removalRefusal(step: Extract<Step, { kind: "removeNode" }>): Promise<StepOutcome | undefined> {
    const { operations, signal } = this.env;
    const critical = await operations.quorumCritical(step.pod, signal);
    if (critical.critical) {
      return {
        blocked: blocked("ScaleDownBlocked", `${step.node} cannot leave yet: quorum queues would lose their majority without it: ${critical.detail}`),
        requeueAfterMs: 30_000,
      };
    }
    const holding = await this.classicQueuesHoldingMessages(step.pod, await this.env.management.durableClassicQueuesOn(step.node));
    if (holding.length > 0) {
      return {
        blocked: blocked(
          "ScaleDownBlocked",
          `${step.node} cannot leave: durable classic queues on it hold messages that would be lost: ${holding.slice(0, 10).join(", ")}. Consume or move them first.`,
        ),
        requeueAfterMs: 15_000,
      };
    }
    return undefined;
  }

  /** Of these queues on the pod's node, the ones that hold messages, as "vhost/name (N messages)". */
  private async classicQueuesHoldingMessages(pod: string, queues: QueueKey[]): Promise<string[]> {
    const holding: string[] = [];
    for (const vhost of new Set(queues.map((q) => q.vhost))) {
      const counts = await this.env.operations.localQueueMessages(pod, vhost, this.env.signal);
      for (const queue of queues.filter((q) => q.vhost === vhost)) {
        // Listed as living there but not answering from there: its messages may be on disk.
        const messages = counts.get(queue.name) ?? Number.POSITIVE_INFINITY;
        if (messages > 0) holding.push(`${inVhost(vhost, queue.name)} (${Number.isFinite(messages) ? messages : "unknown number of"} messages)`);
      }
    }
    return holding;
  }

  /**
   * Gives each stream with a replica on the leaving node one on a disc node that stays, then
   * removes the leaving one's, and waits for them to run again. A resumed removal waits for every
   * stream: an earlier attempt may have moved replicas and died (or failed) before they ran
   * again, and RabbitMQ already records those streams without the leaving node.
   */
  private async moveStreamReplicas(leaving: string, fromPod: string, resumed: boolean): Promise<void> {
    const { operations, signal } = this.env;
    const streams = [];
    for (const vhost of await this.env.management.vhostsWithStreams()) streams.push(...(await operations.streams(fromPod, vhost, signal)));
    const moves = streamReplicaMoves(this.cluster, this.env.observation, leaving, streams, this.env.clusterDomain);
    for (const move of moves) {
      const stream = { vhost: move.vhost, name: move.name };
      throwIfStopped(signal);
      if (move.add) await operations.addStreamReplica(fromPod, stream, move.add, signal);
      throwIfStopped(signal);
      await operations.deleteStreamReplica(fromPod, stream, move.remove, signal);
    }
    const unmoved = streams.filter((stream) => !moves.some((move) => move.vhost === stream.vhost && move.name === stream.name));
    await this.waitForStreamsToSettle([...moves, ...(resumed ? unmoved : [])], fromPod);
    if (moves.length === 0) return;
    const listed = moves.map((move) => `${inVhost(move.vhost, move.name)}${move.add ? ` (to ${move.add})` : ""}`);
    await this.env.event(
      "Normal",
      "StreamReplicasMoved",
      `removed the replicas of ${moves.length} stream(s) from ${leaving}, which leaves the cluster: ${listSome(listed)}`,
    );
  }

  /**
   * Until every moved stream runs again on exactly its new members, with a writer. A change of
   * members restarts all of a stream's replicas under a new writer (RabbitMQ 3.10+), and the
   * replica being removed is stopped by its own node: the node must not go before that is done,
   * and the next node not before the stream can be read again.
   */
  private async waitForStreamsToSettle(streams: StreamMembers[], fromPod: string): Promise<void> {
    const { operations, signal } = this.env;
    const deadline = this.env.now() + STREAM_SETTLE_TIMEOUT_MS;
    let waiting = streams;
    const seen = new Map<StreamMembers, StreamReplica[]>();
    if (waiting.length === 0) return;
    for (;;) {
      throwIfStopped(signal);
      for (const stream of waiting) seen.set(stream, await operations.runningStreamReplicas(fromPod, { vhost: stream.vhost, name: stream.name }, signal));
      waiting = waiting.filter((stream) => !hasSettled(stream, seen.get(stream)!));
      if (waiting.length === 0) return;
      if (this.env.now() >= deadline) break;
      await this.env.pause(STREAM_SETTLE_POLL_MS);
    }
    const described = waiting.map((stream) => {
      const running = seen.get(stream)!;
      const writer = running.find((replica) => replica.role === "writer")?.node ?? "none";
      return `${inVhost(stream.vhost, stream.name)} (running on ${running.map((r) => r.node).join(", ") || "no node"}, writer ${writer}; wanted on ${[...stream.members].sort().join(", ")})`;
    });
    throw new Error(
      `streams did not run again on their new replicas within ${STREAM_SETTLE_TIMEOUT_MS / 1000} s after a replica moved off a leaving node: ${listSome(described)}`,
    );
  }
}

/** A stream and the nodes RabbitMQ records as its replicas (after a move: the ones it will run on). */
type StreamMembers = Pick<StreamReplicaMove, "vhost" | "name" | "members">;

/** Runs on exactly its members, one of them the writer. */
function hasSettled(stream: StreamMembers, running: readonly StreamReplica[]): boolean {
  const nodes = running.map((replica) => replica.node).sort();
  const members = [...stream.members].sort();
  return (
    running.filter((replica) => replica.role === "writer").length === 1 && nodes.length === members.length && nodes.every((node, i) => node === members[i])
  );
}

export function blocked(reason: string, message: string): ConditionValue {
  return { type: "ReconcileSuccess", status: "False", reason, message };
}

/** "vhost/name", or "name" in the default vhost. */
function inVhost(vhost: string, name: string): string {
  return `${vhost === "/" ? "" : `${vhost}/`}${name}`;
}

/** The first five, and how many more. */
function listSome(items: string[]): string {
  return items.length > 5 ? `${items.slice(0, 5).join(", ")} and ${items.length - 5} more` : items.join(", ");
}
