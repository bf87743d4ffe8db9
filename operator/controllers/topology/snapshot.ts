// A cluster's topology as the bulk listings show it: one GET per kind, only the kinds asked for,
// indexed so that comparing thousands of objects costs a map lookup each.
import type {
  BindingInfo,
  ExchangeDefinition,
  ManagementClient,
  PermissionInfo,
  PolicyInfo,
  QueueDefinition,
  TopologyListing,
  TopologySnapshot,
  UserInfo,
  UserLimits,
  VhostInfo,
  VhostLimits,
} from "../../rabbitmq/management.js";

export type PartialSnapshot = Partial<TopologySnapshot> & {
  /** Taken with the vhosts, only when one of them is stopped on some node (see SnapshotIndex.amqpNodes). */
  amqpNodes?: Set<string> | undefined;
};

/** Lists what is asked for, in parallel: one request per listing. */
export async function takeSnapshot(client: ManagementClient, listings: Iterable<TopologyListing>): Promise<SnapshotIndex> {
  const snapshot: PartialSnapshot = await client.listTopology(listings);
  // A second request only when a vhost is stopped somewhere: is that node serving clients? When
  // it fails, none is taken to be (no repair this round) rather than failing the whole snapshot.
  if (snapshot.vhosts?.some((vhost) => vhost.stoppedOn.length > 0)) snapshot.amqpNodes = await client.amqpNodes().catch(() => new Set<string>());
  return new SnapshotIndex(snapshot);
}

const key = (...parts: string[]) => parts.join("\u0000");

function indexBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T> {
  return new Map(items.map((item) => [keyOf(item), item]));
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const itemKey = keyOf(item);
    const group = groups.get(itemKey);
    if (group) group.push(item);
    else groups.set(itemKey, [item]);
  }
  return groups;
}

/**
 * Lookups over a snapshot, each index built on first use (a snapshot is compared with every
 * object of its cluster once). Reading a listing that was not taken is a programming error (an
 * adapter that forgot to name it), not an absent object: it throws.
 */
export class SnapshotIndex {
  private vhosts?: Map<string, VhostInfo>;
  private users?: Map<string, UserInfo>;
  private permissions?: Map<string, PermissionInfo>;
  private queues?: Map<string, QueueDefinition>;
  private exchanges?: Map<string, ExchangeDefinition>;
  private bindingGroups?: Map<string, BindingInfo[]>;
  private policies?: Map<string, PolicyInfo>;

  constructor(private readonly snapshot: PartialSnapshot) {}

  vhost(name: string): VhostInfo | undefined {
    this.vhosts ??= indexBy(this.required("vhosts"), (v) => v.name);
    return this.vhosts.get(name);
  }

  /**
   * Nodes accepting AMQP connections, asked only about nodes some vhost is stopped on (empty when
   * no vhost is); undefined when the server does not say.
   */
  amqpNodes(): ReadonlySet<string> | undefined {
    this.required("vhosts");
    return "amqpNodes" in this.snapshot ? this.snapshot.amqpNodes : new Set();
  }

  /** {} when the vhost has no limits. */
  vhostLimits(name: string): VhostLimits {
    return this.required("vhostLimits").get(name) ?? {};
  }

  user(name: string): UserInfo | undefined {
    this.users ??= indexBy(this.required("users"), (u) => u.name);
    return this.users.get(name);
  }

  /** {} when the user has no limits. */
  userLimits(name: string): UserLimits {
    return this.required("userLimits").get(name) ?? {};
  }

  permission(vhost: string, user: string): PermissionInfo | undefined {
    this.permissions ??= indexBy(this.required("permissions"), (p) => key(p.vhost, p.user));
    return this.permissions.get(key(vhost, user));
  }

  queue(vhost: string, name: string): QueueDefinition | undefined {
    this.queues ??= indexBy(this.required("queues"), (q) => key(q.vhost, q.name));
    return this.queues.get(key(vhost, name));
  }

  exchange(vhost: string, name: string): ExchangeDefinition | undefined {
    this.exchanges ??= indexBy(this.required("exchanges"), (e) => key(e.vhost, e.name));
    return this.exchanges.get(key(vhost, name));
  }

  /** Bindings from source to destination with this routing key (several may differ in arguments). */
  bindings(vhost: string, source: string, destination: string, destinationType: string, routingKey: string): BindingInfo[] {
    this.bindingGroups ??= groupBy(this.required("bindings"), (b) => key(b.vhost, b.source, b.destinationType, b.destination, b.routingKey));
    return this.bindingGroups.get(key(vhost, source, destinationType, destination, routingKey)) ?? [];
  }

  policy(vhost: string, name: string): PolicyInfo | undefined {
    this.policies ??= indexBy(this.required("policies"), (p) => key(p.vhost, p.name));
    return this.policies.get(key(vhost, name));
  }

  private required<K extends keyof PartialSnapshot>(listing: K): NonNullable<PartialSnapshot[K]> {
    const value = this.snapshot[listing];
    if (value === undefined) throw new Error(`the snapshot has no ${listing} listing`);
    return value;
  }
}
