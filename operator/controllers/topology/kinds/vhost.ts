// Vhost: tags, tracing, default queue type and limits. The description is not in the spec: one
// set by hand is kept when the vhost is declared again.
import { TOPOLOGY_KINDS, type Vhost, type VhostSpec } from "../../../api/index.js";
import { VHOST_LIMIT_NAMES, type QueueType, type VhostInfo, type VhostLimits } from "../../../rabbitmq/management.js";
import { VERSIONED_FEATURES } from "../../../rabbitmq/versions.js";
import type { TopologyAdapter } from "../adapter.js";
import { ABSENT, differs, limitDifferences, sameTags, tagSet } from "./common.js";

export interface DesiredVhost {
  name: string;
  tags: string[];
  tracing: boolean;
  defaultQueueType?: QueueType;
  limits: VhostLimits;
}

export interface ObservedVhost {
  info: VhostInfo;
  limits: VhostLimits;
  /**
   * Nodes that accept client connections but not to this vhost: it is stopped there. RabbitMQ
   * 3.10 leaves a vhost so when it is created while that node boots (start_on_all_nodes skips
   * booting nodes, and the node's own recovery has run already), and stops one whose message
   * store failed; until someone starts it, every connection to it through that node is refused.
   * A node still booting (no listener yet) starts its vhosts itself.
   */
  refusingOn: string[];
}

/**
 * The nodes the vhost is stopped on that serve clients. When the server does not say which nodes
 * serve (undefined), every one it is stopped on: a node still booting may then be started early,
 * which its own boot accepts ("already started").
 */
export function stoppedWhereServing(info: VhostInfo, amqpNodes: ReadonlySet<string> | undefined): string[] {
  return amqpNodes ? info.stoppedOn.filter((node) => amqpNodes.has(node)) : info.stoppedOn;
}

export function desiredVhost(spec: VhostSpec): DesiredVhost {
  const limits: VhostLimits = {};
  if (spec.limits?.connections !== undefined) limits["max-connections"] = spec.limits.connections;
  if (spec.limits?.queues !== undefined) limits["max-queues"] = spec.limits.queues;
  return {
    name: spec.name,
    tags: tagSet(spec.tags),
    tracing: spec.tracing,
    ...(spec.defaultQueueType ? { defaultQueueType: spec.defaultQueueType } : {}),
    limits,
  };
}

/** Differences of the vhost itself (PUT /api/vhosts); limits are set one by one. */
function settingsDifferences(desired: DesiredVhost, observed: VhostInfo): string[] {
  const differences: string[] = [];
  if (!sameTags(desired.tags, observed.tags)) differences.push(differs("tags", observed.tags, desired.tags));
  if (desired.tracing !== observed.tracing) differences.push(differs("tracing", observed.tracing, desired.tracing));
  // Before 3.11 RabbitMQ accepts default_queue_type and forgets it (features refuses it there):
  // an absent value is not a difference, or it could never be repaired.
  if (desired.defaultQueueType !== undefined && observed.defaultQueueType !== undefined && desired.defaultQueueType !== observed.defaultQueueType) {
    differences.push(differs("defaultQueueType", observed.defaultQueueType, desired.defaultQueueType));
  }
  return differences;
}

export function vhostDifferences(desired: DesiredVhost, observed: ObservedVhost | undefined): string[] {
  if (!observed) return [ABSENT];
  return [
    ...settingsDifferences(desired, observed.info),
    ...limitDifferences(desired.limits, observed.limits, VHOST_LIMIT_NAMES),
    ...observed.refusingOn.map((node) => `stopped on node ${node}, which refuses connections to it`),
  ];
}

export const vhostAdapter: TopologyAdapter<Vhost, DesiredVhost, ObservedVhost> = {
  definition: TOPOLOGY_KINDS.find((kind) => kind.kind === "Vhost")!,
  listings: ["vhosts", "vhostLimits"],
  prepare: (vhost) => desiredVhost(vhost.spec),
  describe: (desired) => `vhost ${JSON.stringify(desired.name)}`,
  async observe(client, desired) {
    const info = await client.getVhost(desired.name);
    if (!info) return undefined;
    const refusingOn = info.stoppedOn.length > 0 ? stoppedWhereServing(info, await client.amqpNodes()) : [];
    return { info, limits: (await client.getVhostLimits(desired.name)) ?? {}, refusingOn };
  },
  observeInSnapshot(snapshot, desired) {
    const info = snapshot.vhost(desired.name);
    return info ? { info, limits: snapshot.vhostLimits(desired.name), refusingOn: stoppedWhereServing(info, snapshot.amqpNodes()) } : undefined;
  },
  differences: vhostDifferences,
  async declare(client, desired, observed) {
    if (!observed || settingsDifferences(desired, observed.info).length > 0) {
      await client.putVhost(desired.name, {
        description: observed?.info.description ?? "",
        tags: desired.tags,
        tracing: desired.tracing,
        ...(desired.defaultQueueType ? { defaultQueueType: desired.defaultQueueType } : {}),
      });
    }
    const current = observed?.limits ?? {};
    for (const name of VHOST_LIMIT_NAMES) {
      const value = desired.limits[name];
      if (value === current[name]) continue;
      if (value === undefined) await client.clearVhostLimit(desired.name, name);
      else await client.setVhostLimit(desired.name, name, value);
    }
    for (const node of observed?.refusingOn ?? []) await client.startVhost(desired.name, node);
  },
  async delete(client, desired) {
    await client.deleteVhost(desired.name);
  },
  deletionOrder: {
    waitsFor: (vhost) => [{ type: "vhost", vhost: vhost.spec.name }],
    dependentKinds: ["Permission", "Queue", "Exchange", "Binding", "Policy"],
    because: "deleting it in RabbitMQ takes along what is in it, and the operator's access to it first",
  },
  needs: () => [],
  provides: (vhost) => [{ type: "vhost", vhost: vhost.spec.name }],
  features: (desired) => (desired.defaultQueueType === undefined ? [] : [VERSIONED_FEATURES.vhostDefaultQueueType]),
};
