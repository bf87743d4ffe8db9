// Helpers for writing CRD schemas with TypeBox. Every schema here is at once a TypeScript type
// (Static<typeof X>) and the OpenAPI v3 schema the API server validates against, so the two
// cannot drift. Kubernetes-specific keywords (x-kubernetes-*) are passed through as options.
import { Type, type TSchema, type SchemaOptions, type TUnsafe } from "@sinclair/typebox";

/** A CEL validation rule, as `x-kubernetes-validations` items. */
export interface CelRule {
  rule: string;
  message: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
  fieldPath?: string;
}

export const validations = (...rules: CelRule[]) => ({ "x-kubernetes-validations": rules });

/** A field that may be set at creation and never changed afterwards. */
export const immutable = (what: string): CelRule => ({ rule: "self == oldSelf", message: `${what} is immutable` });

/**
 * A name RabbitMQ's management API can address: "." and ".." cannot be sent as URL segments
 * (URL parsers resolve them, so they would name another resource).
 */
export const addressable = (what: string): CelRule => ({
  rule: "self != '.' && self != '..'",
  message: `${what} cannot be "." or "..": RabbitMQ's management API cannot address such a name`,
});

/**
 * A name RabbitMQ lets a client declare: it reserves the "amq." prefix of exchange and queue names
 * for itself and refuses it as access_refused, which its management API reports as a bare
 * "Access refused." (an access problem, not a name problem, to whoever reads the condition).
 */
export const unreserved = (what: string): CelRule => ({
  rule: "!self.startsWith('amq.')",
  message: `${what} cannot start with "amq.": RabbitMQ reserves that prefix for its own exchanges and queues`,
});

/**
 * A rule for the parent object: an optional field that may neither appear, disappear nor change
 * after creation. (A rule on the field itself only runs when the field exists on both sides.)
 */
export const immutableOptional = (field: string, what: string = field): CelRule => ({
  rule: `has(self.${field}) == has(oldSelf.${field}) && (!has(self.${field}) || self.${field} == oldSelf.${field})`,
  message: `${what} is immutable`,
});

/** A string restricted to the given values (rendered as `enum`, which structural schemas need). */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: "string", enum: [...values] });
}

/** An object whose content we pass through untouched (RabbitMQ arguments, policy definitions). */
export function FreeformObject(options: SchemaOptions = {}): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({ ...options, type: "object", "x-kubernetes-preserve-unknown-fields": true });
}

/** A Kubernetes type we do not re-describe (affinity, tolerations): kept as given, typed in TypeScript. */
export function KubernetesType<T>(options: SchemaOptions & { type: "object" | "array" }): TUnsafe<T> {
  const { type, ...rest } = options;
  return type === "array"
    ? Type.Unsafe<T>({ ...rest, type: "array", items: { type: "object", description: "An item.", "x-kubernetes-preserve-unknown-fields": true } })
    : Type.Unsafe<T>({ ...rest, type: "object", "x-kubernetes-preserve-unknown-fields": true });
}

/** A resource quantity ("500m", "2Gi", 1). */
export function Quantity(options: SchemaOptions = {}): TUnsafe<string | number> {
  return Type.Unsafe<string | number>({
    ...options,
    anyOf: [{ type: "integer" }, { type: "string" }],
    "x-kubernetes-int-or-string": true,
    pattern: "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
  });
}

/** A map of string to string (labels, annotations). */
export const StringMap = (options: SchemaOptions = {}) => Type.Record(Type.String(), Type.String({ description: "A value." }), options);

/**
 * Turns a TypeBox schema into a Kubernetes structural schema: plain JSON (TypeBox's symbol keys
 * dropped), `patternProperties` of records as `additionalProperties`, and fields with a default
 * no longer required (the TypeScript type keeps them required: stored objects always have them).
 */
export function toStructuralSchema(schema: TSchema): Record<string, unknown> {
  return convert(JSON.parse(JSON.stringify(schema)) as Record<string, unknown>);
}

function convert(node: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "patternProperties" && isRecord(value)) {
      const [only] = Object.values(value);
      if (Object.keys(value).length !== 1 || !isRecord(only)) throw new Error("a record schema must have one value schema");
      out.additionalProperties = convert(only);
    } else if (key === "properties" && isRecord(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, convert(child as Record<string, unknown>)]));
    } else if ((key === "items" || key === "additionalProperties") && isRecord(value)) {
      out[key] = convert(value);
    } else if (key === "anyOf" && Array.isArray(value)) {
      out.anyOf = value.map((child) => convert(child as Record<string, unknown>));
    } else {
      out[key] = value;
    }
  }
  if (Array.isArray(out.required) && isRecord(out.properties)) {
    const properties = out.properties;
    const required = (out.required as string[]).filter((name) => !(isRecord(properties[name]) && "default" in properties[name]));
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
