import type { V1ConfigMap, V1ManagedFieldsEntry, V1StatefulSet } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { applyDifferences, deepEqual, mergePatch, quantityValue } from "../../../operator/runtime/index.js";

const MANAGER = "rabbit-operator";

function applied(fieldsV1: object, manager = MANAGER, operation = "Apply"): V1ManagedFieldsEntry[] {
  return [{ manager, operation, apiVersion: "v1", fieldsType: "FieldsV1", fieldsV1 }];
}

const desiredConfigMap: V1ConfigMap = {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "conf", namespace: "ns", labels: { app: "rabbit" } },
  data: { "rabbitmq.conf": "a = 1\n" },
};

/** What the API server returns after applying desiredConfigMap. */
function storedConfigMap(overrides: Partial<V1ConfigMap> = {}): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "conf",
      namespace: "ns",
      uid: "u1",
      resourceVersion: "42",
      creationTimestamp: "2025-01-01T00:00:00Z" as unknown as Date,
      labels: { app: "rabbit", "added-by": "someone-else" },
      annotations: { note: "from a user" },
      managedFields: applied({ "f:data": { ".": {}, "f:rabbitmq.conf": {} }, "f:metadata": { "f:labels": { "f:app": {} } } }),
    },
    data: { "rabbitmq.conf": "a = 1\n" },
    ...overrides,
  };
}

describe("applyDifferences", () => {
  it("finds nothing to do when the fields we set have our values, whatever others added", () => {
    expect(applyDifferences(desiredConfigMap, storedConfigMap(), MANAGER)).toEqual([]);
  });

  it("finds a changed value (drift or a new desired value) and a missing object", () => {
    expect(applyDifferences(desiredConfigMap, storedConfigMap({ data: { "rabbitmq.conf": "a = 2\n" } }), MANAGER)).toEqual([
      'data.rabbitmq.conf: desired "a = 1\\n", observed "a = 2\\n"',
    ]);
    expect(applyDifferences(desiredConfigMap, undefined, MANAGER)).toEqual(["object does not exist"]);
  });

  it("names the keys of a Secret that differ without ever showing their values", () => {
    const secret = (data: Record<string, string>) => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s", namespace: "ns", managedFields: applied({ "f:data": { "f:password": {}, "f:uri": {} } }) },
      data,
    });
    const desired = { ...secret({ password: "c2VjcmV0LW9uZQ==", uri: "aHR0cDovL3g=" }), metadata: { name: "s", namespace: "ns" } };
    const differences = applyDifferences(desired, secret({ password: "c2VjcmV0LXR3bw==" }), MANAGER);
    expect(differences).toEqual(["data.password: differs (secret value not shown)", "data.uri: missing (secret value not shown)"]);
    expect(differences.join()).not.toMatch(/c2VjcmV0|aHR0cDovL3g|secret-one|secret-two/);
  });

  it("finds a field we set before and no longer desire, which the apply would remove", () => {
    const stored = storedConfigMap();
    stored.metadata!.managedFields = applied({ "f:data": { "f:rabbitmq.conf": {}, "f:old.conf": {} }, "f:metadata": { "f:labels": { "f:app": {} } } });
    expect(applyDifferences(desiredConfigMap, stored, MANAGER)).toEqual(["data.old.conf: set before, no longer desired"]);
  });

  it("applies once when we do not own the fields yet (created by someone else, or by update)", () => {
    const stored = storedConfigMap();
    stored.metadata!.managedFields = applied({ "f:data": {} }, MANAGER, "Update");
    expect(applyDifferences(desiredConfigMap, stored, MANAGER)).toEqual(["no fields applied by rabbit-operator yet"]);
  });

  it("matches list items by the keys in managedFields, treating key fields the server defaulted as matching", () => {
    const desired: V1StatefulSet = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "r", namespace: "ns" },
      spec: {
        selector: {},
        serviceName: "r",
        template: { spec: { containers: [{ name: "rabbitmq", image: "rabbitmq:3.10", ports: [{ containerPort: 5672, name: "amqp" }] }] } },
      },
    };
    const stored = structuredClone(desired);
    const container = stored.spec!.template.spec!.containers[0]!;
    Object.assign(container, { imagePullPolicy: "IfNotPresent", terminationMessagePath: "/dev/termination-log" });
    container.ports = [{ containerPort: 5672, name: "amqp", protocol: "TCP" }];
    const containerFields = {
      "f:image": {},
      "f:name": {},
      "f:ports": { 'k:{"containerPort":5672,"protocol":"TCP"}': { "f:containerPort": {}, "f:name": {} } },
    };
    stored.metadata!.managedFields = applied({
      "f:spec": { "f:selector": {}, "f:serviceName": {}, "f:template": { "f:spec": { "f:containers": { 'k:{"name":"rabbitmq"}': containerFields } } } },
    });
    expect(applyDifferences(desired, stored, MANAGER)).toEqual([]);

    const renamed = structuredClone(desired);
    renamed.spec!.template.spec!.containers[0]!.name = "broker";
    expect(applyDifferences(renamed, stored, MANAGER)).toContain('spec.template.spec.containers[{"name":"rabbitmq"}]: set before, no longer desired');
  });

  it("compares quantities by value where the API server canonicalizes them", () => {
    const desired = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: { containers: [{ name: "c", resources: { limits: { cpu: "1000m", memory: "1Gi" }, requests: { cpu: 0.5 } } }] },
    };
    const stored = {
      ...desired,
      metadata: { name: "p", managedFields: applied({ "f:spec": {} }) },
      spec: { containers: [{ name: "c", resources: { limits: { cpu: "1", memory: "1073741824" }, requests: { cpu: "500m" } } }] },
    };
    expect(applyDifferences(desired, stored, MANAGER)).toEqual([]);
    // Outside quantity fields, "1000m" and "1" are different strings.
    expect(applyDifferences({ ...desired, data: { x: "1000m" } } as object, { ...stored, data: { x: "1" } } as object, MANAGER)).toEqual([
      'data.x: desired "1000m", observed "1"',
    ]);
  });

  it("treats an empty desired list or map as equal to an absent one, and compares list lengths", () => {
    const desired = { apiVersion: "v1", kind: "X", metadata: { name: "x", annotations: {} }, spec: { items: [] as string[], tags: ["a"] } };
    const stored = { apiVersion: "v1", kind: "X", metadata: { name: "x", managedFields: applied({ "f:spec": { "f:tags": {} } }) }, spec: { tags: ["a", "b"] } };
    expect(applyDifferences(desired, stored, MANAGER)).toEqual(["spec.tags: 1 items desired, 2 observed"]);
  });

  it("accepts Date objects (client-node's typed responses) for timestamp strings", () => {
    const desired = { apiVersion: "v1", kind: "X", metadata: { name: "x" }, spec: { at: "2025-01-01T00:00:00Z" } };
    const stored = {
      ...desired,
      metadata: { name: "x", managedFields: applied({ "f:spec": { "f:at": {} } }) },
      spec: { at: new Date("2025-01-01T00:00:00Z") },
    };
    expect(applyDifferences(desired, stored as object, MANAGER)).toEqual([]);
  });
});

