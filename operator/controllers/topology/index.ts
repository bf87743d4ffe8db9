// Wires the topology kinds into a manager: one controller per kind over the one generic
// reconciler, the watches that bring objects back when what they wait for appears (a cluster, a
// Secret, a vhost, a user, a queue, an exchange), and the drift detector.
import type { V1Secret } from "@kubernetes/client-node";
import { Counter } from "prom-client";
import { RABBIT_CLUSTER, TOPOLOGY_KINDS, type RabbitCluster, type User } from "../../api/index.js";
import { ManagementClient, type AttemptEvent, type ManagementClientOptions, type ManagementConnection } from "../../rabbitmq/management.js";
import { normalizeBaseUrl } from "../../rabbitmq/management-http.js";
import { Reachability } from "../../rabbitmq/reachability.js";
import type { Controller, Reconciler } from "../../runtime/controller.js";
import type { Informer } from "../../runtime/informer.js";
import { keyOf } from "../../runtime/keys.js";
import { readSecret } from "../../runtime/clients.js";
import type { KubeObject } from "../../runtime/kube-object.js";
import { mapTo, type Manager, type WatchSpec } from "../../runtime/manager.js";
import { RESOURCES, customResource } from "../../runtime/resource-types.js";
import { MANAGED_SELECTOR, clusterNames } from "../../resources/names.js";
import { Problem, refKey, type DeletionOrder, type TopologyAdapter, type TopologyLookups, type TopologyRef, type TopologyResource } from "./adapter.js";
import { keyAsCluster } from "../cluster-keys.js";
import { ConnectionSecretGuard, ConnectionSecretUsers } from "./connection-secrets.js";
import { inClusterEndpoint, inClusterFirstNodeEndpoint, referenceKey, resolveConnection, type ConnectionLookups } from "./connection.js";
import { DriftDetector, driftParticipant, type DriftParticipant } from "./drift.js";
import { TOPOLOGY_ADAPTERS } from "./kinds/index.js";
import { ClusterVersions } from "./cluster-versions.js";
import { SharedSnapshots } from "./shared-snapshots.js";
import { TopologyReconciler } from "./reconciler.js";
import { SecretNotLoadedError, TopologySecrets, withSecretsLoaded } from "./secrets.js";
import { isNotReady, isReadyForGeneration } from "./status.js";

export { ALLOWED_NAMESPACES_ANNOTATION, inClusterEndpoint } from "./connection.js";
export { TOPOLOGY_FINALIZER } from "./reconciler.js";

/** Period of the drift check: an object changed behind our back is declared again within about this long. */
export const DEFAULT_DRIFT_PERIOD_MS = 30_000;
/** Topology objects of one kind reconciled at once, and of those at most how many of one cluster. */
export const DEFAULT_CONCURRENCY = 16;
export const DEFAULT_CONCURRENCY_PER_CLUSTER = 4;

export interface TopologyControllerOptions {
  /** DNS domain of the Kubernetes cluster, for the default endpoint of a RabbitCluster. */
  clusterDomain: string;
  /** Base URL of a RabbitCluster's management API; default its client Service's DNS name. */
  clusterEndpoint?: (cluster: RabbitCluster) => string;
  /** Base URL of its first disc node's management API, for streams; default the node's DNS name. */
  firstNodeEndpoint?: (cluster: RabbitCluster) => string;
  /** Options of every management API client (timeouts, retries; onAttempt is called too). */
  managementClientOptions?: ManagementClientOptions;
  /** How often every cluster's topology is listed and compared; 0 disables drift detection. */
  driftPeriodMs?: number;
  /** Reconciles at once per kind (default 16), and of those at most this many per cluster (default 4). */
  maxConcurrentReconciles?: number;
  maxConcurrentPerCluster?: number;
  /** The namespaces the manager watches (for messages about clusters outside them). */
  watchedNamespaces?: readonly string[];
}

export interface TopologyControllers {
  controllers: Map<string, Controller>;
  drift: DriftDetector | undefined;
  secrets: TopologySecrets;
}

/** Secrets of Helm releases can be megabytes each and never matter here: keep them out of the cache. */
const SECRET_FIELD_SELECTOR = "type!=helm.sh/release.v1";

