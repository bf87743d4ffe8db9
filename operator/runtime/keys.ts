// Work queue keys: "namespace/name" for namespaced objects, "name" for cluster-scoped ones (the
// string form of controller-runtime's reconcile.Request). Child objects map to their owner's key
// through their owner references.
import type { KubeObject } from "./kube-object.js";

export interface ObjectKey {
  /** "" for cluster-scoped objects. */
  readonly namespace: string;
  readonly name: string;
}

export function formatKey(key: ObjectKey): string {
  return key.namespace ? `${key.namespace}/${key.name}` : key.name;
}

export function parseKey(key: string): ObjectKey {
  const slash = key.indexOf("/");
  return slash < 0 ? { namespace: "", name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export function keyOf(object: KubeObject): string {
  const name = object.metadata?.name;
  if (!name) throw new Error(`${object.kind ?? "object"} without metadata.name has no key`);
  return formatKey({ namespace: object.metadata?.namespace ?? "", name });
}

/** The API group of an apiVersion: "" for the core group ("v1"). */
export function groupOf(apiVersion: string | undefined): string {
  if (!apiVersion) return "";
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

export interface OwnerKind {
  readonly group: string;
  readonly kind: string;
}

/**
 * Keys of the owners of kind `owner` named in the object's owner references. Only the controller
 * reference by default, as controller-runtime's Owns(): an object has at most one. The version is
 * ignored on purpose, so that owners stored at another version still match. Owners live in the
 * object's namespace (owner references cannot cross namespaces).
 */
export function ownerKeys(object: KubeObject, owner: OwnerKind, options: { controllerOnly?: boolean } = {}): string[] {
  const controllerOnly = options.controllerOnly ?? true;
  const namespace = object.metadata?.namespace ?? "";
  return (object.metadata?.ownerReferences ?? [])
    .filter((ref) => ref.kind === owner.kind && groupOf(ref.apiVersion) === owner.group && (!controllerOnly || ref.controller === true))
    .map((ref) => formatKey({ namespace, name: ref.name }));
}
