// Which events of its own objects a controller acts on. A controller's status writes come back to
// it as update events; acting on each costs a reconcile and the requests it makes (a management
// API GET per topology object), for nothing the reconcile did not just write itself.
import type { KubeObject } from "./kube-object.js";
import type { InformerEventType } from "./informer.js";
import { keyOf } from "./keys.js";

/**
 * Lets through every event but an update that changed nothing a reconcile acts on: the spec (the
 * generation), the deletion, the finalizers, labels and annotations. Keeps one short fingerprint
 * per object.
 */
export class IgnoreStatusOnlyUpdates {
  private readonly seen = new Map<string, string>();

  passes(type: InformerEventType, object: KubeObject): boolean {
    const key = keyOf(object);
    if (type === "delete") {
      this.seen.delete(key);
      return true;
    }
    const now = fingerprint(object);
    const before = this.seen.get(key);
    this.seen.set(key, now);
    return type !== "update" || before !== now;
  }
}

function fingerprint(object: KubeObject): string {
  const { generation, deletionTimestamp, finalizers, labels, annotations } = object.metadata ?? {};
  return JSON.stringify([generation ?? null, deletionTimestamp ?? null, finalizers ?? [], labels ?? {}, annotations ?? {}]);
}