export function addTopologyControllers(manager: Manager, options: TopologyControllerOptions): TopologyControllers {
  const registry = manager.metrics.registry;
  const managementRequests = new Counter({
    name: "rabbit_operator_management_requests_total",
    help: "Requests to RabbitMQ management APIs by method (attempts, retries included).",
    labelNames: ["method"],
    registers: [registry],
  });
  const driftChecks = new Counter({ name: "rabbit_operator_topology_drift_checks_total", help: "Rounds of bulk drift checks.", registers: [registry] });
  const driftFound = new Counter({
    name: "rabbit_operator_topology_drift_found_total",
    help: "Objects found different in RabbitMQ from their spec.",
    labelNames: ["kind"],
    registers: [registry],
  });
  const driftRepaired = new Counter({
    name: "rabbit_operator_topology_drift_repaired_total",
    help: "Objects declared again after a change made outside the operator.",
    labelNames: ["kind"],
    registers: [registry],
  });

  // One per process: every client of a cluster shares what is known of its reachability. When a
  // cluster answers again, what was put off for it comes back at once (see notAdmitted).
  const reachability = new Reachability({ onRecovered: (cluster) => wakeWaitingFor(cluster) });
  const clientOptions = { reachability, ...options.managementClientOptions };
  const versions = new ClusterVersions();
  const snapshots = new SharedSnapshots({ now: () => manager.clock.now() });
  const managementClient = (connection: ManagementConnection) =>
    new ManagementClient(connection, {
      ...clientOptions,
      onAttempt: (attempt: AttemptEvent) => {
        managementRequests.inc({ method: attempt.method });
        clientOptions.onAttempt?.(attempt);
      },
    });

  const clusters = manager.informer<RabbitCluster & KubeObject>(customResource(RABBIT_CLUSTER));
  // Values only of the Secrets the operator owns; of the others, metadata (see secrets.ts).
  const secrets = manager.informer<V1Secret & KubeObject>(RESOURCES.Secret, { fieldSelector: SECRET_FIELD_SELECTOR, metadataOnly: true });
  const topologySecrets = new TopologySecrets(
    manager.informer<V1Secret & KubeObject>(RESOURCES.Secret, { labelSelector: MANAGED_SELECTOR }),
    secrets,
    (namespace, name) => readSecret(manager.clients, namespace, name),
  );
  const informers = new Map(TOPOLOGY_KINDS.map((kind) => [kind.kind, manager.informer<TopologyResource>(customResource(kind))]));
  const users = informers.get("User") as unknown as Informer<User & KubeObject>;
  const lookups: TopologyLookups & ConnectionLookups = {
    cluster: (namespace, name) => clusters.get(name, namespace),
    secret: (namespace, name) => topologySecrets.get(namespace, name),
    user: (namespace, name) => users.get(name, namespace),
    clusterEndpoint: options.clusterEndpoint ?? inClusterEndpoint(options.clusterDomain),
    firstNodeEndpoint: options.firstNodeEndpoint ?? inClusterFirstNodeEndpoint(options.clusterDomain),
    watchedNamespaces: options.watchedNamespaces,
  };

  // What each kind needs and provides, for waking up the objects that wait for one another; each
  // kind's cache indexed by it, so that a change finds its related objects without a scan.
  const dependencyView = <R extends TopologyResource, D, O>(adapter: TopologyAdapter<R, D, O>): DependencyView => {
    const informer = informers.get(adapter.definition.kind)!;
    // The informer of a kind holds objects of that kind only.
    const view: DependencyView = {
      kind: adapter.definition.kind,
      informer,
      needs: (object) => adapter.needs(object as R),
      provides: (object) => adapter.provides(object as R),
    };
    informer.addIndex(NEEDS, (object) => relationValues(object, view.needs(object)));
    const order = adapter.deletionOrder;
    if (order) informer.addIndex(WAITS_FOR, (object) => relationValues(object, order.waitsFor(object as R)));
    return view;
  };
  const dependencies: DependencyView[] = TOPOLOGY_ADAPTERS.map(dependencyView);
  const viewOf = (kind: string) => dependencies.find((view) => view.kind === kind)!;

  // Connection Secrets stay while objects still need them to delete what they declared.
  const connectionSecretUsers = new ConnectionSecretUsers((key) => guard.enqueue(key));
  const secretGuard = new ConnectionSecretGuard({
    secrets,
    users: connectionSecretUsers,
    writer: manager.writer,
    logger: manager.logger.child({ controller: "connection-secret" }),
  });
  const guard = manager.addController({
    name: "connection-secret",
    for: secrets,
    reconciler: secretGuard,
    // The replica of the objects that use a connection Secret guards it.
    shardKey: (key) => keyAsCluster("Secret", key),
  });
  for (const [kind, informer] of informers) connectionSecretUsers.track(kind, informer);

  const controllers = new Map<string, Controller>();
  const participants: DriftParticipant[] = [];
  const register = <R extends TopologyResource, D, O>(adapter: TopologyAdapter<R, D, O>) => {
    const informer = informers.get(adapter.definition.kind) as unknown as Informer<R>;
    const own = viewOf(adapter.definition.kind);
    const name = adapter.definition.singular;
    // An object gone from the cache has nothing left to reconcile: any group, any shard will do.
    const clusterKeyOfKey = (key: string) => {
      const object = informer.getByKey(key);
      return object ? clusterKeyOf(object) : "";
    };
    const controller = manager.addController({
      name,
      for: informer,
      watches: [
        mapTo(clusters, (cluster) => waitingForCluster(informer, cluster)),
        mapTo(secrets, (secret) => usingSecret(informer, secret, adapter)),
        ...dependencies.map((other) => mapTo(other.informer, (changed) => waitingFor(own, changed, other))),
        ...deletionWatches(own, adapter.deletionOrder, dependencies),
      ],
      reconciler: readingSecrets(
        topologySecrets,
        new TopologyReconciler({
          adapter,
          informer,
          lookups,
          writer: manager.writer,
          status: manager.status,
          events: manager.events,
          clients: manager.clients,
          managementClient,
          versions,
          logger: manager.logger.child({ controller: name }),
          dependents: (object) => (adapter.deletionOrder ? dependentsOf(object, adapter.deletionOrder, dependencies) : []),
          onRepaired: (kind) => driftRepaired.inc({ kind }),
          guardConnectionSecret: (namespace, name) => secretGuard.protect(namespace, name),
          snapshots,
        }),
      ),
      maxConcurrentReconciles: options.maxConcurrentReconciles ?? DEFAULT_CONCURRENCY,
      // A slow cluster holds a few workers, never all of them, and clusters take turns.
      group: clusterKeyOfKey,
      shardKey: clusterKeyOfKey,
      maxConcurrentPerGroup: options.maxConcurrentPerCluster ?? DEFAULT_CONCURRENCY_PER_CLUSTER,
      // The reconcile reads the spec, not the status it wrote: its own status writes need no reconcile.
      ignoreStatusOnlyUpdates: true,
      // RabbitMQ refusals and missing dependencies are retried from half a second up to 5 minutes.
      backoff: { baseDelayMs: 500 },
    });
    controllers.set(adapter.definition.kind, controller);
    // With sharding, each replica checks the clusters of its own shards.
    participants.push(
      driftParticipant(
        adapter,
        informer,
        (key) => controller.enqueue(key),
        (object) => manager.owns(clusterKeyOf(object)),
      ),
    );
  };

  /** Objects not Ready (or being deleted) whose connection goes to this management API base URL. */
  const wakeWaitingFor = (baseUrl: string) => {
    for (const [kind, controller] of controllers) {
      for (const object of informers.get(kind)!.list()) {
        if (isReadyForGeneration(object) && !object.metadata.deletionTimestamp) continue;
        let connection: ReturnType<typeof resolveConnection>;
        try {
          connection = resolveConnection(object.spec.rabbitmqClusterReference, object.metadata.namespace ?? "", lookups);
        } catch (error) {
          // Its connection Secret has not been read yet: its reconcile will, so let it run.
          if (error instanceof SecretNotLoadedError) controller.enqueue(keyOf(object));
          continue;
        }
        if (!(connection instanceof Problem) && sameBaseUrl(connection.connection.url, baseUrl)) controller.enqueue(keyOf(object));
      }
    }
  };

  for (const adapter of TOPOLOGY_ADAPTERS) register(adapter);

  const periodMs = options.driftPeriodMs ?? DEFAULT_DRIFT_PERIOD_MS;
  let drift: DriftDetector | undefined;
  if (periodMs > 0) {
    drift = new DriftDetector({
      participants,
      lookups,
      secrets: topologySecrets,
      managementClient,
      periodMs,
      snapshots,
      clock: manager.clock,
      logger: manager.logger.child({ runnable: "topology-drift" }),
      onReport: (report) => {
        driftChecks.inc();
        for (const finding of report.findings) driftFound.inc({ kind: finding.kind });
      },
    });
    manager.addRunnable(drift);
  }
  return { controllers, drift, secrets: topologySecrets };
}

