// Small pure pieces the kinds share: JSON arguments from a spec, comparisons, descriptions.
import type { JsonObject, JsonValue } from "../../../rabbitmq/management.js";
import { deepEqual } from "../../../runtime/diff.js";

/**
 * A spec's free-form object (arguments, a policy definition) as JSON. It came through the API
 * server as JSON, so the round trip only drops what JSON cannot hold (undefined).
 */
export function jsonObject(value: Record<string, unknown> | undefined): JsonObject {
  if (value === undefined) return {};
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

export function withoutKeys(object: JsonObject, keys: readonly string[]): JsonObject {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));
}

/** Tags as a set: sorted, without duplicates, so that order never shows as a difference. */
export function tagSet(tags: readonly string[] | undefined): string[] {
  return [...new Set(tags ?? [])].sort();
}

export function sameTags(a: readonly string[], b: readonly string[]): boolean {
  const left = tagSet(a);
  const right = tagSet(b);
  return left.length === right.length && left.every((tag, i) => tag === right[i]);
}

/** `"orders" in vhost "/"`. */
export function inVhost(name: string, vhost: string): string {
  return `${JSON.stringify(name)} in vhost ${JSON.stringify(vhost)}`;
}

/** One line saying how a field differs: `durable is false, want true`. */
export function differs(field: string, observed: JsonValue | undefined, desired: JsonValue | undefined): string {
  return `${field} is ${JSON.stringify(observed ?? null)}, want ${JSON.stringify(desired ?? null)}`;
}

/** The differences of JSON-valued fields, in the order given. */
export function fieldDifferences(fields: ReadonlyArray<readonly [string, JsonValue | undefined, JsonValue | undefined]>): string[] {
  return fields
    .filter(([, observed, desired]) => !deepEqual(observed ?? null, desired ?? null))
    .map(([field, observed, desired]) => differs(field, observed, desired));
}

export const ABSENT = "absent from RabbitMQ";

/**
 * Limits named in the spec, under RabbitMQ's names; limits the spec leaves out are not set in
 * RabbitMQ either (a limit set by hand on a declared object is drift).
 */
export function limitDifferences<K extends string>(desired: Partial<Record<K, number>>, observed: Partial<Record<K, number>>, names: readonly K[]): string[] {
  return names.filter((name) => desired[name] !== observed[name]).map((name) => differs(`limit ${name}`, observed[name], desired[name]));
}
