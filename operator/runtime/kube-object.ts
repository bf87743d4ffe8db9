// The object shape the runtime works with: any Kubernetes object, typed from client-node or read
// off the wire, and our custom resources (operator/api) alike. Its metadata is operator/api's
// KubeObjectMeta (timestamps as Date or string), re-exported for the runtime's callers.
import type { KubeObjectMeta } from "../api/index.js";

export type { KubeObjectMeta };

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: KubeObjectMeta;
}
