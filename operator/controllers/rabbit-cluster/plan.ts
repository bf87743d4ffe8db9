// Decides the one next step that changes the cluster's membership or restarts a node. Pure: the
// reconciler observes, asks this module, performs the step, and observes again on the next
// reconcile, so a step interrupted at any line is simply decided again.
import type { NodeType, RabbitCluster } from "../../api/index.js";
import { clusterNames, nodeName } from "../../resources/names.js";
import type { QueueKey, StreamMembers } from "./management-port.js";
import type { RabbitNodeObservation } from "./management-port.js";
import type { ClusterObservation, NodeRemoval, PodObservation } from "./observation.js";
import { NODE_TYPES } from "./observation.js";

export type Step =
  /**
   * Remove the node with the highest ordinal of this type: checks, record, drain, shrink, then one
   * replica less. `resumed`: a removal recorded earlier and interrupted (its node may be drained).
   */
  | { kind: "removeNode"; type: NodeType; ordinal: number; node: string; pod: string; resumed: boolean }
  /** A recorded removal that is no longer wanted (the spec keeps the node): take it out of maintenance. */
  | { kind: "reviveNode"; node: string; pod: string }
  /**
   * Quorum queues of one vhost with fewer replicas on the disc nodes that stay than they should
   * have: a member added on this node (a new disc node after a scale-up, or one that stays when
   * a member's node is about to leave), so that no queue is left with fewer replicas.
   */
  | { kind: "growQuorumQueues"; node: string; fromPod: string; vhost: string; queues: string[] }
  /** A node whose pod is gone for good is still a cluster member: forget it from a running node. */
  | { kind: "forgetNode"; node: string; fromPod: string }
  /** The volume of a removed and forgotten node: it would crash-loop with inconsistent_cluster if it came back. */
  | { kind: "deleteVolumeClaim"; name: string }
  /** A pod runs an old template (configuration or image changed): restart it. */
  | { kind: "restartPod"; pod: string; node: string }
  /** Something must settle first (pods starting, a node joining). */
  | { kind: "wait"; reason: string; message: string }
  | { kind: "none" };

/**
 * Replicas to apply to a StatefulSet. Scaling up is immediate; scaling down happens one node at a
 * time through removeNode, so until then the observed count is kept.
 */
export function replicasToApply(cluster: RabbitCluster, type: NodeType, observation: ClusterObservation): number {
  const desired = cluster.spec.nodes[type];
  const observed = observation.statefulSets[type]?.replicas;
  return observed === undefined || desired >= observed ? desired : observed;
}

