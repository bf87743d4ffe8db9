// Writes of whole objects: server-side apply, delete, finalizers. Apply compares with the
// observed object first (diff.ts) and writes nothing when the apply would change nothing.
import type { KubeObject } from "./kube-object.js";
import { PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import type { KubeClients } from "./clients.js";
import { FIELD_MANAGER } from "./clients.js";
import { applyDifferences } from "./diff.js";
import { isNotFound } from "./errors.js";
import { keyOf } from "./keys.js";
import { silentLogger, type Logger } from "./logger.js";

export interface ApplyOptions {
  /**
   * Take fields over from other managers on conflict. Default true: the operator owns the
   * children it builds, and a conflict would otherwise stop reconciliation for good.
   */
  force?: boolean;
}

export interface ApplyResult<T extends KubeObject> {
  /** The object as the API server returned it; the observed object when nothing was written. */
  object: T;
  written: boolean;
  /** Why it was written (the first differences found); empty when not written. */
  differences: string[];
}

export type PropagationPolicy = "Foreground" | "Background" | "Orphan";

export interface DeleteOptions {
  propagationPolicy?: PropagationPolicy;
  /** Delete only this incarnation of the object / only if unchanged since read. */
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
}

export interface ObjectWriterOptions {
  fieldManager?: string;
  logger?: Logger;
}

export class ObjectWriter {
  readonly fieldManager: string;
  private readonly clients: KubeClients;
  private readonly logger: Logger;

  constructor(clients: KubeClients, options: ObjectWriterOptions = {}) {
    this.clients = clients;
    this.fieldManager = options.fieldManager ?? FIELD_MANAGER;
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Server-side applies desired, unless observed (from an informer cache; undefined if absent)
   * shows that the apply would change nothing. desired must be complete: every field we set,
   * since fields we set before and leave out now are removed.
   */
  async apply<T extends KubeObject>(desired: T, observed: T | undefined, options: ApplyOptions = {}): Promise<ApplyResult<T>> {
    const differences = applyDifferences(desired, observed, this.fieldManager);
    if (observed && differences.length === 0) return { object: observed, written: false, differences };
    const object = (await this.clients.objects.patch(
      desired as KubernetesObject,
      undefined,
      undefined,
      this.fieldManager,
      options.force ?? true,
      PatchStrategy.ServerSideApply,
    )) as T;
    this.logger.info("applied", { kind: desired.kind, object: keyOf(desired), differences });
    return { object, written: true, differences };
  }

  /** Deletes object; false if it was already gone. */
  async delete(object: KubeObject, options: DeleteOptions = {}): Promise<boolean> {
    const { apiVersion, kind, metadata } = object;
    const reference = { apiVersion, kind, metadata: { name: metadata?.name, namespace: metadata?.namespace } };
    const body = options.preconditions ? { preconditions: options.preconditions } : undefined;
    try {
      await this.clients.objects.delete(reference, undefined, undefined, options.gracePeriodSeconds, undefined, options.propagationPolicy, body);
      this.logger.info("deleted", { kind, object: keyOf(object), propagationPolicy: options.propagationPolicy });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /**
   * Adds finalizer unless present. The patch carries the resourceVersion the finalizer list was
   * read at, so a concurrent change of the list fails with 409 Conflict (and the reconcile is
   * retried) instead of being overwritten.
   */
  async addFinalizer<T extends KubeObject>(object: T, finalizer: string): Promise<T> {
    const finalizers = object.metadata?.finalizers ?? [];
    if (finalizers.includes(finalizer)) return object;
    return this.patchFinalizers(object, [...finalizers, finalizer]);
  }

  /** Removes finalizer if present, with the same resourceVersion precondition. */
  async removeFinalizer<T extends KubeObject>(object: T, finalizer: string): Promise<T> {
    const finalizers = object.metadata?.finalizers ?? [];
    if (!finalizers.includes(finalizer)) return object;
    return this.patchFinalizers(
      object,
      finalizers.filter((name) => name !== finalizer),
    );
  }

  private async patchFinalizers<T extends KubeObject>(object: T, finalizers: string[]): Promise<T> {
    const { apiVersion, kind, metadata } = object;
    const patch = {
      apiVersion,
      kind,
      metadata: { name: metadata?.name, namespace: metadata?.namespace, resourceVersion: metadata?.resourceVersion, finalizers },
    } as T;
    const patched = (await this.clients.objects.patch(
      patch as KubernetesObject,
      undefined,
      undefined,
      this.fieldManager,
      undefined,
      PatchStrategy.MergePatch,
    )) as T;
    this.logger.debug("finalizers set", { kind, object: keyOf(object), finalizers });
    return patched;
  }
}
