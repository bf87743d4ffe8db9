// Whether writing would change anything: the check that keeps a steady-state reconcile from
// issuing any write. Pure functions, no I/O.
//
// For server-side apply, applying `desired` changes the stored object when
// 1. a field we set has another value (drift, or a new desired value), or
// 2. a field we set before (our entry in managedFields) is no longer desired: the apply removes it.
// Fields set by others or defaulted by the API server are none of our business and are ignored.
import type { KubeObject } from "./kube-object.js";
import type { V1ManagedFieldsEntry } from "@kubernetes/client-node";

type JsonObject = Record<string, unknown>;
/** managedFields' fieldsV1: "f:<field>", "k:<json keys>", "v:<json value>", "i:<index>", ".". */
type FieldSet = { [key: string]: FieldSet };

const MAX_DIFFERENCES = 10;

/** Set by the API server, never by an apply: not compared. */
const SERVER_METADATA = new Set([
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "managedFields",
  "selfLink",
]);

/** Fields of a Secret whose values are secret: differences name them, never show them. */
const SECRET_FIELDS = new Set(["data", "stringData"]);

/**
 * The differences (readable paths, at most a few) that applying desired would make to observed;
 * empty when the apply would change nothing and can be skipped. They are written to logs, so a
 * Secret's values never appear in them: only the keys that differ.
 */
export function applyDifferences(desired: KubeObject, observed: KubeObject | undefined, fieldManager: string): string[] {
  if (!observed) return ["object does not exist"];
  const differences: string[] = [];
  const isSecret = desired.kind === "Secret";
  for (const [key, value] of Object.entries(desired)) {
    if (key === "apiVersion" || key === "kind" || key === "status") continue;
    if (key === "metadata") {
      const observedMetadata = asObject((observed as JsonObject).metadata);
      for (const [field, fieldValue] of Object.entries(asObject(value))) {
        if (!SERVER_METADATA.has(field)) compareDesired(fieldValue, observedMetadata[field], ["metadata", field], differences);
      }
    } else {
      compareDesired(value, (observed as JsonObject)[key], [key], differences, isSecret && SECRET_FIELDS.has(key));
    }
  }
  const owned = appliedFields(observed, fieldManager);
  // Not applied by us yet (created by someone else, or with another operation): apply once to
  // own the fields, so that later removals from desired are carried out.
  if (!owned) differences.push(`no fields applied by ${fieldManager} yet`);
  else collectNoLongerDesired(owned, desired, [], differences);
  return differences.slice(0, MAX_DIFFERENCES);
}

/** The fields that fieldManager owns through apply (not through update, not on a subresource). */
export function appliedFields(observed: KubeObject, fieldManager: string): FieldSet | undefined {
  const entry = observed.metadata?.managedFields?.find(
    (candidate: V1ManagedFieldsEntry) => candidate.manager === fieldManager && candidate.operation === "Apply" && !candidate.subresource,
  );
  return entry ? ((entry.fieldsV1 ?? {}) as FieldSet) : undefined;
}

function compareDesired(desired: unknown, observed: unknown, path: string[], out: string[], secret = false): void {
  if (out.length >= MAX_DIFFERENCES || desired === undefined || desired === null) return;
  if (Array.isArray(desired)) {
    // A missing list and an empty one are the same: the API server drops empty lists.
    const list = Array.isArray(observed) ? observed : [];
    if (list.length !== desired.length) {
      out.push(`${formatPath(path)}: ${desired.length} items desired, ${list.length} observed`);
      return;
    }
    desired.forEach((item, index) => compareDesired(item, list[index], [...path, `[${index}]`], out, secret));
    return;
  }
  if (isObject(desired)) {
    const object = asObject(observed);
    for (const [key, value] of Object.entries(desired)) compareDesired(value, object[key], [...path, key], out, secret);
    return;
  }
  if (scalarsEqual(desired, observed, path)) return;
  if (secret) out.push(`${formatPath(path)}: ${observed === undefined ? "missing" : "differs"} (secret value not shown)`);
  else out.push(`${formatPath(path)}: desired ${JSON.stringify(desired)}, observed ${JSON.stringify(observed) ?? "nothing"}`);
}

