// Which resource declares an object in RabbitMQ: the topology objects that name the cluster
// (referenceKey, as the controllers compare references), the RabbitCluster itself for its
// policies and its default user, and RabbitMQ's own built-in objects. Pure.
import type { Binding, Exchange, Permission, Policy, Queue, RabbitCluster, User, Vhost } from "../operator/api/index.js";
import type { TopologyResource } from "../operator/controllers/topology/adapter.js";
import { referenceKey } from "../operator/controllers/topology/connection.js";

export const BUILT_IN = "(built-in)";
export const UNDECLARED = "undeclared";
/** The resources could not be listed: whether one declares the object is not known. */
export const UNKNOWN = "unknown";

/** The kinds whose objects the plugin lists, by the name RabbitMQ's API gives them. */
export type ObjectKind = "vhost" | "user" | "permission" | "queue" | "exchange" | "binding" | "policy";

type Arguments = Record<string, unknown> | undefined;

/** Binding arguments compare by value whatever their order or JSON type ("1" and 1 alike). */
function canonicalArguments(args: Arguments): string {
  return JSON.stringify(
    Object.entries(args ?? {})
      .map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)])
      .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0)),
  );
}

export const identity = {
  vhost: (name: string) => name,
  user: (name: string) => name,
  permission: (vhost: string, user: string) => `${vhost}\u0000${user}`,
  queue: (vhost: string, name: string) => `${vhost}\u0000${name}`,
  exchange: (vhost: string, name: string) => `${vhost}\u0000${name}`,
  policy: (vhost: string, name: string) => `${vhost}\u0000${name}`,
  binding: (b: { vhost: string; source: string; destination: string; destinationType: string; routingKey: string; arguments?: Arguments }) =>
    [b.vhost, b.source, b.destinationType, b.destination, b.routingKey, canonicalArguments(b.arguments)].join("\u0000"),
} as const;

/** The identity in RabbitMQ of a topology object (undefined when not known yet, e.g. a Permission's user not resolved). */
function identityOf(resource: TopologyResource): [ObjectKind, string] | undefined {
  switch (resource.kind) {
    case "Vhost":
      return ["vhost", identity.vhost((resource as unknown as Vhost).spec.name)];
    case "User": {
      const user = resource as unknown as User;
      return ["user", identity.user(user.status?.username ?? user.spec.username ?? user.metadata.name)];
    }
    case "Permission": {
      const permission = resource as unknown as Permission;
      const username = permission.status?.username ?? permission.spec.user;
      return username ? ["permission", identity.permission(permission.spec.vhost, username)] : undefined;
    }
    case "Queue": {
      const { spec } = resource as unknown as Queue;
      return ["queue", identity.queue(spec.vhost, spec.name)];
    }
    case "Exchange": {
      const { spec } = resource as unknown as Exchange;
      return ["exchange", identity.exchange(spec.vhost, spec.name)];
    }
    case "Policy": {
      const { spec } = resource as unknown as Policy;
      return ["policy", identity.policy(spec.vhost, spec.name)];
    }
    case "Binding": {
      const { spec } = resource as unknown as Binding;
      return ["binding", identity.binding({ ...spec, destinationType: spec.destinationType ?? "queue", routingKey: spec.routingKey ?? "" })];
    }
    default:
      return undefined;
  }
}

export interface DeclarationSources {
  /** referenceKey() of the cluster the objects are in. */
  referenceKey: string;
  /** Topology objects of every kind the user could read (any cluster; those of others are skipped). */
  resources: readonly TopologyResource[];
  /** The RabbitCluster, when the cluster is one: its policies and default user are its own. */
  cluster?: RabbitCluster;
  /** The default user's name (from its Secret), when known. */
  defaultUser?: string;
  /** The resources of the listed kind could not be read: objects no other source names are UNKNOWN, not UNDECLARED. */
  resourcesUnknown?: boolean;
}

export class Declarations {
  private readonly owners = new Map<string, string>();
  private readonly otherwise: string;

  constructor(sources: DeclarationSources) {
    this.otherwise = sources.resourcesUnknown ? UNKNOWN : UNDECLARED;
    const ours = sources.resources.filter(
      (resource) => referenceKey(resource.spec.rabbitmqClusterReference, resource.metadata.namespace ?? "") === sources.referenceKey,
    );
    const cluster = sources.cluster;
    if (cluster) {
      const owner = `RabbitCluster/${cluster.metadata.namespace}/${cluster.metadata.name}`;
      for (const policy of cluster.spec.policies ?? []) this.declare("policy", identity.policy(policy.vhost, policy.name), owner);
      if (sources.defaultUser) {
        this.declare("user", identity.user(sources.defaultUser), owner);
        // RabbitMQ gives the default user all permissions on the default vhost ...
        this.declare("permission", identity.permission("/", sources.defaultUser), owner);
        // ... and the user who creates a vhost (the operator logs in as the default user) all permissions on it.
        for (const vhost of ours.filter((resource) => resource.kind === "Vhost")) {
          this.declare("permission", identity.permission((vhost as unknown as Vhost).spec.name, sources.defaultUser), ownerName(vhost));
        }
      }
    }
    // A resource that declares an object itself names it, whatever the above says.
    for (const resource of ours) {
      const id = identityOf(resource);
      if (id) this.declare(id[0], id[1], ownerName(resource));
    }
  }

  private declare(kind: ObjectKind, id: string, owner: string): void {
    this.owners.set(`${kind}\u0000${id}`, owner);
  }

  /** "Kind/namespace/name" of the resource that declares the object, BUILT_IN, UNDECLARED, or UNKNOWN. */
  of(kind: ObjectKind, id: string, builtIn = false): string {
    return this.owners.get(`${kind}\u0000${id}`) ?? (builtIn ? BUILT_IN : this.otherwise);
  }
}

function ownerName(resource: TopologyResource): string {
  return `${resource.kind}/${resource.metadata.namespace ?? ""}/${resource.metadata.name}`;
}

/** RabbitMQ's own exchanges: the default one and amq.*. */
export function isBuiltInExchange(name: string): boolean {
  return name === "" || name.startsWith("amq.");
}