export function nextStep(cluster: RabbitCluster, observation: ClusterObservation, clusterDomain: string): Step {
  const names = clusterNames(cluster);
  const podOf = (type: NodeType, ordinal: number) => `${names.statefulSet(type)}-${ordinal}`;
  const expectedNode = (type: NodeType, ordinal: number) => nodeName(cluster, type, ordinal, clusterDomain);
  const runningPods = observation.pods.filter((p) => p.ready);
  const anyRunningPod = (except?: string) => runningPods.find((p) => p.name !== except && p.type === "disc") ?? runningPods.find((p) => p.name !== except);

  // 0. A removal started earlier and interrupted (operator killed, leadership lost, a step
  //    failed): its node may be drained, so it is not ready and the cluster never settles. It is
  //    finished when still wanted, else reverted, before anything else.
  const removal = pendingRemoval(observation);
  if (removal) {
    if (cluster.spec.nodes[removal.type] <= removal.ordinal)
      return { kind: "removeNode", type: removal.type, ordinal: removal.ordinal, node: removal.node, pod: removal.pod, resumed: true };
    return { kind: "reviveNode", node: removal.node, pod: removal.pod };
  }

  // 1. Members whose pods are gone for good: forget them, so that no dead member stays.
  if (observation.rabbitNodes) {
    for (const member of observation.rabbitNodes) {
      if (member.running) continue;
      // A node of a name we do not give is someone else's business.
      const position = positionOf(cluster, member, clusterDomain);
      if (!position) continue;
      const stillWanted = position.ordinal < (observation.statefulSets[position.type]?.replicas ?? 0);
      const podExists = observation.pods.some((p) => p.type === position.type && p.ordinal === position.ordinal);
      if (stillWanted || podExists) continue;
      const from = anyRunningPod();
      if (!from) return { kind: "wait", reason: "NoRunningNode", message: `waiting for a running node to forget ${member.name} from` };
      return { kind: "forgetNode", node: member.name, fromPod: from.name };
    }
  }

  // 2. Volumes of nodes that are gone and forgotten.
  for (const claim of observation.volumeClaims) {
    const replicas = observation.statefulSets[claim.type]?.replicas ?? 0;
    if (claim.ordinal < replicas) continue;
    const podExists = observation.pods.some((p) => p.type === claim.type && p.ordinal === claim.ordinal);
    const stillMember = observation.rabbitNodes?.some((n) => n.name === expectedNode(claim.type, claim.ordinal)) ?? true;
    if (!podExists && !stillMember) return { kind: "deleteVolumeClaim", name: claim.name };
  }

  // 3. Quorum queues short of replicas on the disc nodes that stay, from a settled cluster: grown
  //    before any node leaves, so a removal never leaves a queue one node from losing its majority.
  const growth = quorumGrowth(cluster, observation, clusterDomain);
  if (growth && !unsettledReason(cluster, observation, clusterDomain)) {
    const from = runningPods.find((p) => p.type === "disc");
    if (from) return { ...growth, fromPod: from.name };
  }

  // 4. Scale down, one node at a time, ram nodes before disc nodes, only from a settled cluster.
  for (const type of ["ram", "disc"] as const) {
    const observed = observation.statefulSets[type]?.replicas;
    if (observed === undefined || cluster.spec.nodes[type] >= observed) continue;
    const ordinal = observed - 1;
    const unsettled = unsettledReason(cluster, observation, clusterDomain);
    if (unsettled) return unsettled;
    return { kind: "removeNode", type, ordinal, node: expectedNode(type, ordinal), pod: podOf(type, ordinal), resumed: false };
  }

  // 5. Rolling restart of pods on an old template, one at a time, only from a healthy cluster.
  //    A pod that fails on its old template is the exception: it serves nobody, and the new
  //    template may be what fixes it (a bad configuration reverted), so it is replaced at once.
  //    A pod failing on the current template stops the roll: nothing else is restarted.
  const updating = NODE_TYPES.filter((type) => observation.statefulSets[type]?.updating);
  if (updating.length > 0) {
    return {
      kind: "wait",
      reason: "StatefulSetsUpdating",
      message: `waiting for the StatefulSet controller to see the new ${updating.join(" and ")} template`,
    };
  }
  const outdated = outdatedPods(observation);
  const failingOutdated = outdated.find((p) => p.failure && !p.ready);
  if (failingOutdated) return { kind: "restartPod", pod: failingOutdated.name, node: expectedNode(failingOutdated.type, failingOutdated.ordinal) };
  if (outdated.length > 0) {
    const unsettled = unsettledReason(cluster, observation, clusterDomain);
    if (unsettled) return unsettled;
    const pod = outdated[0]!;
    return { kind: "restartPod", pod: pod.name, node: expectedNode(pod.type, pod.ordinal) };
  }
  return { kind: "none" };
}

/** A stable order of queues: by vhost, then name (the steps of a plan do not depend on listing order). */
function byVhostAndName(a: QueueKey, b: QueueKey): number {
  return a.vhost === b.vhost ? (a.name < b.name ? -1 : 1) : a.vhost < b.vhost ? -1 : 1;
}

export interface StreamReplicaMove {
  vhost: string;
  name: string;
  /** A disc node that stays and has no replica of the stream yet; none when every one has. */
  add?: string;
  remove: string;
  /** The stream's replicas once the move is done: the nodes it runs on when it has settled. */
  members: string[];
}

/**
 * What a leaving node's stream replicas need (pure): RabbitMQ moves none of them (neither drain
 * nor quorum queue shrinking touches streams, and a forgotten node stays a dead member of every
 * stream it had a replica of). Each stream with a replica on it gets one on the first disc node
 * that stays and has none, if any, before it loses the leaving node's.
 */
export function streamReplicaMoves(
  cluster: RabbitCluster,
  observation: ClusterObservation,
  leaving: string,
  streams: readonly StreamMembers[],
  clusterDomain: string,
): StreamReplicaMove[] {
  const stayingCount = Math.min(cluster.spec.nodes.disc, observation.statefulSets.disc?.replicas ?? 0);
  const staying = Array.from({ length: stayingCount }, (_, ordinal) => nodeName(cluster, "disc", ordinal, clusterDomain)).filter((node) => node !== leaving);
  return [...streams]
    .filter((stream) => stream.members.includes(leaving))
    .sort(byVhostAndName)
    .map((stream) => {
      const add = staying.find((node) => !stream.members.includes(node));
      const members = [...stream.members.filter((node) => node !== leaving), ...(add ? [add] : [])].sort();
      return { vhost: stream.vhost, name: stream.name, ...(add ? { add } : {}), remove: leaving, members };
    });
}

/** Queue names per growth step: the names go into one regular expression on one command line. */
export const MAX_QUEUES_PER_GROWTH = 100;

/**
 * The first batch of members to add (pure): each quorum queue should have a replica on as many of
 * the disc nodes that stay (those below both the desired and the current replica count) as it
 * was declared for (x-quorum-initial-group-size; by default every one of them). Members on ram
 * nodes and on leaving nodes do not count: they go with their node. Queues are never shrunk here.
 */
