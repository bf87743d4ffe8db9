// Events (events.k8s.io/v1, shown by `kubectl describe` and `kubectl events`). Reconcilers record
// one on a transition (conditions.ts says when); an identical event recorded again within the
// aggregation window is not written again: its count goes into the first Event's `series`, and
// that series is written at most once per seriesUpdateIntervalMs.
import type { KubeObject } from "./kube-object.js";
import { V1MicroTime, setHeaderOptions, PatchStrategy } from "@kubernetes/client-node";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { KubeClients } from "./clients.js";
import { rfc3339Micro, systemClock, type Clock } from "./clock.js";
import { describeError } from "./errors.js";
import { silentLogger, type Logger } from "./logger.js";

export type EventType = "Normal" | "Warning";

export interface EventRecorder {
  /**
   * Records an event about regarding. Never rejects (an event is not worth failing a reconcile
   * for); awaiting it only orders it.
   */
  event(regarding: KubeObject, type: EventType, reason: string, note: string, action?: string): Promise<void>;
}

export interface EventRecorderOptions {
  reportingController?: string;
  /** This process (the pod name in a cluster). */
  reportingInstance?: string;
  aggregationWindowMs?: number;
  seriesUpdateIntervalMs?: number;
  clock?: Clock;
  logger?: Logger;
}

interface Recorded {
  namespace: string;
  name: string;
  count: number;
  lastSeenMs: number;
  lastWrittenMs: number;
  created: Promise<boolean>;
}

const MAX_NOTE_BYTES = 1024;

export class KubeEventRecorder implements EventRecorder {
  private readonly clients: KubeClients;
  private readonly recent = new Map<string, Recorded>();
  private readonly reportingController: string;
  private readonly reportingInstance: string;
  private readonly aggregationWindowMs: number;
  private readonly seriesUpdateIntervalMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(clients: KubeClients, options: EventRecorderOptions = {}) {
    this.clients = clients;
    this.reportingController = options.reportingController ?? "rabbit-operator";
    this.reportingInstance = (options.reportingInstance ?? hostname()).slice(0, 128);
    this.aggregationWindowMs = options.aggregationWindowMs ?? 10 * 60_000;
    this.seriesUpdateIntervalMs = options.seriesUpdateIntervalMs ?? 60_000;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  async event(regarding: KubeObject, type: EventType, reason: string, note: string, action = reason): Promise<void> {
    const now = this.clock.now();
    this.forgetOlderThan(now - this.aggregationWindowMs);
    const metadata = regarding.metadata ?? {};
    const identity = [metadata.uid ?? `${regarding.kind}/${metadata.namespace}/${metadata.name}`, type, reason, action, note].join("\u0000");
    const seen = this.recent.get(identity);
    try {
      if (seen) {
        seen.count++;
        seen.lastSeenMs = now;
        if (now - seen.lastWrittenMs < this.seriesUpdateIntervalMs || !(await seen.created)) return;
        seen.lastWrittenMs = now;
        await this.clients.events.patchNamespacedEvent(
          { name: seen.name, namespace: seen.namespace, body: { series: { count: seen.count, lastObservedTime: rfc3339Micro(now) } } },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );
        return;
      }
      const namespace = metadata.namespace || "default";
      // client-go's naming: the object's name and the time, made unique by a random suffix.
      const name = `${(metadata.name ?? "object").slice(0, 200)}.${now.toString(16)}${randomBytes(3).toString("hex")}`;
      const created = this.clients.events
        .createNamespacedEvent({
          namespace,
          body: {
            apiVersion: "events.k8s.io/v1",
            kind: "Event",
            metadata: { name, namespace },
            eventTime: new V1MicroTime(now),
            type,
            reason,
            action,
            note: truncate(note, MAX_NOTE_BYTES),
            reportingController: this.reportingController,
            reportingInstance: this.reportingInstance,
            regarding: {
              apiVersion: regarding.apiVersion,
              kind: regarding.kind,
              name: metadata.name,
              namespace: metadata.namespace,
              uid: metadata.uid,
              resourceVersion: metadata.resourceVersion,
            },
          },
        })
        .then(() => true);
      // Recorded before the request completes, so that a repeat arriving meanwhile aggregates; a
      // failed create is forgotten, so that the next occurrence tries again.
      const recorded: Recorded = { namespace, name, count: 1, lastSeenMs: now, lastWrittenMs: now, created: created.catch(() => false) };
      this.recent.set(identity, recorded);
      try {
        await created;
      } catch (error) {
        if (this.recent.get(identity) === recorded) this.recent.delete(identity);
        throw error;
      }
    } catch (error) {
      this.logger.warn("could not record event", { reason, object: metadata.name, error: describeError(error) });
    }
  }

  private forgetOlderThan(limitMs: number): void {
    for (const [identity, recorded] of this.recent) if (recorded.lastSeenMs < limitMs) this.recent.delete(identity);
  }
}

function truncate(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let result = text.slice(0, maxBytes);
  while (Buffer.byteLength(result) > maxBytes - 3) result = result.slice(0, -1);
  return `${result}...`;
}