function collectNoLongerDesired(owned: FieldSet, desired: unknown, path: string[], out: string[]): void {
  for (const [key, child] of Object.entries(owned)) {
    if (out.length >= MAX_DIFFERENCES) return;
    const kind = key.slice(0, 2);
    const rest = key.slice(2);
    if (kind === "f:") {
      const value = isObject(desired) ? desired[rest] : undefined;
      if (value === undefined || value === null) out.push(`${formatPath([...path, rest])}: set before, no longer desired`);
      else collectNoLongerDesired(child, value, [...path, rest], out);
    } else if (kind === "k:") {
      const keyFields = JSON.parse(rest) as JsonObject;
      // A key field missing from desired matches: the API server defaults key fields (a port's
      // protocol) before recording them.
      const item = Array.isArray(desired)
        ? desired.find(
            (element) =>
              isObject(element) && Object.entries(keyFields).every(([field, value]) => element[field] === undefined || deepEqual(element[field], value)),
          )
        : undefined;
      if (item === undefined) out.push(`${formatPath(path)}[${rest}]: set before, no longer desired`);
      else collectNoLongerDesired(child, item, [...path, `[${rest}]`], out);
    } else if (kind === "v:") {
      const value: unknown = JSON.parse(rest);
      if (!Array.isArray(desired) || !desired.some((element) => deepEqual(element, value)))
        out.push(`${formatPath(path)}[${rest}]: set before, no longer desired`);
    } else if (kind === "i:") {
      const item: unknown = Array.isArray(desired) ? desired[Number(rest)] : undefined;
      if (item === undefined) out.push(`${formatPath(path)}[${rest}]: set before, no longer desired`);
      else collectNoLongerDesired(child, item, [...path, `[${rest}]`], out);
    }
  }
}

/**
 * A JSON merge patch (RFC 7386) that turns observed into desired; undefined when they are equal.
 * Keys absent from desired are set to null (removed); lists are replaced whole.
 */
export function mergePatch(observed: unknown, desired: unknown): unknown {
  if (isObject(desired) && isObject(observed)) {
    const patch: JsonObject = {};
    for (const [key, value] of Object.entries(desired)) {
      if (value === undefined) continue;
      const change = mergePatch(observed[key], value);
      if (change !== undefined) patch[key] = change;
    }
    for (const [key, value] of Object.entries(observed)) {
      if (value !== undefined && value !== null && desired[key] === undefined) patch[key] = null;
    }
    return Object.keys(patch).length > 0 ? patch : undefined;
  }
  return deepEqual(observed, desired) ? undefined : (desired ?? null);
}

/**
 * Structural equality of JSON values, whatever the order of their keys (RabbitMQ sorts argument
 * keys; users may not); a Date equals the timestamp string of the same instant.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Date || b instanceof Date) return timeOf(a) !== undefined && timeOf(a) === timeOf(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  }
  if (isObject(a) && isObject(b)) {
    const keysA = Object.keys(a).filter((key) => a[key] !== undefined);
    const keysB = Object.keys(b).filter((key) => b[key] !== undefined);
    return keysA.length === keysB.length && keysA.every((key) => deepEqual(a[key], b[key]));
  }
  return false;
}

// Quantities the API server stores in canonical form: "1000m" comes back as "1", 0.5 as "500m".
const QUANTITY_PARENTS = new Set(["requests", "limits", "capacity", "allocatable", "hard"]);

function scalarsEqual(desired: unknown, observed: unknown, path: string[]): boolean {
  if (desired === observed) return true;
  if (observed instanceof Date) return timeOf(desired) === observed.getTime();
  const isQuantity = path.at(-1) === "sizeLimit" || path.slice(0, -1).some((segment) => QUANTITY_PARENTS.has(segment));
  if (!isQuantity) return false;
  const a = quantityValue(desired);
  const b = quantityValue(observed);
  return a !== undefined && b !== undefined && Math.abs(a - b) <= Math.abs(a) * 1e-9;
}

const SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The value of a Kubernetes quantity ("1500m", "2Gi", "1e3", 2), or undefined. */
export function quantityValue(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "string") return undefined;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/.exec(value.trim());
  if (!match) return undefined;
  const number = Number(match[1]);
  if (match[2] !== undefined) return number * 10 ** Number(match[2]);
  return number * (SUFFIXES[match[3] ?? ""] ?? 1);
}

function timeOf(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value !== "string") return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function asObject(value: unknown): JsonObject {
  return isObject(value) ? value : {};
}

function formatPath(path: string[]): string {
  return path.map((segment, index) => (segment.startsWith("[") || index === 0 ? segment : `.${segment}`)).join("");
}