/** A reconciler that reads the Secret values it needs and runs again (withSecretsLoaded). */
function readingSecrets(secrets: TopologySecrets, reconciler: Reconciler): Reconciler {
  return { reconcile: (request) => withSecretsLoaded(secrets, async () => (await reconciler.reconcile(request)) ?? {}) };
}

function sameBaseUrl(url: string, baseUrl: string): boolean {
  try {
    return normalizeBaseUrl(url) === baseUrl;
  } catch {
    return false;
  }
}

/** Whether object's cluster reference names this RabbitCluster. */
function refersTo(object: TopologyResource, cluster: RabbitCluster): boolean {
  const reference = object.spec.rabbitmqClusterReference;
  return reference.name === cluster.metadata.name && (reference.namespace ?? object.metadata.namespace) === cluster.metadata.namespace;
}

/** Objects that may be waiting for this cluster: not Ready for their generation, or being deleted. */
function waitingForCluster<R extends TopologyResource>(informer: Informer<R>, cluster: RabbitCluster): string[] {
  return informer
    .list()
    .filter((object) => refersTo(object, cluster) && (!isReadyForGeneration(object) || object.metadata.deletionTimestamp))
    .map(keyOf);
}

/**
 * Objects a Secret matters to: those whose connection Secret it is (all of them: a changed uri or
 * password must be used at once), those waiting for the cluster whose default user it holds, and
 * those that read it for themselves (a User's credentials, generated or imported).
 */
