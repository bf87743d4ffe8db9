// Prometheus metrics under controller-runtime's and client-go's names, so that dashboards made
// for Go operators work: reconcile totals, errors and durations per controller, work queue depth,
// adds and retries, API requests, leader status; plus informer lists and watch restarts.
import type { Middleware } from "@kubernetes/client-node";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ControllerObserver } from "./controller.js";
import type { InformerObserver } from "./informer.js";

export class OperatorMetrics {
  readonly registry: Registry;
  private readonly reconcileTotal: Counter<"controller" | "result">;
  private readonly reconcileErrors: Counter<"controller">;
  private readonly reconcileTime: Histogram<"controller">;
  private readonly activeWorkers: Gauge<"controller">;
  private readonly queueAdds: Counter<"name">;
  private readonly queueRetries: Counter<"name">;
  private readonly requests: Counter<"method">;
  private readonly informerLists: Counter<"resource">;
  private readonly watchRestarts: Counter<"resource">;
  private readonly leader: Gauge<"name">;
  private readonly shardsHeld: Gauge<"name">;
  private readonly queueDepths = new Map<string, () => number>();

  constructor(options: { registry?: Registry; defaultMetrics?: boolean } = {}) {
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
    const registers = [registry];
    this.reconcileTotal = new Counter({
      name: "controller_runtime_reconcile_total",
      help: "Reconciliations per controller and result.",
      labelNames: ["controller", "result"],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: "controller_runtime_reconcile_errors_total",
      help: "Reconciliations that failed, per controller.",
      labelNames: ["controller"],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Duration of reconciliations per controller.",
      labelNames: ["controller"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.activeWorkers = new Gauge({
      name: "controller_runtime_active_workers",
      help: "Workers reconciling now, per controller.",
      labelNames: ["controller"],
      registers,
    });
    const depths = this.queueDepths;
    new Gauge({
      name: "workqueue_depth",
      help: "Keys waiting in the work queue, per queue (controller).",
      labelNames: ["name"],
      registers,
      collect() {
        this.reset();
        for (const [name, depth] of depths) this.set({ name }, depth());
      },
    });
    this.queueAdds = new Counter({ name: "workqueue_adds_total", help: "Keys added to the work queue.", labelNames: ["name"], registers });
    this.queueRetries = new Counter({
      name: "workqueue_retries_total",
      help: "Keys re-added with backoff after a failed reconcile.",
      labelNames: ["name"],
      registers,
    });
    this.requests = new Counter({
      name: "rest_client_requests_total",
      help: "Requests to the API server by method (watches and informer lists excluded).",
      labelNames: ["method"],
      registers,
    });
    this.informerLists = new Counter({
      name: "rabbit_operator_informer_lists_total",
      help: "Full lists made by informers (start, 410 Gone).",
      labelNames: ["resource"],
      registers,
    });
    this.watchRestarts = new Counter({
      name: "rabbit_operator_informer_watch_restarts_total",
      help: "Informer list/watch restarts after an error.",
      labelNames: ["resource"],
      registers,
    });
    this.leader = new Gauge({ name: "leader_election_master_status", help: "1 while this process holds the lease.", labelNames: ["name"], registers });
    this.shardsHeld = new Gauge({ name: "rabbit_operator_shards_held", help: "Shards this replica holds (sharded mode).", labelNames: ["name"], registers });
  }

  /** Metrics of one controller; depth is read from its live queue when scraped. */
  controller(name: string, depth: () => number): ControllerObserver {
    this.queueDepths.set(name, depth);
    this.reconcileErrors.inc({ controller: name }, 0);
    return {
      queue: {
        added: () => this.queueAdds.inc({ name }),
        retried: () => this.queueRetries.inc({ name }),
      },
      reconciled: (outcome, durationSeconds) => {
        this.reconcileTotal.inc({ controller: name, result: outcome });
        if (outcome === "error" || outcome === "terminal_error") this.reconcileErrors.inc({ controller: name });
        this.reconcileTime.observe({ controller: name }, durationSeconds);
      },
      activeWorkers: (count) => this.activeWorkers.set({ controller: name }, count),
    };
  }

  informer(resource: string): InformerObserver {
    return {
      listed: () => this.informerLists.inc({ resource }),
      watchRestarted: () => this.watchRestarts.inc({ resource }),
    };
  }

  setShardsHeld(shardSet: string, held: number): void {
    this.shardsHeld.set({ name: shardSet }, held);
  }

  setLeader(leaseName: string, leading: boolean): void {
    this.leader.set({ name: leaseName }, leading ? 1 : 0);
  }

  /** Client middleware counting requests by method. */
  requestCounter(): Middleware {
    return {
      pre: async (context) => {
        this.requests.inc({ method: context.getHttpMethod() });
        return context;
      },
      post: async (context) => context,
    };
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
