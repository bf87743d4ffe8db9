import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderCrdFiles } from "../../../operator/api/crd-files.js";
import { ALL_KINDS, buildCrd } from "../../../operator/api/index.js";

const root = join(import.meta.dirname, "..", "..", "..");
type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema; additionalProperties?: Schema; required?: string[] };

/** Every schema node with its path. */
function* walk(schema: Schema, path: string): Generator<[string, Schema]> {
  yield [path, schema];
  for (const [name, child] of Object.entries(schema.properties ?? {})) yield* walk(child, `${path}.${name}`);
  if (schema.items) yield* walk(schema.items, `${path}[]`);
  if (schema.additionalProperties) yield* walk(schema.additionalProperties, `${path}{}`);
}

const specSchema = (kind: string) => {
  const def = ALL_KINDS.find((k) => k.kind === kind)!;
  return buildCrd(def).spec.versions[0]!.schema!.openAPIV3Schema!.properties!.spec as unknown as Schema;
};

describe.each(["crds", "charts/rabbit-operator/crds"])("%s/", (dir) => {
  it("matches operator/api (run npm run gen:crds)", async () => {
    const expected = renderCrdFiles();
    const present = (await readdir(join(root, dir))).filter((name) => name.endsWith(".yaml")).sort();
    expect(present).toEqual([...expected.keys()].sort());
    for (const [name, content] of expected) expect(await readFile(join(root, dir, name), "utf8"), name).toBe(content);
  });
});

describe.each(ALL_KINDS.map((def) => [def.kind, def] as const))("%s CRD", (kind, def) => {
  const crd = buildCrd(def);
  const version = crd.spec.versions[0]!;
  const schema = version.schema!.openAPIV3Schema as unknown as Schema;

  it("describes every field, for kubectl explain", () => {
    const undocumented = [...walk(schema.properties!.spec!, "spec"), ...walk(schema.properties!.status!, "status")]
      .filter(([, node]) => typeof node.description !== "string" || node.description.length === 0)
      .map(([path]) => path);
    expect(undocumented).toEqual([]);
  });

  it("is structural: every node has a type, no TypeBox leftovers", () => {
    for (const [path, node] of walk(schema, "")) {
      const typed = typeof node.type === "string" || node["x-kubernetes-int-or-string"] === true;
      expect(typed, `${path} has no type`).toBe(true);
      expect(node, path).not.toHaveProperty("patternProperties");
      expect(node, path).not.toHaveProperty("const");
    }
  });

  it("requires no field that has a default", () => {
    for (const [path, node] of walk(schema, "")) {
      for (const name of node.required ?? []) {
        expect(node.properties?.[name], `${path}.${name}`).not.toHaveProperty("default");
      }
    }
  });

  it("has a status subresource, a short name and printer columns", () => {
    expect(version.subresources).toEqual({ status: {} });
    expect(crd.spec.names.shortNames!.length).toBeGreaterThan(0);
    expect(version.additionalPrinterColumns!.map((c) => c.name)).toContain("Ready");
    expect(crd.spec.names.categories).toContain("rabbitmq");
    expect(crd.metadata!.name).toBe(`${def.plural}.rabbit.operator.dev`);
  });
});

describe("CEL rules", () => {
  const rulesOf = (node: Schema | undefined) => (node?.["x-kubernetes-validations"] as { rule: string; message: string }[]) ?? [];
  const immutableFields = (kind: string) =>
    Object.entries(specSchema(kind).properties!)
      .filter(([, node]) => rulesOf(node).some((r) => r.rule === "self == oldSelf"))
      .map(([name]) => name)
      .sort();

  it.each([
    ["Queue", ["autoDelete", "durable", "name", "rabbitmqClusterReference", "type", "vhost"]],
    ["Exchange", ["autoDelete", "durable", "name", "rabbitmqClusterReference", "type", "vhost"]],
    ["Binding", ["destination", "destinationType", "rabbitmqClusterReference", "routingKey", "source", "vhost"]],
    ["Vhost", ["name", "rabbitmqClusterReference"]],
    ["Policy", ["name", "rabbitmqClusterReference", "vhost"]],
    ["Permission", ["rabbitmqClusterReference", "vhost"]],
    ["User", ["rabbitmqClusterReference"]],
  ])("%s makes its identity immutable", (kind, fields) => {
    expect(immutableFields(kind)).toEqual(fields);
  });

  it("makes optional identity fields immutable at the spec level", () => {
    expect(rulesOf(specSchema("User")).map((r) => r.message)).toContain("username is immutable");
    expect(rulesOf(specSchema("Permission")).map((r) => r.message)).toEqual(
      expect.arrayContaining(["user is immutable", "userReference is immutable", "exactly one of user or userReference must be set"]),
    );
    expect(rulesOf(specSchema("Binding")).map((r) => r.message)).toContain("arguments is immutable");
  });

  it("requires exactly one way to reach the cluster", () => {
    const reference = specSchema("Queue").properties!.rabbitmqClusterReference!;
    expect(rulesOf(reference).map((r) => r.rule)).toContain("has(self.name) != has(self.connectionSecret)");
  });

  it("keeps at least one disc node and no negative ram nodes", () => {
    const nodes = specSchema("RabbitCluster").properties!.nodes!;
    expect(nodes.properties!.disc).toMatchObject({ minimum: 1 });
    expect(nodes.properties!.ram).toMatchObject({ minimum: 0 });
  });
});
