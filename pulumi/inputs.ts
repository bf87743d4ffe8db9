// Pulumi input types derived from the schemas in operator/api, and what the components read off
// those schemas at run time (defaults, immutable fields). Nothing about a field is written twice:
// a field added to a schema shows up in the Pulumi args the moment the schema's type changes.
import type { TSchema } from "@sinclair/typebox";
import type * as pulumi from "@pulumi/pulumi";

/**
 * A value whose every part may be a Pulumi input (a plain value, a promise or an Output), as
 * `pulumi.output()` resolves it: `{ name: queueName, vhost: vhost.spec.name }` where both are
 * Outputs type-checks against `DeepInput<QueueSpec>`.
 */
export type DeepInput<T> = pulumi.Input<T extends readonly (infer Item)[] ? DeepInput<Item>[] : T extends object ? { [K in keyof T]: DeepInput<T[K]> } : T>;

type Rest<Path extends string, Field extends string> = Path extends `${Field}.${infer Tail}` ? Tail : never;

/**
 * T with the fields at the given dot paths made optional: the fields the schema gives a default,
 * which the API server fills in on admission and so a user need not write. The stored type keeps
 * them required; this is the type of what a user writes.
 */
export type OptionalAt<T, Paths extends string> = T extends readonly unknown[]
  ? T
  : T extends object
    ? Flatten<
        { [K in keyof T as K extends Paths ? K : never]?: OptionalAt<T[K], Rest<Paths, K & string>> } & {
          [K in keyof T as K extends Paths ? never : K]: OptionalAt<T[K], Rest<Paths, K & string>>;
        }
      >
    : T;

type Flatten<T> = { [K in keyof T]: T[K] };

interface SchemaNode {
  type?: unknown;
  default?: unknown;
  properties?: Record<string, SchemaNode>;
  "x-kubernetes-validations"?: { rule: string }[];
}

/**
 * Dot paths of the fields that have a default, through nested objects (not arrays: an item's
 * defaults apply to items the user writes anyway). The unit tests hold each kind's OptionalAt
 * path list against this, so the types follow the schema.
 */
export function defaultedPaths(schema: TSchema): string[] {
  const paths: string[] = [];
  const walk = (node: SchemaNode, prefix: string) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const path = prefix ? `${prefix}.${name}` : name;
      if ("default" in child) paths.push(path);
      if (child.properties) walk(child, path);
    }
  };
  walk(schema as SchemaNode, "");
  return paths.sort();
}

const IMMUTABLE_RULE = "self == oldSelf";
/** The parent-level rule of an optional immutable field (schema.ts `immutableOptional`). */
const IMMUTABLE_OPTIONAL_RULE = /^has\(self\.(\w+)\) == has\(oldSelf\.\1\)/;

/**
 * Top-level spec fields the CRD's CEL rules refuse to change. A Pulumi update of one of them
 * would fail on the API server; the components mark them `replaceOnChanges`, so Pulumi deletes
 * the object and creates it again instead (which is also what changing a queue's type means in
 * RabbitMQ).
 */
export function immutableFields(schema: TSchema): string[] {
  const node = schema as SchemaNode;
  const fields = new Set<string>();
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    if (child["x-kubernetes-validations"]?.some((rule) => rule.rule === IMMUTABLE_RULE)) fields.add(name);
  }
  for (const rule of node["x-kubernetes-validations"] ?? []) {
    const match = IMMUTABLE_OPTIONAL_RULE.exec(rule.rule);
    if (match) fields.add(match[1]!);
  }
  return [...fields].sort();
}
