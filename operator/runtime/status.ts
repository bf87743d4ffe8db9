// Status writes for our custom resources: a JSON merge patch of the status subresource, sent only
// when the computed status differs from the observed one. Conditions come from conditions.ts.
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { KubeObject } from "./kube-object.js";
import type { KubeClients } from "./clients.js";
import { FIELD_MANAGER } from "./clients.js";
import { mergePatch } from "./diff.js";
import { keyOf } from "./keys.js";
import { silentLogger, type Logger } from "./logger.js";
import type { ResourceType } from "./resource-types.js";

export class StatusWriter {
  private readonly clients: KubeClients;
  private readonly fieldManager: string;
  private readonly logger: Logger;

  constructor(clients: KubeClients, options: { fieldManager?: string; logger?: Logger } = {}) {
    this.clients = clients;
    this.fieldManager = options.fieldManager ?? FIELD_MANAGER;
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Makes the status of observed equal to status (keys it lacks are removed). Returns whether it
   * wrote: false when they were equal already.
   */
  async update<S extends object>(resource: ResourceType, observed: KubeObject & { status?: S }, status: S): Promise<boolean> {
    if (!resource.group) throw new Error(`StatusWriter writes the status of custom resources only, not ${resource.kind}`);
    const patch = mergePatch(observed.status ?? {}, status);
    if (patch === undefined) return false;
    const name = observed.metadata?.name;
    const namespace = observed.metadata?.namespace;
    if (!name) throw new Error(`${resource.kind} without a name`);
    const target = {
      group: resource.group,
      version: resource.version,
      plural: resource.plural,
      name,
      body: { status: patch },
      fieldManager: this.fieldManager,
    };
    // The generated client sends JSON Patch by default; the Content-Type header makes it a merge patch.
    const options = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    if (resource.namespaced && namespace) await this.clients.customObjects.patchNamespacedCustomObjectStatus({ ...target, namespace }, options);
    else await this.clients.customObjects.patchClusterCustomObjectStatus(target, options);
    this.logger.debug("status updated", { kind: resource.kind, object: keyOf(observed) });
    return true;
  }
}
