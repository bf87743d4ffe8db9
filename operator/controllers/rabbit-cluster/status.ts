// The RabbitCluster's conditions, each a pure function of what was observed. The reconciler patches
// status only when the result differs from what is stored.
import type { RabbitCluster, RabbitClusterStatus } from "../../api/index.js";
import { clusterEndpoints, clusterNames, nodeName } from "../../resources/names.js";
import { atLeast, parseVersion } from "../../rabbitmq/versions.js";
import type { ClusterObservation } from "./observation.js";
import { NODE_TYPES } from "./observation.js";
import { pendingRemoval } from "./plan.js";

export interface ConditionValue {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

export function allReplicasReady(cluster: RabbitCluster, observation: ClusterObservation): ConditionValue {
  const counts = NODE_TYPES.map((type) => {
    const desired = cluster.spec.nodes[type];
    // Terminating pods still count as ready for the StatefulSet controller; not for us.
    const ready = observation.pods.filter((p) => p.type === type && p.ready && !p.terminating && p.ordinal < desired).length;
    return { type, desired, ready };
  });
  const summary = counts.map((c) => `${c.ready}/${c.desired} ${c.type}`).join(", ");
  const all = counts.every((c) => c.ready === c.desired);
  const failing = observation.pods.filter((p) => p.failure && !p.terminating);
  if (!all && failing.length > 0) {
    return {
      type: "AllReplicasReady",
      status: "False",
      reason: "PodFailing",
      message: `${summary} nodes ready; ${failing.map((p) => `pod ${p.name}: ${p.failure}`).join("; ")}`,
    };
  }
  return {
    type: "AllReplicasReady",
    status: all ? "True" : "False",
    reason: all ? "AllPodsAreReady" : "NotAllPodsReady",
    message: `${summary} nodes ready`,
  };
}

export function clusterAvailable(observation: ClusterObservation): ConditionValue {
  if (!observation.rabbitNodes) {
    return {
      type: "ClusterAvailable",
      status: "False",
      reason: observation.rabbitErrorReason ?? "ManagementAPIUnreachable",
      message: observation.rabbitError ?? "the management API cannot be reached",
    };
  }
  const running = observation.rabbitNodes.filter((n) => n.running).length;
  return running > 0
    ? { type: "ClusterAvailable", status: "True", reason: "ClusterAvailable", message: `${running} of ${observation.rabbitNodes.length} nodes running` }
    : { type: "ClusterAvailable", status: "False", reason: "NoRunningNodes", message: "no node of the cluster is running" };
}

/** Every declared node is a running member of the right type, and no other member is left. */
export function membershipMatches(cluster: RabbitCluster, observation: ClusterObservation, clusterDomain: string): ConditionValue | undefined {
  if (!observation.rabbitNodes) return undefined;
  const problems: string[] = [];
  const expected = new Set<string>();
  for (const type of NODE_TYPES) {
    for (let ordinal = 0; ordinal < cluster.spec.nodes[type]; ordinal++) {
      const name = nodeName(cluster, type, ordinal, clusterDomain);
      expected.add(name);
      const member = observation.rabbitNodes.find((n) => n.name === name);
      if (!member) problems.push(`${name} has not joined`);
      else if (!member.running) problems.push(`${name} is not running`);
      else if (member.type !== type) problems.push(`${name} is a ${member.type} node, not ${type}`);
    }
  }
  for (const member of observation.rabbitNodes) {
    if (!expected.has(member.name)) problems.push(`${member.name} is a member but not declared`);
  }
  return problems.length === 0
    ? undefined
    : {
        type: "Ready",
        status: "False",
        reason: "MembershipMismatch",
        message: problems.slice(0, 5).join("; ") + (problems.length > 5 ? `; and ${problems.length - 5} more` : ""),
      };
}

/**
 * Ram nodes declared on a cluster whose metadata store is Khepri: it has no ram nodes, and
 * enabling it (feature flag khepri_db) turned every ram node into a disc node without a word.
 */
export function ramNodesRefused(cluster: RabbitCluster, observation: ClusterObservation): ConditionValue | undefined {
  const runtime = observation.runtime;
  if (cluster.spec.nodes.ram === 0 || runtime?.metadataStore !== "khepri") return undefined;
  const { disc, ram } = cluster.spec.nodes;
  return {
    type: "Ready",
    status: "False",
    reason: "RamNodesUnsupported",
    message: `RabbitMQ ${runtime.version} keeps its metadata in Khepri (feature flag khepri_db is enabled), which has no ram nodes: RabbitMQ made every ram node a disc node, and a new one cannot join as ram. Declare spec.nodes.ram: 0 and spec.nodes.disc: ${disc + ram} to keep ${disc + ram} nodes (or ram: 0 alone to have ${disc}); khepri_db cannot be disabled once enabled.`,
  };
}

/** Deprecated features the cluster uses, as RabbitMQ 4 logs them, with what becomes of each. */
export function deprecatedFeaturesUsed(observation: ClusterObservation): string[] {
  const version = observation.runtime && parseVersion(observation.runtime.version);
  const features: string[] = [];
  if (version && atLeast(version, 4, 0) && observation.rabbitNodes?.some((node) => node.type === "ram")) {
    features.push(
      "ram_node_type: ram nodes are deprecated since RabbitMQ 4.0; they run with the Mnesia metadata store only (RabbitMQ 4.2 defaults to Khepri, 4.3 has no Mnesia): move their count to disc nodes before upgrading past 4.1",
    );
  }
  return features;
}

export function ready(cluster: RabbitCluster, observation: ClusterObservation, clusterDomain: string, reconcileSuccess: ConditionValue): ConditionValue {
  // A node in maintenance mode still looks ready to Kubernetes until its probe fails three times.
  const removal = pendingRemoval(observation);
  if (removal)
    return { type: "Ready", status: "False", reason: "RemovingNode", message: `${removal.node} is being removed (drained since ${removal.startedAt})` };
  const replicas = allReplicasReady(cluster, observation);
  if (replicas.status !== "True") return { type: "Ready", status: "False", reason: replicas.reason, message: replicas.message };
  const available = clusterAvailable(observation);
  if (available.status !== "True") return { type: "Ready", status: "False", reason: available.reason, message: available.message };
  const store = ramNodesRefused(cluster, observation);
  if (store) return store;
  const membership = membershipMatches(cluster, observation, clusterDomain);
  if (membership) return membership;
  if (reconcileSuccess.status === "False") return { type: "Ready", status: "False", reason: reconcileSuccess.reason, message: reconcileSuccess.message };
  return { type: "Ready", status: "True", reason: "ClusterReady", message: `${cluster.spec.nodes.disc} disc and ${cluster.spec.nodes.ram} ram nodes running` };
}

/** The parts of status that do not depend on conditions. */
export function statusDetails(
  cluster: RabbitCluster,
  observation: ClusterObservation,
  clusterDomain: string,
): Omit<RabbitClusterStatus, "conditions" | "observedGeneration"> {
  const names = clusterNames(cluster);
  return {
    ...(observation.rabbitNodes ? { nodes: [...observation.rabbitNodes].sort((a, b) => a.name.localeCompare(b.name)) } : {}),
    ...(observation.runtime ? { rabbitmq: runtimeStatus(observation) } : {}),
    defaultUser: {
      secretReference: {
        name: names.defaultUser,
        namespace: cluster.metadata.namespace!,
        keys: { username: "username", password: "password", connectionString: "connection_string" },
      },
      serviceReference: { name: names.clientService, namespace: cluster.metadata.namespace! },
    },
    endpoints: clusterEndpoints(cluster, clusterDomain),
  };
}

function runtimeStatus(observation: ClusterObservation): NonNullable<RabbitClusterStatus["rabbitmq"]> {
  const deprecated = deprecatedFeaturesUsed(observation);
  return { ...observation.runtime!, ...(deprecated.length > 0 ? { deprecatedFeaturesUsed: deprecated } : {}) };
}
