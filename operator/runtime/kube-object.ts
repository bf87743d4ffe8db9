// The object shape the runtime works with. client-node's KubernetesObject types timestamps as
// Date, which only its typed clients produce; watch events, our lists and our custom resources
// (operator/api) carry them as the strings they are on the wire. Both fit this type.
import type { V1ManagedFieldsEntry, V1OwnerReference } from "@kubernetes/client-node";

export interface KubeObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: V1OwnerReference[];
  managedFields?: V1ManagedFieldsEntry[];
  creationTimestamp?: Date | string;
  deletionTimestamp?: Date | string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: KubeObjectMeta;
}