function usingSecret<R extends TopologyResource>(
  informer: Informer<R>,
  secret: V1Secret & KubeObject,
  adapter: Pick<TopologyAdapter<R, unknown, unknown>, "secretsRead">,
): string[] {
  const namespace = secret.metadata?.namespace;
  const name = secret.metadata?.name;
  if (!namespace || !name) return [];
  const keys = new Set<string>();
  for (const object of informer.list({ namespace })) {
    if (object.spec.rabbitmqClusterReference.connectionSecret?.name === name) keys.add(keyOf(object));
    if (adapter.secretsRead?.(object).includes(name)) keys.add(keyOf(object));
  }
  const instance = secret.metadata?.labels?.["app.kubernetes.io/instance"];
  if (instance && name === clusterNames({ metadata: { name: instance } } as RabbitCluster).defaultUser) {
    for (const object of informer.list()) {
      const reference = object.spec.rabbitmqClusterReference;
      if (reference.name === instance && (reference.namespace ?? object.metadata.namespace) === namespace && !isReadyForGeneration(object))
        keys.add(keyOf(object));
    }
  }
  return [...keys];
}

interface DependencyView {
  kind: string;
  informer: Informer<TopologyResource>;
  needs(object: TopologyResource): TopologyRef[];
  provides(object: TopologyResource): TopologyRef[];
}

/** Informer indexes of every topology kind: what an object needs; for kinds with a deletion order, what its deletion waits for. */
const NEEDS = "needs";
const WAITS_FOR = "waitsFor";

/** Index values of an object's refs: each ref within the object's cluster. */
function relationValues(object: TopologyResource, refs: TopologyRef[]): string[] {
  const cluster = clusterKeyOf(object);
  return refs.map((ref) => `${cluster}\u0000${refKey(ref)}`);
}

/**
 * Objects of one kind waiting (Ready=False) for what `changed` (of another kind) provides, in
 * the same cluster: queues for their vhost, permissions for their user, bindings for their queue
 * or exchange. They are retried at once instead of at the end of their backoff.
 */
function waitingFor(waiting: DependencyView, changed: TopologyResource, provider: DependencyView): string[] {
  if (!isReadyForGeneration(changed)) return [];
  return related(waiting.informer, NEEDS, changed, provider.provides(changed)).filter(isNotReady).map(keyOf);
}

/** The objects (as "Kind namespace/name") whose deletion must come before the object's own (see DeletionOrder). */
function dependentsOf<R extends TopologyResource>(object: R, order: DeletionOrder<R, unknown>, all: readonly DependencyView[]): string[] {
  return all
    .filter((view) => order.dependentKinds.includes(view.kind))
    .flatMap((view) => related(view.informer, NEEDS, object, order.waitsFor(object)).map((dependent) => `${view.kind} ${keyOf(dependent)}`))
    .sort();
}

/** Watches that bring back an object whose deletion waits, whenever one of its dependents changes (goes). */
function deletionWatches<R extends TopologyResource>(
  own: DependencyView,
  order: DeletionOrder<R, unknown> | undefined,
  all: readonly DependencyView[],
): WatchSpec[] {
  if (!order) return [];
  return all
    .filter((view) => order.dependentKinds.includes(view.kind))
    .map((view) =>
      mapTo(view.informer, (changed) =>
        related(own.informer, WAITS_FOR, changed, view.needs(changed))
          .filter((object) => object.metadata.deletionTimestamp)
          .map(keyOf),
      ),
    );
}

/** The objects in `informer`, in the same cluster as `of`, whose index `index` has one of these refs. */
function related(informer: Informer<TopologyResource>, index: string, of: TopologyResource, refs: TopologyRef[]): TopologyResource[] {
  const found = new Map<string, TopologyResource>();
  for (const value of relationValues(of, refs)) for (const object of informer.byIndex(index, value)) found.set(keyOf(object), object);
  return [...found.values()];
}

function clusterKeyOf(object: TopologyResource): string {
  return referenceKey(object.spec.rabbitmqClusterReference, object.metadata.namespace ?? "");
}