describe("mergePatch", () => {
  it("is undefined when equal, whatever the key order", () => {
    expect(mergePatch({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBeUndefined();
  });

  it("sets changed keys, nulls removed ones, replaces lists whole", () => {
    expect(mergePatch({ a: 1, gone: "x", nested: { keep: 1, drop: 2 }, list: [1, 2] }, { a: 2, nested: { keep: 1 }, list: [1], added: true })).toEqual({
      a: 2,
      gone: null,
      nested: { drop: null },
      list: [1],
      added: true,
    });
  });
});

describe("quantityValue and deepEqual", () => {
  it("parses decimal, binary and exponent quantities", () => {
    expect(quantityValue("1500m")).toBe(1.5);
    expect(quantityValue("2Gi")).toBe(2 * 2 ** 30);
    expect(quantityValue("1e3")).toBe(1000);
    expect(quantityValue(".5")).toBe(0.5);
    expect(quantityValue("12Q")).toBeUndefined();
    expect(quantityValue({})).toBeUndefined();
  });

  it("ignores undefined-valued keys", () => {
    expect(deepEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(deepEqual([1, { a: 1 }], [1, { a: 2 }])).toBe(false);
  });

  it("compares JSON regardless of key order (RabbitMQ's arguments against a spec's)", () => {
    expect(deepEqual({ a: 1, b: { c: [1, { d: 2, e: 3 }] } }, { b: { c: [1, { e: 3, d: 2 }] }, a: 1 })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: "1" })).toBe(false);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
  });
});