export function quorumGrowth(
  cluster: RabbitCluster,
  observation: ClusterObservation,
  clusterDomain: string,
): Omit<Extract<Step, { kind: "growQuorumQueues" }>, "fromPod"> | undefined {
  if (!observation.quorumQueues) return undefined;
  const stayingCount = Math.min(cluster.spec.nodes.disc, observation.statefulSets.disc?.replicas ?? 0);
  const staying = Array.from({ length: stayingCount }, (_, ordinal) => nodeName(cluster, "disc", ordinal, clusterDomain));
  const additions: { node: string; vhost: string; queue: string }[] = [];
  const queues = [...observation.quorumQueues].sort(byVhostAndName);
  for (const queue of queues) {
    const target = Math.min(queue.initialGroupSize ?? staying.length, staying.length);
    const missing = target - staying.filter((node) => queue.members.includes(node)).length;
    if (missing <= 0) continue;
    for (const node of staying.filter((n) => !queue.members.includes(n)).slice(0, missing)) additions.push({ node, vhost: queue.vhost, queue: queue.name });
  }
  // One node at a time, lowest ordinal first (a stable sort keeps vhost and name order).
  additions.sort((a, b) => staying.indexOf(a.node) - staying.indexOf(b.node));
  const first = additions[0];
  if (!first) return undefined;
  const batch = additions.filter((a) => a.node === first.node && a.vhost === first.vhost).slice(0, MAX_QUEUES_PER_GROWTH);
  return { kind: "growQuorumQueues", node: first.node, vhost: first.vhost, queues: batch.map((a) => a.queue) };
}

/**
 * The recorded removal while it is still in progress: its StatefulSet still has the node's
 * replica. Once the replica is gone the removal is done (forgetting the node and deleting its
 * volume are steps of their own) and the record can be dropped.
 */
export function pendingRemoval(observation: ClusterObservation): NodeRemoval | undefined {
  const removal = observation.removal;
  if (!removal) return undefined;
  return (observation.statefulSets[removal.type]?.replicas ?? 0) > removal.ordinal ? removal : undefined;
}

/** Pods whose template revision is not their StatefulSet's current one: ram before disc, highest ordinal first. */
export function outdatedPods(observation: ClusterObservation): PodObservation[] {
  return NODE_TYPES.slice()
    .reverse()
    .flatMap((type) => {
      const revision = observation.statefulSets[type]?.updateRevision;
      if (!revision) return [];
      return observation.pods
        .filter((p) => p.type === type && !p.terminating && p.revision !== undefined && p.revision !== revision)
        .sort((a, b) => b.ordinal - a.ordinal);
    });
}

/**
 * Whether the planner can come to growing quorum members: no removal to finish and every node
 * running. Only then are the quorum queues listed, not on every reconcile of a busy cluster.
 */
export function mayGrowQuorumQueues(cluster: RabbitCluster, observation: ClusterObservation, clusterDomain: string): boolean {
  return !pendingRemoval(observation) && unsettledReason(cluster, observation, clusterDomain) === undefined;
}

/** Why the cluster is not in a state where a node may leave or restart; undefined when it is. */
function unsettledReason(cluster: RabbitCluster, observation: ClusterObservation, clusterDomain: string): Step | undefined {
  for (const type of NODE_TYPES) {
    const replicas = observation.statefulSets[type]?.replicas ?? 0;
    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      const pod = observation.pods.find((p) => p.type === type && p.ordinal === ordinal);
      if (!pod?.ready)
        return { kind: "wait", reason: "WaitingForPods", message: `waiting for pod ${clusterNames(cluster).statefulSet(type)}-${ordinal} to be ready` };
    }
  }
  if (!observation.rabbitNodes) {
    return { kind: "wait", reason: "ManagementAPIUnreachable", message: observation.rabbitError ?? "the management API cannot be reached" };
  }
  for (const type of NODE_TYPES) {
    const replicas = observation.statefulSets[type]?.replicas ?? 0;
    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      const name = nodeName(cluster, type, ordinal, clusterDomain);
      const member = observation.rabbitNodes.find((n) => n.name === name);
      if (!member?.running) return { kind: "wait", reason: "WaitingForNodes", message: `waiting for ${name} to run in the cluster` };
    }
  }
  return undefined;
}

/** Which StatefulSet and ordinal a RabbitMQ node belongs to, from its name. */
export function positionOf(
  cluster: RabbitCluster,
  node: RabbitNodeObservation | { name: string },
  clusterDomain: string,
): { type: NodeType; ordinal: number } | undefined {
  const names = clusterNames(cluster);
  for (const type of NODE_TYPES) {
    const prefix = `rabbit@${names.statefulSet(type)}-`;
    if (!node.name.startsWith(prefix)) continue;
    const [ordinalText, ...rest] = node.name.slice(prefix.length).split(".");
    const expected = nodeName(cluster, type, Number(ordinalText), clusterDomain);
    if (/^\d+$/.test(ordinalText ?? "") && expected === node.name && rest.length > 0) return { type, ordinal: Number(ordinalText) };
  }
  return undefined;
}
