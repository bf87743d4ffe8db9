// The Pulumi input types follow the schemas: each kind's list of optional (defaulted) fields is
// what its schema says, and the immutable fields the components replace on are the CRD's.
import { describe, expect, expectTypeOf, it } from "vitest";
import { ALL_KINDS, type QueueSpec, type RabbitClusterSpec } from "../../../operator/api/index.js";
import {
  DEFAULTED_FIELDS,
  defaultedPaths,
  immutableFields,
  type OptionalAt,
  type WrittenPermissionSpec,
  type WrittenQueueSpec,
  type WrittenRabbitClusterSpec,
} from "../../../pulumi/index.js";

describe("Pulumi input types from the schemas", () => {
  it("lists, for every kind, exactly the fields its schema defaults", () => {
    expect(Object.keys(DEFAULTED_FIELDS).sort()).toEqual(ALL_KINDS.map((kind) => kind.kind).sort());
    for (const kind of ALL_KINDS) {
      expect([...DEFAULTED_FIELDS[kind.kind as keyof typeof DEFAULTED_FIELDS]], kind.kind).toEqual(defaultedPaths(kind.spec));
    }
  });

  it("finds the fields CEL rules make immutable, on the field and on the parent for optional ones", () => {
    const byKind = Object.fromEntries(ALL_KINDS.map((kind) => [kind.kind, immutableFields(kind.spec)]));
    expect(byKind.Queue).toEqual(["autoDelete", "durable", "name", "rabbitmqClusterReference", "type", "vhost"]);
    expect(byKind.User).toEqual(["rabbitmqClusterReference", "username"]);
    expect(byKind.Permission).toEqual(["rabbitmqClusterReference", "user", "userReference", "vhost"]);
    expect(byKind.RabbitCluster).toEqual([]);
  });

  it("makes defaulted fields optional, nested ones too, and keeps the others required", () => {
    expectTypeOf<WrittenQueueSpec>().toMatchTypeOf<{ name: string; vhost?: string; type?: QueueSpec["type"] }>();
    expectTypeOf<{ name: string }>().toMatchTypeOf<WrittenQueueSpec>();
    expectTypeOf<{ vhost: string }>().not.toMatchTypeOf<WrittenQueueSpec>();
    expectTypeOf<{ nodes: { disc: number } }>().toMatchTypeOf<WrittenRabbitClusterSpec>();
    expectTypeOf<{ persistence: { storageClassName: string } }>().toMatchTypeOf<WrittenRabbitClusterSpec>();
    expectTypeOf<{ user: string; permissions: { read: string } }>().toMatchTypeOf<WrittenPermissionSpec>();
    // The stored type is untouched: what a controller reads always has the defaults.
    expectTypeOf<RabbitClusterSpec["nodes"]>().toEqualTypeOf<{ disc: number; ram: number }>();
    expectTypeOf<OptionalAt<{ a: { b: number; c: number } }, "a.b">>().toEqualTypeOf<{ a: { b?: number; c: number } }>();
  });
});
