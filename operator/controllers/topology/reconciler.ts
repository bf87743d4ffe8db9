// The one reconcile pattern of every topology kind. Per object:
//   deleting   -> per deletionPolicy, delete it in RabbitMQ (or leave it), then drop the finalizer
//   otherwise  -> finalizer; cluster reference -> connection; the kind's desired object; the
//                 features it uses judged by the cluster's RabbitMQ version; observe it; declare
//                 only if it differs; status (written only when it changed); Events on transitions
//                 (not for a new object Ready at once). Its own status writes do not bring it back.
// Anything that stops it (a missing cluster, vhost or user; a refusal by RabbitMQ) becomes
// Ready=False with the reason, and the reconcile throws so that the work queue retries with
// exponential backoff. Drift is found in bulk elsewhere (drift.ts), which enqueues the objects
// whose RabbitMQ counterpart differs.
import type { ManagementClient, ManagementConnection } from "../../rabbitmq/management.js";
import type { ObjectWriter } from "../../runtime/apply.js";
import type { KubeClients } from "../../runtime/clients.js";
import { throwIfStopped, type ReconcileRequest, type ReconcileResult, type Reconciler } from "../../runtime/controller.js";
import { describeError, isNotFound } from "../../runtime/errors.js";
import type { EventRecorder } from "../../runtime/events.js";
import type { Informer } from "../../runtime/informer.js";
import type { Logger } from "../../runtime/logger.js";
import { customResource } from "../../runtime/resource-types.js";
import type { StatusWriter } from "../../runtime/status.js";
import { Problem, type PrepareContext, type TopologyAdapter, type TopologyLookups, type TopologyResource } from "./adapter.js";
import { resolveConnection, type ClusterConnection, type ConnectionLookups } from "./connection.js";
import { computeStatus, isReadyForGeneration, problemOf, type Outcome } from "./status.js";
import { NotAdmittedError } from "../../rabbitmq/reachability.js";
import { judgeFeatures } from "../../rabbitmq/versions.js";
import type { ClusterVersions } from "./cluster-versions.js";
import type { SharedSnapshots } from "./shared-snapshots.js";
import { takeSnapshot, type SnapshotIndex } from "./snapshot.js";

/** Held by every topology object until RabbitMQ no longer needs it (deletionPolicy decides). */
export const TOPOLOGY_FINALIZER = "rabbit.operator.dev/topology-deletion";

/** How many waited-for objects a status message names. */
const MAX_LISTED = 10;
const CONTENTS_RECHECK_MS = 30_000;

/** Thrown after Ready=False was written, so that the work queue retries with backoff. */
export class TopologyNotReadyError extends Error {
  override readonly name = "TopologyNotReadyError";
  constructor(readonly problem: Problem) {
    super(`${problem.reason}: ${problem.message}`);
  }
}

export interface TopologyReconcilerOptions<R extends TopologyResource, D, O> {
  adapter: TopologyAdapter<R, D, O>;
  informer: Informer<R>;
  lookups: TopologyLookups & ConnectionLookups;
  writer: ObjectWriter;
  status: StatusWriter;
  events: EventRecorder;
  clients: KubeClients;
  managementClient: (connection: ManagementConnection) => ManagementClient;
  /** The RabbitMQ version of a cluster, for objects that use features some versions lack. */
  versions?: ClusterVersions;
  logger: Logger;
  now?: () => number;
  /**
   * For kinds with a deletion order: the objects (as "Kind namespace/name") whose deletion comes
   * before this one's.
   */
  dependents?: (object: R) => string[];
  /** Told of every object found different from its spec and declared again (for metrics). */
  onRepaired?: (kind: string) => void;
  /**
   * Puts the in-use finalizer on the connection Secret an object is about to use (connection-secrets.ts),
   * before anything is declared through it: a Secret deleted a moment later still outlives the object.
   */
  guardConnectionSecret?: (namespace: string, name: string) => Promise<void>;
  /**
   * Bulk listings shared by the reconciles that verify an object already Ready for its generation
   * (shared-snapshots.ts); without it, every reconcile reads its object with a GET.
   */
  snapshots?: SharedSnapshots;
}

export class TopologyReconciler<R extends TopologyResource, D, O> implements Reconciler {
  private readonly resource;

  constructor(private readonly options: TopologyReconcilerOptions<R, D, O>) {
    this.resource = customResource(options.adapter.definition);
  }

