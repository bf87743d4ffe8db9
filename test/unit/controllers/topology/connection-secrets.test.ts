import { describe, expect, it } from "vitest";
import { ConnectionSecretUsers } from "../../../../operator/controllers/topology/connection-secrets.js";
import { TOPOLOGY_FINALIZER } from "../../../../operator/controllers/topology/reconciler.js";
import type { TopologyResource } from "../../../../operator/controllers/topology/adapter.js";
import type { InformerEventType, InformerHandler } from "../../../../operator/runtime/informer.js";
import { exchange, queue } from "./fixtures.js";

function tracked() {
  const handlers: InformerHandler<TopologyResource>[] = [];
  const changed: string[] = [];
  const users = new ConnectionSecretUsers((key) => changed.push(key));
  users.track("Queue", { addHandler: (handler) => handlers.push(handler) });
  const emit = (type: InformerEventType, object: TopologyResource) => handlers.forEach((handler) => handler(type, object));
  return { users, changed, emit };
}

const viaSecret = (secret: string, name = "q") => queue({ rabbitmqClusterReference: { connectionSecret: { name: secret } } }, name) as TopologyResource;

describe("ConnectionSecretUsers", () => {
  it("counts an object as a user of its connection Secret from its creation until its finalizer is gone", () => {
    const { users, changed, emit } = tracked();
    const object = viaSecret("rabbit");
    emit("add", object);
    expect(users.count("messaging/rabbit")).toBe(1);
    const held = { ...object, metadata: { ...object.metadata, finalizers: [TOPOLOGY_FINALIZER] } };
    emit("update", held);
    const deleting = { ...held, metadata: { ...held.metadata, deletionTimestamp: new Date() } };
    emit("update", deleting);
    expect(users.count("messaging/rabbit")).toBe(1);
    emit("update", { ...deleting, metadata: { ...deleting.metadata, finalizers: [] } });
    expect(users.count("messaging/rabbit")).toBe(0);
    expect(changed).toEqual(["messaging/rabbit", "messaging/rabbit"]);
  });

  it("moves an object from one Secret to another, telling about both, and forgets deleted objects", () => {
    const { users, changed, emit } = tracked();
    emit("add", viaSecret("old"));
    emit("add", viaSecret("old", "q2"));
    emit("update", viaSecret("new"));
    expect([users.count("messaging/old"), users.count("messaging/new")]).toEqual([1, 1]);
    expect(changed).toEqual(["messaging/old", "messaging/old", "messaging/old", "messaging/new"]);
    emit("delete", viaSecret("old", "q2"));
    expect(users.count("messaging/old")).toBe(0);
  });

  it("ignores objects that reach their cluster by RabbitCluster name", () => {
    const { users, changed, emit } = tracked();
    emit("add", exchange({}) as TopologyResource);
    expect(changed).toEqual([]);
    expect(users.count("messaging/demo")).toBe(0);
  });
});
