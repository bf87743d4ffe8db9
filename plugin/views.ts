// What each command shows, as rows and columns built from what the API server and RabbitMQ
// answered. Pure: every listing is tested without a cluster.
import type { V1Pod } from "@kubernetes/client-node";
import type { Condition, RabbitCluster } from "../operator/api/index.js";
import { NODE_TYPE_LABEL } from "../operator/resources/names.js";
import type {
  BindingInfo,
  ExchangeDefinition,
  NodeDetails,
  PermissionInfo,
  PolicyInfo,
  QueueInfo,
  UserInfo,
  VhostInfo,
} from "../operator/rabbitmq/management.js";
import { type Declarations, identity, isBuiltInExchange } from "./ownership.js";
import { age, mebibytes, type Column } from "./output.js";

// Clusters ---------------------------------------------------------------------------------------

export interface ClusterRow {
  namespace: string;
  name: string;
  disc: { running: number; desired: number };
  ram: { running: number; desired: number };
  ready: string;
  version?: string;
  /** Conditions that hold by type; those that do not as Type=Status(Reason). */
  conditions: string;
  age?: string;
}

export function clusterRow(cluster: RabbitCluster, now: number): ClusterRow {
  const nodes = cluster.status?.nodes ?? [];
  const running = (type: "disc" | "ram") => nodes.filter((n) => n.type === type && n.running).length;
  const conditions = cluster.status?.conditions ?? [];
  return {
    namespace: cluster.metadata.namespace ?? "",
    name: cluster.metadata.name,
    disc: { running: running("disc"), desired: cluster.spec.nodes?.disc ?? 0 },
    ram: { running: running("ram"), desired: cluster.spec.nodes?.ram ?? 0 },
    ready: conditions.find((c) => c.type === "Ready")?.status ?? "Unknown",
    version: cluster.status?.rabbitmq?.version,
    conditions: summarizeConditions(conditions),
    age: age(cluster.metadata.creationTimestamp, now),
  };
}

export function summarizeConditions(conditions: readonly Condition[]): string {
  return conditions.map((c) => (c.status === "True" ? c.type : `${c.type}=${c.status}(${c.reason})`)).join(",");
}

export function clusterColumns(allNamespaces: boolean): Column<ClusterRow>[] {
  return [
    ...(allNamespaces ? [{ header: "NAMESPACE", cell: (r: ClusterRow) => r.namespace }] : []),
    { header: "NAME", cell: (r) => r.name },
    { header: "DISC", cell: (r) => `${r.disc.running}/${r.disc.desired}` },
    { header: "RAM", cell: (r) => `${r.ram.running}/${r.ram.desired}` },
    { header: "READY", cell: (r) => r.ready },
    { header: "VERSION", cell: (r) => r.version },
    { header: "CONDITIONS", cell: (r) => r.conditions },
    { header: "AGE", cell: (r) => r.age },
  ];
}

// Status -----------------------------------------------------------------------------------------

export interface NodeRow extends Omit<NodeDetails, "name" | "uptimeMs"> {
  /** The Erlang node name. */
  node: string;
  /** The pod and whether Kubernetes reports it Ready (when the node is one of a RabbitCluster's pods). */
  pod?: string;
  podReady?: boolean;
}

export function nodeRows(nodes: readonly NodeDetails[], pods: ReadonlyMap<string, boolean>): NodeRow[] {
  return [...nodes]
    .sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }))
    .map(({ name, uptimeMs: _uptime, ...details }) => {
      const pod = podOfNode(name);
      return { node: name, ...details, ...(pod && pods.has(pod) ? { pod, podReady: pods.get(pod) } : {}) };
    });
}

/** rabbit@demo-disc-0.demo-nodes.ns.svc.cluster.local -> demo-disc-0 */
export function podOfNode(node: string): string | undefined {
  return /^[^@]+@([^.]+)/.exec(node)?.[1];
}