  async reconcile(request: ReconcileRequest): Promise<ReconcileResult> {
    const object = this.options.informer.get(request.name, request.namespace);
    if (!object) return {};
    const { signal } = request;
    if (object.metadata.deletionTimestamp) return this.finalize(object, signal);
    if (!object.metadata.finalizers?.includes(TOPOLOGY_FINALIZER)) {
      throwIfStopped(signal);
      // The update this makes brings the object back with the finalizer, from the cache.
      await this.options.writer.addFinalizer(object, TOPOLOGY_FINALIZER);
      return {};
    }

    const { adapter } = this.options;
    const connection = resolveConnection(object.spec.rabbitmqClusterReference, object.metadata.namespace ?? "", this.options.lookups);
    if (connection instanceof Problem) return this.fail(object, connection);
    const secretName = object.spec.rabbitmqClusterReference.connectionSecret?.name;
    if (secretName) {
      throwIfStopped(signal);
      await this.options.guardConnectionSecret?.(object.metadata.namespace ?? "", secretName);
    }
    const desired = await adapter.prepare(object, this.prepareContext("reconcile"));
    if (desired instanceof Problem) return this.fail(object, desired);

    const routed = this.routed(connection, desired);
    const client = this.options.managementClient(routed);
    const what = adapter.describe(desired);
    let caveats: string[] = [];
    const features = adapter.features?.(desired) ?? [];
    const version = features.length > 0 ? await this.options.versions?.of(routed, client) : undefined;
    const verdicts = version ? judgeFeatures(features, version) : { refused: [], ignored: [] };
    if (verdicts.refused.length > 0) {
      return this.fail(object, new Problem("UnsupportedByRabbitMQVersion", `${capitalize(what)} is not declared: ${verdicts.refused.join("; ")}`), desired);
    }
    try {
      let observed = await this.observe(object, connection, client, desired);
      const differences = adapter.differences(desired, observed);
      if (differences.length > 0) {
        throwIfStopped(signal);
        await adapter.declare(client, desired, observed);
        await this.reportRepair(object, what, differences);
        // RabbitMQ accepts some declarations without applying them (an existing exchange keeps
        // its arguments): read back, or the drift check would declare it again every period.
        observed = await adapter.observe(client, desired);
        const remaining = adapter.differences(desired, observed);
        if (remaining.length > 0) {
          return this.fail(
            object,
            new Problem(
              "NotApplied",
              `RabbitMQ accepted the declaration of ${what} but did not apply it: ${remaining.join("; ")}. It keeps some settings of an existing object until the object is deleted in RabbitMQ.`,
            ),
            desired,
          );
        }
      }
      caveats = [...verdicts.ignored, ...(adapter.caveats?.(desired, observed) ?? [])];
    } catch (error) {
      if (error instanceof NotAdmittedError) return this.notAdmitted(object, error, "declare", what, connection.description, desired);
      const problem = problemOf(error, "declare", what, connection.description);
      if (problem) return this.fail(object, problem, desired);
      throw error;
    }
    const message = [`${capitalize(what)} is declared in ${connection.description} as specified`, ...caveats].join("; ");
    await this.writeStatus(object, { ready: true, message }, desired);
    return {};
  }

  /** The object is being deleted: remove it from RabbitMQ unless retained, then let it go. */
  private async finalize(object: R, signal: AbortSignal): Promise<ReconcileResult> {
    if (!object.metadata.finalizers?.includes(TOPOLOGY_FINALIZER)) return {};
    const { adapter, events } = this.options;
    if (object.spec.deletionPolicy === "retain") {
      await this.release(object);
      return {};
    }
    const connection = resolveConnection(object.spec.rabbitmqClusterReference, object.metadata.namespace ?? "", this.options.lookups);
    if (connection instanceof Problem) {
      if (!connection.clusterGone) {
        // The cluster is there but may not be used now: letting go would leave the object in RabbitMQ.
        return this.fail(object, keptUntilDeleted(connection));
      }
      // Nothing is left to delete it from; waiting would keep the object (and its namespace) forever.
      await events.event(object, "Warning", "NotDeletedInRabbitMQ", `not deleted in RabbitMQ: ${connection.message}`);
      await this.release(object);
      return {};
    }
    const desired = await adapter.prepare(object, this.prepareContext("delete"));
    if (desired instanceof Problem) {
      await events.event(object, "Warning", "NotDeletedInRabbitMQ", `not deleted in RabbitMQ: ${desired.message}`);
      await this.release(object);
      return {};
    }
    const what = adapter.describe(desired);
    const order = adapter.deletionOrder;
    if (order && (order.applies?.(desired, connection.connection.username) ?? true)) {
      const dependents = this.options.dependents?.(object) ?? [];
      if (dependents.length > 0) {
        const listed =
          dependents.length > MAX_LISTED ? `${dependents.slice(0, MAX_LISTED).join(", ")} and ${dependents.length - MAX_LISTED} more` : dependents.join(", ");
        const problem = new Problem(
          "WaitingForContents",
          `${capitalize(what)}: deleted in RabbitMQ once these objects are gone (${order.because}): ${listed}. deletionPolicy: retain lets it go without deleting it in RabbitMQ`,
        );
        await this.writeStatus(object, { ready: false, problem }, desired);
        // The watches bring it back as soon as one of them goes; this is only a safety net.
        return { requeueAfterMs: CONTENTS_RECHECK_MS };
      }
    }
    try {
      throwIfStopped(signal);
      await adapter.delete(this.options.managementClient(this.routed(connection, desired)), desired);
    } catch (error) {
      if (error instanceof NotAdmittedError) return this.notAdmitted(object, error, "delete", what, connection.description, desired, keptUntilDeleted);
      const problem = problemOf(error, "delete", what, connection.description);
      if (problem) return this.fail(object, keptUntilDeleted(problem), desired);
      throw error;
    }
    this.log(object).info("deleted in RabbitMQ", { what });
    await events.event(object, "Normal", "Deleted", `${capitalize(what)} was deleted in ${connection.description}`);
    await this.release(object);
    return {};
  }

