// Read-only commands: list, status, and the listings of objects in a cluster with the resource
// that declares each.
import { GROUP, TOPOLOGY_KINDS, type KindDefinition } from "../../operator/api/index.js";
import { secretValue } from "../../operator/resources/secrets.js";
import { clusterPods, openTarget, requireCluster, type Target, type TargetSelection } from "../access.js";
import { Declarations, UNDECLARED, UNKNOWN, type ObjectKind } from "../ownership.js";
import { render, serialize, table, type Column } from "../output.js";
import type { Session } from "../session.js";
import {
  BINDING_COLUMNS,
  EXCHANGE_COLUMNS,
  NODE_COLUMNS,
  POD_COLUMNS,
  PERMISSION_COLUMNS,
  POLICY_COLUMNS,
  QUEUE_COLUMNS,
  QUORUM_CRITICAL_COLUMNS,
  USER_COLUMNS,
  VHOST_COLUMNS,
  bindingRows,
  clusterColumns,
  clusterRow,
  exchangeRows,
  nodeRows,
  permissionRows,
  podIsReady,
  podRow,
  policyRows,
  queueRows,
  quorumCritical,
  summarizeConditions,
  userRows,
  vhostRows,
} from "../views.js";

export async function list(session: Session, options: { allNamespaces?: boolean }): Promise<void> {
  const namespace = options.allNamespaces ? undefined : session.kube.namespace;
  const clusters = await session.kube.listClusters(namespace);
  const rows = clusters
    .map((cluster) => clusterRow(cluster, session.now()))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  if (rows.length === 0 && session.format === "table") {
    session.stderr.write(namespace === undefined ? "No RabbitClusters found in any namespace.\n" : `No RabbitClusters found in namespace ${namespace}.\n`);
    return;
  }
  session.stdout.write(render(session.format, clusterColumns(namespace === undefined), rows));
}

export async function status(session: Session, name: string): Promise<void> {
  const { kube } = session;
  const cluster = await requireCluster(kube, kube.namespace, name);
  const podList = await clusterPods(kube, cluster);
  const pods = new Map(podList.map((pod) => [pod.metadata!.name!, podIsReady(pod)] as const));
  let target: Target;
  try {
    target = await openTarget(kube, { cluster: name, namespace: kube.namespace });
  } catch (error) {
    // RabbitMQ cannot be asked: what Kubernetes knows is still what the administrator needs.
    const report = {
      cluster: `${cluster.metadata.namespace}/${cluster.metadata.name}`,
      conditions: cluster.status?.conditions ?? [],
      pods: podList.map(podRow),
    };
    session.stdout.write(
      session.format === "table"
        ? `RabbitCluster ${report.cluster}: RabbitMQ not reachable\nConditions: ${summarizeConditions(report.conditions) || "none yet"}\n\n${report.pods.length > 0 ? table(POD_COLUMNS, report.pods) : "no pods\n"}`
        : serialize(report, session.format),
    );
    throw error;
  }
  try {
    const [overview, nodes, queues] = await Promise.all([
      target.call("reading the overview", (m) => m.overview()),
      target.call("listing the nodes", (m) => m.listNodeDetails()),
      target.call("listing the queues", (m) => m.listQueues({ columns: ["type", "members", "online", "leader"] })),
    ]);
    const report = {
      cluster: `${cluster.metadata.namespace}/${cluster.metadata.name}`,
      rabbitmqVersion: overview.rabbitmqVersion,
      erlangVersion: overview.erlangVersion,
      clusterName: overview.clusterName,
      conditions: cluster.status?.conditions ?? [],
      nodes: nodeRows(nodes, pods),
      quorumCriticalQueues: quorumCritical(queues),
    };
    if (session.format !== "table") {
      session.stdout.write(serialize(report, session.format));
      return;
    }
    const lines = [
      `RabbitCluster ${report.cluster}: RabbitMQ ${report.rabbitmqVersion}${report.erlangVersion ? ` on Erlang ${report.erlangVersion}` : ""}, cluster name ${report.clusterName}`,
      `Conditions: ${summarizeConditions(report.conditions) || "none yet"}`,
      "",
      table(NODE_COLUMNS, report.nodes),
      report.quorumCriticalQueues.length === 0
        ? "Quorum-critical queues: none (every quorum queue and stream keeps a majority if any one node stops)\n"
        : `Quorum-critical queues (stopping a critical node makes the queue unavailable):\n${table(QUORUM_CRITICAL_COLUMNS, report.quorumCriticalQueues)}`,
    ];
    session.stdout.write(lines.join("\n"));
  } finally {
    await target.close();
  }
}

