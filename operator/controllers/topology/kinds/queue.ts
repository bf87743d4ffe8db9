// Queue: classic, quorum or stream. Everything that defines a queue is fixed once it exists:
// RabbitMQ refuses a declaration with other settings (PRECONDITION_FAILED), and that refusal is
// what the object's status then shows.
import { TOPOLOGY_KINDS, type Queue, type QueueSpec } from "../../../api/index.js";
import type { JsonObject, QueueDefinition, QueueType } from "../../../rabbitmq/management.js";
import { VERSIONED_FEATURES } from "../../../rabbitmq/versions.js";
import type { TopologyAdapter } from "../adapter.js";
import { ABSENT, fieldDifferences, inVhost, jsonObject, withoutKeys } from "./common.js";

export interface DesiredQueue {
  vhost: string;
  name: string;
  type: QueueType;
  durable: boolean;
  autoDelete: boolean;
  /** Without x-queue-type: `type` says it, and RabbitMQ adds it to what it reports. */
  arguments: JsonObject;
}

const QUEUE_TYPE_ARGUMENT = "x-queue-type";

export function desiredQueue(spec: QueueSpec): DesiredQueue {
  return {
    vhost: spec.vhost,
    name: spec.name,
    type: spec.type,
    durable: spec.durable,
    autoDelete: spec.autoDelete,
    arguments: withoutKeys(jsonObject(spec.arguments), [QUEUE_TYPE_ARGUMENT]),
  };
}

export function queueDifferences(desired: DesiredQueue, observed: QueueDefinition | undefined): string[] {
  if (!observed) return [ABSENT];
  return fieldDifferences([
    ["type", observed.type, desired.type],
    ["durable", observed.durable, desired.durable],
    ["autoDelete", observed.autoDelete, desired.autoDelete],
    ["arguments", withoutKeys(observed.arguments, [QUEUE_TYPE_ARGUMENT]), desired.arguments],
  ]);
}

export const queueAdapter: TopologyAdapter<Queue, DesiredQueue, QueueDefinition> = {
  definition: TOPOLOGY_KINDS.find((kind) => kind.kind === "Queue")!,
  listings: ["queues"],
  prepare: (queue) => desiredQueue(queue.spec),
  describe: (desired) => `queue ${inVhost(desired.name, desired.vhost)}`,
  observe: (client, desired) => client.getQueue(desired.vhost, desired.name),
  observeInSnapshot: (snapshot, desired) => snapshot.queue(desired.vhost, desired.name),
  differences: queueDifferences,
  async declare(client, desired) {
    // A queue that exists with other settings is refused, not changed: nothing is deleted to
    // make room, since that would lose its messages.
    await client.declareQueue(desired.vhost, desired.name, {
      type: desired.type,
      durable: desired.durable,
      autoDelete: desired.autoDelete,
      arguments: desired.arguments,
    });
  },
  async delete(client, desired) {
    await client.deleteQueue(desired.vhost, desired.name);
  },
  features: (desired) => (desired.type === "classic" && "x-queue-mode" in desired.arguments ? [VERSIONED_FEATURES.queueMode("the argument x-queue-mode")] : []),
  isStream: (desired) => desired.type === "stream",
  needs: (queue) => [{ type: "vhost", vhost: queue.spec.vhost }],
  provides: (queue) => [{ type: "queue", vhost: queue.spec.vhost, name: queue.spec.name }],
};