  /**
   * What RabbitMQ has of the object. An object Ready for its generation is being verified (after a
   * restart, a shard taken over, a resync, a drift finding): it is looked up in a shared bulk
   * snapshot, and read on its own when the snapshot shows it different (nothing is declared on the
   * word of a snapshot a few seconds old) or could not be taken (a listing may fail where a GET of
   * one object does not: a large cluster's timeout, a listing the user may not read).
   */
  private async observe(object: R, connection: ClusterConnection, client: ManagementClient, desired: D): Promise<O | undefined> {
    const { adapter, snapshots } = this.options;
    if (!snapshots || !isReadyForGeneration(object)) return adapter.observe(client, desired);
    let snapshot: SnapshotIndex;
    try {
      snapshot = await snapshots.get(connection.key, adapter.listings, (listings) =>
        takeSnapshot(this.options.managementClient(connection.connection), listings),
      );
    } catch (error) {
      this.options.logger.debug("no shared snapshot; reading the object on its own", { error: describeError(error) });
      return adapter.observe(client, desired);
    }
    const observed = adapter.observeInSnapshot(snapshot, desired);
    return adapter.differences(desired, observed).length === 0 ? observed : adapter.observe(client, desired);
  }

  /** Where the object's requests go: streams to the cluster's first disc node (see ClusterConnection.streamConnection). */
  private routed(connection: ClusterConnection, desired: D): ManagementConnection {
    return (this.options.adapter.isStream?.(desired) && connection.streamConnection) || connection.connection;
  }

  private async release(object: R): Promise<void> {
    try {
      await this.options.writer.removeFinalizer(object, TOPOLOGY_FINALIZER);
    } catch (error) {
      // Gone already: an earlier reconcile released it and the cache had not caught up.
      if (!isNotFound(error)) throw error;
    }
  }

  private prepareContext(mode: PrepareContext["mode"]): PrepareContext {
    const { lookups, writer, clients } = this.options;
    return mode === "reconcile" ? { mode, lookups, writer, clients } : { mode, lookups };
  }

  /** An object that was in sync for this generation and is no longer: someone changed RabbitMQ. */
  private async reportRepair(object: R, what: string, differences: string[]): Promise<void> {
    if (!isReadyForGeneration(object)) return;
    this.options.onRepaired?.(this.options.adapter.definition.kind);
    this.log(object).info("repaired drift", { what, differences });
    await this.options.events.event(
      object,
      "Normal",
      "DriftRepaired",
      `${capitalize(what)} was changed outside the operator (${differences.join("; ")}); declared again`,
    );
  }

  /**
   * Not tried: the cluster is given time (reachability.ts). Its last failure, if any, is what the
   * object reports; the object comes back when the cluster may be tried again (its cooldown, not
   * the object's own backoff), or at once when the cluster answers again (index.ts wakes it).
   */
  private async notAdmitted(
    object: R,
    error: NotAdmittedError,
    action: string,
    what: string,
    clusterDescription: string,
    desired: D,
    explain: (problem: Problem) => Problem = (problem) => problem,
  ): Promise<ReconcileResult> {
    const problem = error.lastFailure ? problemOf(error.lastFailure, action, what, clusterDescription) : undefined;
    if (problem) await this.writeStatus(object, { ready: false, problem: explain(problem) }, desired);
    return { requeueAfterMs: error.retryAfterMs };
  }

  private async fail(object: R, problem: Problem, desired?: D): Promise<never> {
    await this.writeStatus(object, { ready: false, problem }, desired);
    throw new TopologyNotReadyError(problem);
  }

  private async writeStatus(object: R, outcome: Outcome, desired: D | undefined): Promise<void> {
    const kindFields = this.options.adapter.statusFields?.(object, desired) ?? {};
    const { status, transitioned } = computeStatus(object, outcome, kindFields, (this.options.now ?? Date.now)());
    await this.options.status.update(this.resource, object, status);
    if (!transitioned) return;
    // A new object declared at once is no news (10,000 objects applied would be 10,000 Events);
    // declared after having been Ready=False, or failing, is.
    const wasReported = object.status?.conditions?.some((condition) => condition.type === "Ready") ?? false;
    if (outcome.ready && wasReported) await this.options.events.event(object, "Normal", "Declared", outcome.message);
    else if (!outcome.ready) await this.options.events.event(object, "Warning", outcome.problem.reason, outcome.problem.message);
  }

  private log(object: R): Logger {
    return this.options.logger.child({ [this.options.adapter.definition.singular]: `${object.metadata.namespace}/${object.metadata.name}` });
  }
}

/** A deletion that cannot be done now: say that the object waits for it, and the way out. */
function keptUntilDeleted(problem: Problem): Problem {
  return new Problem(
    problem.reason,
    `${problem.message}; the object is kept until it can be deleted in RabbitMQ (deletionPolicy: retain lets it go without deleting)`,
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