export const NODE_COLUMNS: Column<NodeRow>[] = [
  // The pod names the node well enough in a table; JSON and YAML carry the Erlang node name.
  { header: "NODE", cell: (r) => r.pod ?? r.node },
  { header: "TYPE", cell: (r) => r.type },
  { header: "RUNNING", cell: (r) => r.running },
  { header: "POD READY", cell: (r) => r.podReady },
  { header: "MEMORY", cell: (r) => (r.memoryUsed === undefined ? undefined : `${mebibytes(r.memoryUsed)}/${mebibytes(r.memoryLimit)}`) },
  { header: "MEM ALARM", cell: (r) => r.memoryAlarm },
  { header: "DISK FREE", cell: (r) => mebibytes(r.diskFree) },
  { header: "DISK ALARM", cell: (r) => r.diskFreeAlarm },
  { header: "PARTITIONS", cell: (r) => r.partitions.join(",") },
];

/** A node's pod as Kubernetes reports it: for a cluster whose RabbitMQ cannot be asked. */
export interface PodRow {
  pod: string;
  type?: string;
  phase?: string;
  ready: boolean;
  /** Why a container does not run (CrashLoopBackOff, ErrImagePull, ...). */
  waiting?: string;
  restarts: number;
}

/** Ready, and not on its way out. */
export function podIsReady(pod: V1Pod): boolean {
  return !pod.metadata?.deletionTimestamp && (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

export function podRow(pod: V1Pod): PodRow {
  const statuses = pod.status?.containerStatuses ?? [];
  return {
    pod: pod.metadata?.name ?? "",
    type: pod.metadata?.labels?.[NODE_TYPE_LABEL],
    phase: pod.status?.phase,
    ready: podIsReady(pod),
    // An init container waiting on its image leaves the main ones "PodInitializing": the first
    // reason that is not that one says what holds the pod.
    waiting:
      [...(pod.status?.initContainerStatuses ?? []), ...statuses]
        .map((s) => s.state?.waiting?.reason)
        .find((reason) => reason !== undefined && reason !== "PodInitializing") ?? statuses.map((s) => s.state?.waiting?.reason).find(Boolean),
    restarts: statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0),
  };
}

export const POD_COLUMNS: Column<PodRow>[] = [
  { header: "POD", cell: (r) => r.pod },
  { header: "TYPE", cell: (r) => r.type },
  { header: "PHASE", cell: (r) => r.phase },
  { header: "READY", cell: (r) => r.ready },
  { header: "WAITING", cell: (r) => r.waiting },
  { header: "RESTARTS", cell: (r) => r.restarts },
];

export interface QuorumCriticalRow {
  vhost: string;
  queue: string;
  type: string;
  members: number;
  online: number;
  /** The running members whose loss would leave the queue without a majority. */
  criticalNodes: string[];
}

/**
 * Quorum queues and streams that one more lost member would leave without a majority of their
 * replicas (RabbitMQ's "quorum-critical", for every node at once): losing a critical node then
 * makes the queue unavailable.
 */
export function quorumCritical(queues: readonly QueueInfo[]): QuorumCriticalRow[] {
  const rows: QuorumCriticalRow[] = [];
  for (const queue of queues) {
    if ((queue.type !== "quorum" && queue.type !== "stream") || !queue.members || queue.members.length === 0) continue;
    const online = (queue.online ?? queue.members).filter((m) => queue.members!.includes(m));
    const majority = Math.floor(queue.members.length / 2) + 1;
    if (online.length - 1 >= majority) continue;
    rows.push({
      vhost: queue.vhost,
      queue: queue.name,
      type: queue.type,
      members: queue.members.length,
      online: online.length,
      criticalNodes: online.map((m) => podOfNode(m) ?? m).sort(),
    });
  }
  return rows.sort((a, b) => a.vhost.localeCompare(b.vhost) || a.queue.localeCompare(b.queue));
}

export const QUORUM_CRITICAL_COLUMNS: Column<QuorumCriticalRow>[] = [
  { header: "VHOST", cell: (r) => r.vhost },
  { header: "QUEUE", cell: (r) => r.queue },
  { header: "TYPE", cell: (r) => r.type },
  { header: "ONLINE", cell: (r) => `${r.online}/${r.members}` },
  { header: "CRITICAL NODES", cell: (r) => r.criticalNodes.join(",") },
];

// Objects ----------------------------------------------------------------------------------------

const DECLARED_BY = "DECLARED BY";
const byVhostThenName = <T extends { vhost: string; name: string }>(a: T, b: T) => a.vhost.localeCompare(b.vhost) || a.name.localeCompare(b.name);

export interface QueueRow {
  vhost: string;
  name: string;
  type: string;
  durable: boolean;
  messagesReady?: number;
  messagesUnacknowledged?: number;
  consumers?: number;
  declaredBy: string;
}

export function queueRows(queues: readonly QueueInfo[], declarations: Declarations): QueueRow[] {
  return [...queues].sort(byVhostThenName).map((q) => ({
    vhost: q.vhost,
    name: q.name,
    type: q.type,
    durable: q.durable,
    messagesReady: q.messagesReady,
    messagesUnacknowledged: q.messagesUnacknowledged,
    consumers: q.consumers,
    declaredBy: declarations.of("queue", identity.queue(q.vhost, q.name)),
  }));
}

export const QUEUE_COLUMNS: Column<QueueRow>[] = [
  { header: "VHOST", cell: (r) => r.vhost },
  { header: "NAME", cell: (r) => r.name },
  { header: "TYPE", cell: (r) => r.type },
  { header: "DURABLE", cell: (r) => r.durable },
  // No statistics (a queue that is down, or just declared) is "-", not 0: it may not be empty.
  { header: "READY", cell: (r) => r.messagesReady },
  { header: "UNACKED", cell: (r) => r.messagesUnacknowledged },
  { header: "CONSUMERS", cell: (r) => r.consumers },
  { header: DECLARED_BY, cell: (r) => r.declaredBy },
];

export interface VhostRow {
  name: string;
  description: string;
  tags: string[];
  defaultQueueType?: string;
  declaredBy: string;
}

export function vhostRows(vhosts: readonly VhostInfo[], declarations: Declarations): VhostRow[] {
  return [...vhosts]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((v) => ({
      name: v.name,
      description: v.description,
      tags: v.tags,
      defaultQueueType: v.defaultQueueType,
      declaredBy: declarations.of("vhost", identity.vhost(v.name), v.name === "/"),
    }));
}

export const VHOST_COLUMNS: Column<VhostRow>[] = [
  { header: "NAME", cell: (r) => r.name },
  { header: "DEFAULT QUEUE TYPE", cell: (r) => r.defaultQueueType },
  { header: "TAGS", cell: (r) => r.tags.join(",") },
  { header: "DESCRIPTION", cell: (r) => r.description },
  { header: DECLARED_BY, cell: (r) => r.declaredBy },
];

export interface UserRow {
  name: string;
  tags: string[];
  declaredBy: string;
}

export function userRows(users: readonly UserInfo[], declarations: Declarations): UserRow[] {
  return [...users]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((u) => ({ name: u.name, tags: u.tags, declaredBy: declarations.of("user", identity.user(u.name)) }));
}

export const USER_COLUMNS: Column<UserRow>[] = [
  { header: "NAME", cell: (r) => r.name },
  { header: "TAGS", cell: (r) => r.tags.join(",") },
  { header: DECLARED_BY, cell: (r) => r.declaredBy },
];

export interface PermissionRow extends PermissionInfo {
  declaredBy: string;
}

export function permissionRows(permissions: readonly PermissionInfo[], declarations: Declarations): PermissionRow[] {
  return [...permissions]
    .sort((a, b) => a.vhost.localeCompare(b.vhost) || a.user.localeCompare(b.user))
    .map((p) => ({ ...p, declaredBy: declarations.of("permission", identity.permission(p.vhost, p.user)) }));
}

export const PERMISSION_COLUMNS: Column<PermissionRow>[] = [
  { header: "VHOST", cell: (r) => r.vhost },
  { header: "USER", cell: (r) => r.user },
  { header: "CONFIGURE", cell: (r) => r.configure },
  { header: "WRITE", cell: (r) => r.write },
  { header: "READ", cell: (r) => r.read },
  { header: DECLARED_BY, cell: (r) => r.declaredBy },
];

export interface PolicyRow extends PolicyInfo {
  declaredBy: string;
}

export function policyRows(policies: readonly PolicyInfo[], declarations: Declarations): PolicyRow[] {
  return [...policies].sort(byVhostThenName).map((p) => ({ ...p, declaredBy: declarations.of("policy", identity.policy(p.vhost, p.name)) }));
}

export const POLICY_COLUMNS: Column<PolicyRow>[] = [
  { header: "VHOST", cell: (r) => r.vhost },
  { header: "NAME", cell: (r) => r.name },
  { header: "PATTERN", cell: (r) => r.pattern },
  { header: "APPLY TO", cell: (r) => r.applyTo },
  { header: "PRIORITY", cell: (r) => r.priority },
  { header: "DEFINITION", cell: (r) => JSON.stringify(r.definition) },
  { header: DECLARED_BY, cell: (r) => r.declaredBy },
];

export interface ExchangeRow extends ExchangeDefinition {
  declaredBy: string;
}

export function exchangeRows(exchanges: readonly ExchangeDefinition[], declarations: Declarations): ExchangeRow[] {
  return [...exchanges]
    .sort(byVhostThenName)
    .map((e) => ({ ...e, declaredBy: declarations.of("exchange", identity.exchange(e.vhost, e.name), isBuiltInExchange(e.name)) }));
}

export const EXCHANGE_COLUMNS: Column<ExchangeRow>[] = [
  { header: "VHOST", cell: (r) => r.vhost },
  { header: "NAME", cell: (r) => (r.name === "" ? "(default)" : r.name) },
  { header: "TYPE", cell: (r) => r.type },
  { header: "DURABLE", cell: (r) => r.durable },
  { header: "AUTO DELETE", cell: (r) => r.autoDelete },
  { header: "INTERNAL", cell: (r) => r.internal },
  { header: DECLARED_BY, cell: (r) => r.declaredBy },
];

export interface BindingRow extends Omit<BindingInfo, "propertiesKey"> {
  declaredBy: string;
}

export function bindingRows(bindings: readonly BindingInfo[], declarations: Declarations): BindingRow[] {
  return [...bindings]
    .sort(
      (a, b) =>
        a.vhost.localeCompare(b.vhost) ||
        a.source.localeCompare(b.source) ||
        a.destination.localeCompare(b.destination) ||
        a.routingKey.localeCompare(b.routingKey),
    )
    .map(({ propertiesKey: _key, ...b }) => ({ ...b, declaredBy: declarations.of("binding", identity.binding(b), b.source === "") }));
}

export const BINDING_COLUMNS: Column<BindingRow>[] = [
  { header: "VHOST", cell: (r) => r.vhost },
  { header: "SOURCE", cell: (r) => (r.source === "" ? "(default)" : r.source) },
  { header: "DESTINATION", cell: (r) => r.destination },
  { header: "DESTINATION TYPE", cell: (r) => r.destinationType },
  { header: "ROUTING KEY", cell: (r) => r.routingKey },
  { header: "ARGUMENTS", cell: (r) => (Object.keys(r.arguments).length > 0 ? JSON.stringify(r.arguments) : undefined) },
  { header: DECLARED_BY, cell: (r) => r.declaredBy },
];