/** What a listing command reads, how it shows it, and the kind of resource that may declare its objects. */
interface Listing<Row> {
  objectKind: ObjectKind;
  /** The resource kinds whose objects may declare the listed objects (a Vhost its creator's permissions). */
  resourceKinds: string[];
  columns: Column<Row>[];
  rows(target: Target, vhost: string | undefined, declarations: Declarations): Promise<Row[]>;
}

const QUEUE_LIST_COLUMNS = ["type", "durable", "auto_delete", "arguments", "messages_ready", "messages_unacknowledged", "consumers"] as const;

function listing<Row>(spec: Listing<Row>): Listing<Row> {
  return spec;
}

export const LISTINGS = {
  queues: listing({
    objectKind: "queue",
    resourceKinds: ["Queue"],
    columns: QUEUE_COLUMNS,
    rows: async (t, vhost, d) => queueRows(await t.call("listing the queues", (m) => m.listQueues({ vhost, columns: QUEUE_LIST_COLUMNS })), d),
  }),
  vhosts: listing({
    objectKind: "vhost",
    resourceKinds: ["Vhost"],
    columns: VHOST_COLUMNS,
    rows: async (t, vhost, d) =>
      vhostRows(
        (await t.call("listing the vhosts", (m) => m.listVhosts())).filter((v) => vhost === undefined || v.name === vhost),
        d,
      ),
  }),
  users: listing({
    objectKind: "user",
    resourceKinds: ["User"],
    columns: USER_COLUMNS,
    rows: async (t, _vhost, d) => userRows(await t.call("listing the users", (m) => m.listUsers()), d),
  }),
  permissions: listing({
    objectKind: "permission",
    resourceKinds: ["Permission", "Vhost"],
    columns: PERMISSION_COLUMNS,
    rows: async (t, vhost, d) => permissionRows(await t.call("listing the permissions", (m) => m.listPermissions(vhost)), d),
  }),
  policies: listing({
    objectKind: "policy",
    resourceKinds: ["Policy"],
    columns: POLICY_COLUMNS,
    rows: async (t, vhost, d) => policyRows(await t.call("listing the policies", (m) => m.listPolicies(vhost)), d),
  }),
  exchanges: listing({
    objectKind: "exchange",
    resourceKinds: ["Exchange"],
    columns: EXCHANGE_COLUMNS,
    rows: async (t, vhost, d) => exchangeRows(await t.call("listing the exchanges", (m) => m.listExchanges(vhost)), d),
  }),
  bindings: listing({
    objectKind: "binding",
    resourceKinds: ["Binding"],
    columns: BINDING_COLUMNS,
    rows: async (t, vhost, d) => bindingRows(await t.call("listing the bindings", (m) => m.listBindings(vhost)), d),
  }),
} as const;

export type ListingName = keyof typeof LISTINGS;
export const LISTING_NAMES = Object.keys(LISTINGS) as ListingName[];

export async function listObjects(session: Session, name: ListingName, selection: TargetSelection, vhost: string | undefined): Promise<void> {
  const spec = LISTINGS[name] as Listing<unknown>;
  const kinds = spec.resourceKinds.map((kind) => TOPOLOGY_KINDS.find((k) => k.kind === kind)!);
  const target = await openTarget(session.kube, selection);
  try {
    const declarations = await declarationsFor(session, target, kinds, selection.namespace);
    session.stdout.write(render(session.format, spec.columns, await spec.rows(target, vhost, declarations)));
  } finally {
    await target.close();
  }
}

async function declarationsFor(session: Session, target: Target, kinds: KindDefinition[], namespace: string): Promise<Declarations> {
  const listings = await Promise.all(kinds.map(async (kind) => ({ kind, ...(await session.kube.listTopology(kind, namespace)) })));
  for (const { kind, scope } of listings) {
    const plural = `${kind.plural}.${GROUP}`;
    if (scope === "none")
      session.stderr.write(`warning: you may not list ${plural} in namespace ${namespace}: DECLARED BY cannot tell which objects they declare (${UNKNOWN})\n`);
    if (scope === "namespace")
      session.stderr.write(
        `warning: you may not list ${plural} in every namespace: objects declared from other namespaces than ${namespace} show as ${UNDECLARED}\n`,
      );
  }
  let defaultUser: string | undefined;
  const reference = target.cluster?.status?.defaultUser?.secretReference;
  if (reference) defaultUser = secretValue(await session.kube.getSecret(reference.namespace, reference.name).catch(() => undefined), "username");
  return new Declarations({
    referenceKey: target.referenceKey,
    resources: listings.flatMap((listing) => listing.resources),
    cluster: target.cluster,
    defaultUser,
    // The listed kind (the first) unreadable: its objects' declarers are unknown.
    resourcesUnknown: listings[0]?.scope === "none",
  });
}
