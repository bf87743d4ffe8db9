// What the runtime needs to know about a kind to watch it and patch its status: its group,
// version, plural and scope. A static catalogue rather than discovery: the operator works with a
// fixed set of kinds, and a missing CRD shows up as a failing (and retried) list.
import type { KubeObject } from "./kube-object.js";
import { GROUP, VERSION, type KindDefinition } from "../api/index.js";
import type { OwnerKind } from "./keys.js";

export interface ResourceType extends OwnerKind {
  /** "" for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

export function apiVersionOf(resource: ResourceType): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version;
}

/** The collection path: all namespaces when namespace is undefined (or the kind is cluster-scoped). */
export function collectionPath(resource: ResourceType, namespace?: string): string {
  const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
  return resource.namespaced && namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${resource.plural}` : `${base}/${resource.plural}`;
}

/** Fills in apiVersion and kind, which list responses leave out of their items. */
export function withTypeMeta<T extends KubeObject>(resource: ResourceType, object: T): T {
  return { ...object, apiVersion: apiVersionOf(resource), kind: resource.kind };
}

const core = (kind: string, plural: string, namespaced = true): ResourceType => ({ group: "", version: "v1", kind, plural, namespaced });

/** The built-in kinds the operator watches or writes. */
export const RESOURCES = {
  ConfigMap: core("ConfigMap", "configmaps"),
  Secret: core("Secret", "secrets"),
  Service: core("Service", "services"),
  ServiceAccount: core("ServiceAccount", "serviceaccounts"),
  Pod: core("Pod", "pods"),
  PersistentVolumeClaim: core("PersistentVolumeClaim", "persistentvolumeclaims"),
  Namespace: core("Namespace", "namespaces", false),
  StatefulSet: { group: "apps", version: "v1", kind: "StatefulSet", plural: "statefulsets", namespaced: true },
  PodDisruptionBudget: { group: "policy", version: "v1", kind: "PodDisruptionBudget", plural: "poddisruptionbudgets", namespaced: true },
  Lease: { group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", namespaced: true },
  Event: { group: "events.k8s.io", version: "v1", kind: "Event", plural: "events", namespaced: true },
} as const satisfies Record<string, ResourceType>;

/** One of our kinds (operator/api/kinds.ts), all namespaced. */
export function customResource(definition: Pick<KindDefinition, "kind" | "plural">): ResourceType {
  return { group: GROUP, version: VERSION, kind: definition.kind, plural: definition.plural, namespaced: true };
}
