// Drift detection in bulk, as DESIGN.md asks: every period, per RabbitMQ cluster, one list request
// per kind in use (GET /api/queues?columns=..., /api/exchanges, ...), compared with the desired
// state of every object of ours in that cluster that is Ready. Only the objects that differ are
// handed to their controller, which declares them again; when everything is in sync nothing is
// written, to Kubernetes or to RabbitMQ. Per-object GETs on a timer would not scale to tens of
// thousands of objects.
import type { ManagementClient, ManagementConnection, TopologyListing } from "../../rabbitmq/management.js";
import { sleep, systemClock, type Clock } from "../../runtime/clock.js";
import { describeError } from "../../runtime/errors.js";
import type { Informer } from "../../runtime/informer.js";
import { keyOf } from "../../runtime/keys.js";
import type { Logger } from "../../runtime/logger.js";
import type { Runnable } from "../../runtime/manager.js";
import { Problem, type TopologyAdapter, type TopologyLookups, type TopologyResource } from "./adapter.js";
import { resolveConnection, type ClusterConnection, type ConnectionLookups } from "./connection.js";
import { withSecretsLoaded, type TopologySecrets } from "./secrets.js";
import { TOPOLOGY_FINALIZER } from "./reconciler.js";
import type { SharedSnapshots } from "./shared-snapshots.js";
import { takeSnapshot, type SnapshotIndex } from "./snapshot.js";
import { isReadyForGeneration } from "./status.js";

/** An object ready to be compared with a snapshot. */
export interface DriftCheck {
  kind: string;
  key: string;
  /** The differences between the object's desired state and the snapshot; [] when in sync. */
  compare(snapshot: SnapshotIndex): string[];
}

/** One kind, as the detector sees it: its objects, its listings, how to check one, where to send it. */
export interface DriftParticipant {
  kind: string;
  listings: readonly TopologyListing[];
  objects(): TopologyResource[];
  prepareCheck(object: TopologyResource, lookups: TopologyLookups): Promise<DriftCheck | Problem>;
  enqueue(key: string): void;
}

export function driftParticipant<R extends TopologyResource, D, O>(
  adapter: TopologyAdapter<R, D, O>,
  informer: Informer<R>,
  enqueue: (key: string) => void,
  /** Which objects this process checks (sharding); all when undefined. */
  owned?: (object: R) => boolean,
): DriftParticipant {
  const kind = adapter.definition.kind;
  return {
    kind,
    listings: adapter.listings,
    objects: () => (owned ? informer.list().filter(owned) : informer.list()),
    async prepareCheck(object, lookups) {
      // The informer of this kind holds only objects of this kind.
      const desired = await adapter.prepare(object as R, { mode: "check", lookups });
      if (desired instanceof Problem) return desired;
      return { kind, key: keyOf(object), compare: (snapshot) => adapter.differences(desired, adapter.observeInSnapshot(snapshot, desired)) };
    },
    enqueue,
  };
}

export interface DriftFinding {
  kind: string;
  key: string;
  differences: string[];
}

/** The checks that the snapshot contradicts (pure). */
export function findDrift(checks: readonly DriftCheck[], snapshot: SnapshotIndex): DriftFinding[] {
  return checks.flatMap((check) => {
    const differences = check.compare(snapshot);
    return differences.length > 0 ? [{ kind: check.kind, key: check.key, differences }] : [];
  });
}

/** Objects the detector looks at: declared for their current generation and not going away. */
export function isDriftCandidate(object: TopologyResource): boolean {
  return !object.metadata.deletionTimestamp && (object.metadata.finalizers?.includes(TOPOLOGY_FINALIZER) ?? false) && isReadyForGeneration(object);
}

export interface DriftReport {
  clusters: number;
  checked: number;
  findings: DriftFinding[];
  /** Clusters whose listing failed (unreachable): their objects were not checked this time. */
  failedClusters: number;
}

export interface DriftDetectorOptions {
  participants: readonly DriftParticipant[];
  lookups: TopologyLookups & ConnectionLookups;
  /** Reads the Secret values the lookups have not read yet (secrets.ts); without it, lookups have them all. */
  secrets?: Pick<TopologySecrets, "load">;
  managementClient: (connection: ManagementConnection) => ManagementClient;
  periodMs: number;
  /** The manager's: the wait between rounds follows the clock the rest of the runtime reads. */
  clock?: Clock;
  logger: Logger;
  onReport?: (report: DriftReport) => void;
  /** Where each round's snapshots are shared with the reconciles of the objects it enqueues. */
  snapshots?: SharedSnapshots;
}

export class DriftDetector implements Runnable {
  readonly name = "topology-drift";

  constructor(private readonly options: DriftDetectorOptions) {}

  private withSecrets<T>(body: () => Promise<T>): Promise<T> {
    return this.options.secrets ? withSecretsLoaded(this.options.secrets, body) : body();
  }

  async run(signal: AbortSignal): Promise<void> {
    const clock = this.options.clock ?? systemClock;
    for (;;) {
      await sleep(clock, this.options.periodMs, signal);
      if (signal.aborted) return;
      try {
        await this.checkOnce();
      } catch (error) {
        this.options.logger.error("drift check failed", { error: describeError(error) });
      }
    }
  }

  /** One round: every cluster listed once, every Ready object compared, the differing ones enqueued. */
  async checkOnce(): Promise<DriftReport> {
    const groups = new Map<string, { connection: ClusterConnection; listings: Set<TopologyListing>; checks: DriftCheck[] }>();
    const byKind = new Map(this.options.participants.map((participant) => [participant.kind, participant]));
    for (const participant of this.options.participants) {
      for (const object of participant.objects()) {
        if (!isDriftCandidate(object)) continue;
        const prepared = await this.withSecrets(async () => {
          const connection = resolveConnection(object.spec.rabbitmqClusterReference, object.metadata.namespace ?? "", this.options.lookups);
          // It was declared, and now its cluster cannot be reached through Kubernetes: its reconcile says why.
          if (connection instanceof Problem) return connection;
          const check = await participant.prepareCheck(object, this.options.lookups);
          return check instanceof Problem ? check : { connection, check };
        });
        if (prepared instanceof Problem) {
          participant.enqueue(keyOf(object));
          continue;
        }
        const { connection, check } = prepared;
        let group = groups.get(connection.key);
        if (!group) groups.set(connection.key, (group = { connection, listings: new Set(), checks: [] }));
        for (const listing of participant.listings) group.listings.add(listing);
        group.checks.push(check);
      }
    }

    const report: DriftReport = { clusters: groups.size, checked: 0, findings: [], failedClusters: 0 };
    for (const group of groups.values()) {
      let snapshot: SnapshotIndex;
      const takenAtMs = (this.options.clock ?? systemClock).now();
      try {
        snapshot = await takeSnapshot(this.options.managementClient(group.connection.connection), group.listings);
        this.options.snapshots?.put(group.connection.key, group.listings, snapshot, takenAtMs);
      } catch (error) {
        report.failedClusters++;
        this.options.logger.warn("cannot list the topology of a cluster; its objects are checked next time", {
          cluster: group.connection.description,
          error: describeError(error),
        });
        continue;
      }
      report.checked += group.checks.length;
      const findings = findDrift(group.checks, snapshot);
      for (const finding of findings) {
        this.options.logger.info("drift found", { kind: finding.kind, key: finding.key, differences: finding.differences });
        byKind.get(finding.kind)?.enqueue(finding.key);
      }
      report.findings.push(...findings);
    }
    this.options.onReport?.(report);
    return report;
  }
}
