// Every example validates against its CRD's schema, more strictly than the API server (which
// would silently prune an unknown field: here a typo fails), and every example cluster builds.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ALL_KINDS, API_VERSION, DEFAULT_IMAGE, RabbitClusterSpec, buildCrd, withDefaults, type RabbitCluster } from "../../../operator/api/index.js";
import { imageVersion } from "../../../operator/resources/validation.js";
import { RABBITMQ_RELEASES } from "../../../dev/images/rabbitmq-image.js";
import { buildChildren, validateCluster } from "../../../operator/resources/index.js";
import { context } from "../fixtures.js";

const examplesDir = join(import.meta.dirname, "..", "..", "..", "examples");
type Schema = { [key: string]: unknown };

/** A copy of a CRD schema where objects without preserve-unknown-fields reject unknown keys. */
function strict(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "properties") out[key] = Object.fromEntries(Object.entries(value as Record<string, Schema>).map(([k, v]) => [k, strict(v)]));
    else if ((key === "items" || key === "additionalProperties") && typeof value === "object") out[key] = strict(value as Schema);
    else if (key.startsWith("x-kubernetes-") || key === "format") continue;
    else out[key] = value;
  }
  if (out.type === "object" && out.properties && !schema["x-kubernetes-preserve-unknown-fields"]) out.additionalProperties = false;
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true });
const validators = new Map(
  ALL_KINDS.map((def) => {
    const schema = buildCrd(def).spec.versions[0]!.schema!.openAPIV3Schema as Schema;
    return [def.kind, ajv.compile(strict(schema))];
  }),
);

async function examples() {
  const files = (await readdir(examplesDir)).filter((name) => name.endsWith(".yaml"));
  const docs: { file: string; doc: { apiVersion: string; kind: string; metadata: { name: string } } }[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(join(examplesDir, file), "utf8"))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      docs.push({ file, doc: doc.toJS() });
    }
  }
  return docs;
}

describe("examples/", async () => {
  const docs = await examples();

  it("declares every kind at least once", () => {
    const kinds = new Set(docs.map(({ doc }) => doc.kind));
    for (const def of ALL_KINDS) expect(kinds, def.kind).toContain(def.kind);
  });

  it.each(docs.filter(({ doc }) => doc.apiVersion === API_VERSION).map(({ file, doc }) => [`${file}: ${doc.kind}/${doc.metadata.name}`, doc]))(
    "%s matches its schema",
    (_name, doc) => {
      const validate = validators.get(doc.kind)!;
      expect(validate(doc) ? [] : validate.errors).toEqual([]);
    },
  );

  it("builds every example cluster without a spec problem", () => {
    for (const { doc } of docs.filter(({ doc }) => doc.kind === "RabbitCluster")) {
      const cluster = { ...(doc as unknown as RabbitCluster), metadata: { ...doc.metadata, namespace: "default", uid: "uid" } };
      cluster.spec = withDefaults(RabbitClusterSpec, cluster.spec);
      expect(validateCluster(cluster)).toEqual([]);
      expect(buildChildren(cluster, context).length).toBeGreaterThan(0);
    }
  });
});

describe("the RabbitMQ images named to users", () => {
  it("are of the newest series the e2e tier runs: the CRD's default and every example cluster's", async () => {
    const series = Object.keys(RABBITMQ_RELEASES).map((key) => imageVersion(`x:${key}`)!);
    const newest = series.reduce((a, b) => (b.major > a.major || (b.major === a.major && b.minor > a.minor) ? b : a));
    const images = [
      DEFAULT_IMAGE,
      ...(await examples()).filter(({ doc }) => doc.kind === "RabbitCluster").map(({ doc }) => (doc as unknown as RabbitCluster).spec.image),
    ];
    for (const image of images) expect(imageVersion(image), image).toEqual({ major: newest.major, minor: newest.minor });
  });
});

describe("the strict schema check", () => {
  it("catches a misspelled field and a bad enum value", () => {
    const validate = validators.get("Queue")!;
    const queue = { apiVersion: API_VERSION, kind: "Queue", metadata: { name: "q" }, spec: { name: "q", rabbitmqClusterReference: { name: "c" } } };
    expect(validate(queue)).toBe(true);
    expect(validate({ ...queue, spec: { ...queue.spec, duarble: true } })).toBe(false);
    expect(validate({ ...queue, spec: { ...queue.spec, type: "fancy" } })).toBe(false);
  });
});
