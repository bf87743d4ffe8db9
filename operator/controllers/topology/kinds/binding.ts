// Binding: identified by all it is (source, destination, routing key, arguments), so it is never
// updated, only created and deleted. RabbitMQ names a binding by a "properties key" it derives
// from the routing key and arguments; we find ours by comparing those instead.
import { TOPOLOGY_KINDS, type Binding, type BindingSpec } from "../../../api/index.js";
import type { BindingInfo, DestinationType, JsonObject } from "../../../rabbitmq/management.js";
import { deepEqual } from "../../../runtime/diff.js";
import type { TopologyAdapter, TopologyRef } from "../adapter.js";
import { ABSENT, inVhost, jsonObject } from "./common.js";

export interface DesiredBinding {
  vhost: string;
  source: string;
  destination: string;
  destinationType: DestinationType;
  routingKey: string;
  arguments: JsonObject;
}

export function desiredBinding(spec: BindingSpec): DesiredBinding {
  return {
    vhost: spec.vhost,
    source: spec.source,
    destination: spec.destination,
    destinationType: spec.destinationType,
    routingKey: spec.routingKey,
    arguments: jsonObject(spec.arguments),
  };
}

/** Ours among the bindings with the same source, destination and routing key. */
export function matchingBinding(desired: DesiredBinding, candidates: readonly BindingInfo[]): BindingInfo | undefined {
  return candidates.find(
    (binding) =>
      binding.source === desired.source &&
      binding.destination === desired.destination &&
      binding.destinationType === desired.destinationType &&
      binding.routingKey === desired.routingKey &&
      deepEqual(binding.arguments, desired.arguments),
  );
}

export function bindingDifferences(_desired: DesiredBinding, observed: BindingInfo | undefined): string[] {
  return observed ? [] : [ABSENT];
}

export const bindingAdapter: TopologyAdapter<Binding, DesiredBinding, BindingInfo> = {
  definition: TOPOLOGY_KINDS.find((kind) => kind.kind === "Binding")!,
  listings: ["bindings"],
  prepare: (binding) => desiredBinding(binding.spec),
  describe: (desired) =>
    `binding from exchange ${inVhost(desired.source, desired.vhost)} to ${desired.destinationType} ${JSON.stringify(desired.destination)} with routing key ${JSON.stringify(desired.routingKey)}`,
  async observe(client, desired) {
    return matchingBinding(desired, await client.listBindingsBetween(desired.vhost, desired.source, desired.destination, desired.destinationType));
  },
  observeInSnapshot: (snapshot, desired) =>
    matchingBinding(desired, snapshot.bindings(desired.vhost, desired.source, desired.destination, desired.destinationType, desired.routingKey)),
  differences: bindingDifferences,
  async declare(client, desired) {
    await client.createBinding(desired.vhost, desired);
  },
  async delete(client, desired) {
    const existing = await client.findBinding(desired.vhost, desired);
    if (existing) await client.deleteBinding(desired.vhost, existing);
  },
  needs: (binding) => {
    const refs: TopologyRef[] = [
      { type: "vhost", vhost: binding.spec.vhost },
      { type: binding.spec.destinationType, vhost: binding.spec.vhost, name: binding.spec.destination },
    ];
    // The default exchange always exists.
    if (binding.spec.source !== "") refs.push({ type: "exchange", vhost: binding.spec.vhost, name: binding.spec.source });
    return refs;
  },
  provides: () => [],
};
