// Exchange: like a queue, fixed once it exists (RabbitMQ refuses other settings).
import { TOPOLOGY_KINDS, type Exchange, type ExchangeSpec } from "../../../api/index.js";
import type { ExchangeDefinition, JsonObject } from "../../../rabbitmq/management.js";
import { VERSIONED_FEATURES } from "../../../rabbitmq/versions.js";
import type { TopologyAdapter } from "../adapter.js";
import { ABSENT, fieldDifferences, inVhost, jsonObject } from "./common.js";

export interface DesiredExchange {
  vhost: string;
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  arguments: JsonObject;
}

export function desiredExchange(spec: ExchangeSpec): DesiredExchange {
  return { vhost: spec.vhost, name: spec.name, type: spec.type, durable: spec.durable, autoDelete: spec.autoDelete, arguments: jsonObject(spec.arguments) };
}

export function exchangeDifferences(desired: DesiredExchange, observed: ExchangeDefinition | undefined): string[] {
  if (!observed) return [ABSENT];
  return fieldDifferences([
    ["type", observed.type, desired.type],
    ["durable", observed.durable, desired.durable],
    ["autoDelete", observed.autoDelete, desired.autoDelete],
    // The spec has no internal exchanges: one made internal behind our back is drift.
    ["internal", observed.internal, false],
    ["arguments", observed.arguments, desired.arguments],
  ]);
}

export const exchangeAdapter: TopologyAdapter<Exchange, DesiredExchange, ExchangeDefinition> = {
  definition: TOPOLOGY_KINDS.find((kind) => kind.kind === "Exchange")!,
  listings: ["exchanges"],
  prepare: (exchange) => desiredExchange(exchange.spec),
  describe: (desired) => `exchange ${inVhost(desired.name, desired.vhost)}`,
  observe: (client, desired) => client.getExchange(desired.vhost, desired.name),
  observeInSnapshot: (snapshot, desired) => snapshot.exchange(desired.vhost, desired.name),
  differences: exchangeDifferences,
  features: (desired) => (desired.type === "x-local-random" ? [VERSIONED_FEATURES.exchangeTypeLocalRandom] : []),
  async declare(client, desired) {
    await client.declareExchange(desired.vhost, desired.name, {
      type: desired.type,
      durable: desired.durable,
      autoDelete: desired.autoDelete,
      internal: false,
      arguments: desired.arguments,
    });
  },
  async delete(client, desired) {
    await client.deleteExchange(desired.vhost, desired.name);
  },
  needs: (exchange) => [{ type: "vhost", vhost: exchange.spec.vhost }],
  provides: (exchange) => [{ type: "exchange", vhost: exchange.spec.vhost, name: exchange.spec.name }],
};
