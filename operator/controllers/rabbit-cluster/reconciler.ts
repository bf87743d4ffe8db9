// The RabbitCluster reconciler: observe (caches, management API), build the desired children
// (pure builders), apply what differs, take at most one membership step (plan.ts), write status
// when it changed. Level-triggered: every reconcile starts from what it observes.
import type { V1ConfigMap, V1PersistentVolumeClaim, V1Pod, V1Secret, V1StatefulSet } from "@kubernetes/client-node";
import { RABBIT_CLUSTER, type Condition, type NodeType, type RabbitCluster, type RabbitClusterStatus } from "../../api/index.js";
import { ClusterOperations, RABBITMQ_CONTAINER, podExecRunner } from "../../rabbitmq/cluster-operations.js";
import { ManagementApiError } from "../../rabbitmq/management.js";
import { parseVersion } from "../../rabbitmq/versions.js";
import { buildChildren, clusterNames, imageVersion, newDefaultUser, newErlangCookie, validateCluster, type BuildContext } from "../../resources/index.js";
import { NODE_TYPE_LABEL } from "../../resources/names.js";
import { PEERS_KEY, enabledPlugins } from "../../resources/rabbitmq-config.js";
import { ERLANG_COOKIE_KEY, secretValue } from "../../resources/secrets.js";
import { describeError, isInvalid } from "../../runtime/errors.js";
import { throwIfStopped, type ReconcileRequest, type ReconcileResult, type Reconciler } from "../../runtime/controller.js";
import { setConditions } from "../../runtime/conditions.js";
import { sleep, systemClock } from "../../runtime/clock.js";
import type { ObjectWriter } from "../../runtime/apply.js";
import type { EventRecorder } from "../../runtime/events.js";
import type { Informer } from "../../runtime/informer.js";
import type { KubeObject } from "../../runtime/kube-object.js";
import type { Logger } from "../../runtime/logger.js";
import { customResource } from "../../runtime/resource-types.js";
import type { StatusWriter } from "../../runtime/status.js";
import type { KubeConfig } from "@kubernetes/client-node";
import type { ClusterManagement } from "./management-port.js";
import type { NodeOperations } from "./node-operations-port.js";
import { NODE_TYPES, containerFailure, parseOrdinal, type ClusterObservation, type NodeRemoval, type PodObservation } from "./observation.js";
import { mayGrowQuorumQueues, nextStep, pendingRemoval, replicasToApply } from "./plan.js";
import { performStep, type ClusterWrites } from "./step-port.js";
import { ClusterStepExecutor, blocked } from "./steps.js";
import { isFirstFormation } from "./formation.js";
import { policyChanges } from "./policies.js";
import { allReplicasReady, clusterAvailable, ready, statusDetails, type ConditionValue } from "./status.js";

export interface RabbitClusterCaches {
  clusters: Informer<RabbitCluster & KubeObject>;
  /** Each informer holds the objects of its kind labelled managed-by=rabbit-operator. */
  owned: Map<string, Informer<KubeObject>>;
  pods: Informer<V1Pod & KubeObject>;
  volumeClaims: Informer<V1PersistentVolumeClaim & KubeObject>;
}

export interface RabbitClusterReconcilerOptions {
  caches: RabbitClusterCaches;
  writer: ObjectWriter;
  status: StatusWriter;
  events: EventRecorder;
  kubeConfig: KubeConfig;
  clusterDomain: string;
  /** The management API of a cluster, with the default user's credentials. */
  management: (cluster: RabbitCluster, credentials: { username: string; password: string }) => ClusterManagement;
  /** What runs inside a namespace's node pods; default RabbitMQ's CLI tools over pods/exec. */
  nodeOperations?: (namespace: string) => NodeOperations;
  /** The last lines a container logged, in its current run or its previous one, to say why a failing node failed. */
  readLog?: (namespace: string, pod: string, container: string, previous: boolean) => Promise<string>;
  /** Reads a Secret from the API server, past the cache; undefined when it does not exist. */
  readSecret?: (namespace: string, name: string) => Promise<V1Secret | undefined>;
  logger: Logger;
  now?: () => number;
  /** How often a Ready cluster is looked at again for membership drift. */
  resyncMs?: number;
}

const RESOURCE = customResource(RABBIT_CLUSTER);
const SETTLING_REQUEUE_MS = 5_000;
/** A spec whose children the API server refuses is looked at again when it changes, and rarely otherwise. */
const INVALID_RECHECK_MS = 300_000;

export class RabbitClusterReconciler implements Reconciler {
  /** The plugins each image has, as asked of a pod running it. */
  private readonly pluginsByImage = new Map<string, Promise<Set<string>>>();

  constructor(private readonly options: RabbitClusterReconcilerOptions) {}

  async reconcile(request: ReconcileRequest): Promise<ReconcileResult> {
    const { caches, clusterDomain } = this.options;
    const { signal } = request;
    let cluster = caches.clusters.get(request.name, request.namespace);
    // Gone or going: the garbage collector removes what the cluster owns.
    if (!cluster || cluster.metadata.deletionTimestamp) return {};

    const problems = validateCluster(cluster);
    if (problems.length > 0) {
      const failed: ConditionValue = {
        type: "ReconcileSuccess",
        status: "False",
        reason: problems[0]!.reason,
        message: problems.map((p) => p.message).join("; "),
      };
      await this.writeStatus(cluster, undefined, failed, false);
      return {};
    }

    const context = await this.buildContext(cluster);
    if ("refusal" in context) {
      await this.writeStatus(cluster, undefined, context.refusal, false);
      // The watches on its Secrets bring it back when one is restored; this is only a safety net.
      return { requeueAfterMs: SETTLING_REQUEUE_MS * 6 };
    }
    let observation = await this.observe(cluster, context);
    throwIfStopped(signal);
    let missingPlugins: string | undefined;
    try {
      missingPlugins = await this.missingPlugins(cluster, observation, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      // Nothing is rolled out unchecked; the queue asks again, with backoff.
      const message = `could not list the plugins of image ${cluster.spec.image} (asked of a pod running it), so the configuration is not rolled out: ${error instanceof Error ? error.message : String(error)}`;
      await this.writeStatus(cluster, observation, blocked("PluginCheckFailed", message), false);
      throw error;
    }
    if (missingPlugins) {
      // Rolling it out would crash-loop the first node restarted: keep what runs.
      await this.event(cluster, "Warning", "UnknownPlugins", missingPlugins);
      await this.writeStatus(cluster, observation, blocked("UnknownPlugins", missingPlugins), false);
      return { requeueAfterMs: INVALID_RECHECK_MS };
    }
    for (const child of buildChildren(cluster, context)) {
      const desired = child.kind === "StatefulSet" ? this.withReplicas(child as V1StatefulSet, cluster, observation) : child;
      try {
        await this.options.writer.apply(desired as KubeObject, this.cached(desired as KubeObject));
      } catch (error) {
        if (!isInvalid(error)) throw error;
        // The spec makes an object the API server refuses (a value no schema here catches):
        // retrying cannot help, a change of the spec can.
        const refused = blocked(
          "InvalidChild",
          `the API server refuses ${child.kind} ${child.metadata?.name} built from this spec: ${describeError(error).message}`,
        );
        await this.writeStatus(cluster, observation, refused, false);
        return { requeueAfterMs: INVALID_RECHECK_MS };
      }
    }

    let reconcileSuccess: ConditionValue = { type: "ReconcileSuccess", status: "True", reason: "Success", message: "every object is as declared" };
    let requeueAfterMs: number | undefined;
    const step = nextStep(cluster, observation, clusterDomain);
    const steps = this.steps(cluster, context, observation, signal);
    try {
      const outcome = await performStep(steps, step);
      if (outcome.blocked) reconcileSuccess = outcome.blocked;
      requeueAfterMs = outcome.requeueAfterMs;
      cluster = steps.cluster;
    } catch (error) {
      cluster = steps.cluster;
      if (signal.aborted) throw error;
      const message = error instanceof Error ? error.message : String(error);
      // A removal interrupted here is recorded: the next reconcile finishes or reverts it.
      const pending = cluster.status?.nodeRemoval;
      reconcileSuccess = pending
        ? {
            type: "ReconcileSuccess",
            status: "False",
            reason: "NodeRemovalInterrupted",
            message: `${message}; the removal of ${pending.node} is recorded: it is finished, or the node revived, on the next attempt`,
          }
        : { type: "ReconcileSuccess", status: "False", reason: "ClusterOperationFailed", message };
      await this.writeStatus(cluster, observation, reconcileSuccess, true);
      throw error;
    }

    let policies = cluster.status?.policies;
    throwIfStopped(signal);
    if (observation.rabbitNodes) {
      try {
        const synced = await this.syncPolicies(cluster, context, observation);
        policies = synced.managed;
        if (synced.refused.length > 0 && reconcileSuccess.status === "True") {
          reconcileSuccess = {
            type: "ReconcileSuccess",
            status: "False",
            reason: "UnsupportedByRabbitMQVersion",
            message: `not declared: ${synced.refused.join("; ")}`,
          };
        } else if (synced.ignored.length > 0 && reconcileSuccess.status === "True") {
          reconcileSuccess = { ...reconcileSuccess, message: `${reconcileSuccess.message}; ${synced.ignored.join("; ")}` };
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        reconcileSuccess = { type: "ReconcileSuccess", status: "False", reason: "PolicyFailed", message };
        requeueAfterMs = SETTLING_REQUEUE_MS * 6;
      }
    }

    if (step.kind !== "none") observation = await this.observe(cluster, context);
    throwIfStopped(signal);
    const isReady = await this.writeStatus(cluster, observation, reconcileSuccess, true, policies);
    if (requeueAfterMs !== undefined) return { requeueAfterMs };
    return { requeueAfterMs: isReady ? (this.options.resyncMs ?? 60_000) : SETTLING_REQUEUE_MS * 2 };
  }

  /** The StatefulSet as built, with replicas lowered one at a time only through removeNode. */
  private withReplicas(statefulSet: V1StatefulSet, cluster: RabbitCluster, observation: ClusterObservation): V1StatefulSet {
    const type = statefulSet.metadata!.labels![NODE_TYPE_LABEL] as NodeType;
    return { ...statefulSet, spec: { ...statefulSet.spec!, replicas: replicasToApply(cluster, type, observation) } };
  }

  private cached(object: KubeObject): KubeObject | undefined {
    return this.options.caches.owned.get(object.kind!)?.get(object.metadata!.name!, object.metadata!.namespace);
  }

  /**
   * The cookie and the default user: generated once, read back ever after (a new cookie would
   * split the cluster). Never generated again for a cluster that has data (volumes or pods): the
   * nodes would not accept them, so a lost Secret is a refusal saying how to restore it.
   */
  private async buildContext(cluster: RabbitCluster): Promise<BuildContext | { refusal: ConditionValue }> {
    const names = clusterNames(cluster);
    const namespace = cluster.metadata.namespace!;
    const cookie = secretValue(await this.secret(namespace, names.erlangCookie), ERLANG_COOKIE_KEY);
    const userSecret = await this.secret(namespace, names.defaultUser);
    const username = secretValue(userSecret, "username");
    const password = secretValue(userSecret, "password");
    const missing = [...(cookie ? [] : [`${namespace}/${names.erlangCookie}`]), ...(username && password ? [] : [`${namespace}/${names.defaultUser}`])];
    const data = this.dataOf(cluster);
    if (missing.length > 0 && data.length > 0) {
      return {
        refusal: blocked(
          "CredentialsMissing",
          `Secret ${missing.join(" and Secret ")} is missing or incomplete, but the cluster has data (${data.slice(0, 5).join(", ")}) made with the credentials it held: new ones would lock the nodes out of each other and the operator out of RabbitMQ. Restore the Secret from a backup (the operator adopts it as it is), or delete the cluster's PersistentVolumeClaims to start with empty nodes.`,
        ),
      };
    }
    const configMap = this.options.caches.owned.get("ConfigMap")?.get(names.serverConfig, namespace) as V1ConfigMap | undefined;
    const firstDiscNode = this.ownPods(cluster).find(({ type, ordinal }) => type === "disc" && ordinal === 0)?.pod;
    const seeding = isFirstFormation({ hasData: data.length > 0, peersConf: configMap?.data?.[PEERS_KEY], firstDiscNodeReady: isPodReady(firstDiscNode) });
    return {
      clusterDomain: this.options.clusterDomain,
      erlangCookie: cookie ?? newErlangCookie(),
      defaultUser: username && password ? { username, password } : newDefaultUser(),
      ...(seeding ? { seeding } : {}),
    };
  }

  /** A Secret of ours: from the cache, or read past it (a cache that lags must not look like a lost Secret). */
  private async secret(namespace: string, name: string): Promise<V1Secret | undefined> {
    const cached = this.options.caches.owned.get("Secret")?.get(name, namespace) as V1Secret | undefined;
    return cached ?? (await this.options.readSecret?.(namespace, name));
  }

  /** What holds the cluster's data: its volumes and pods. */
  private dataOf(cluster: RabbitCluster): string[] {
    return [
      ...this.ownVolumeClaims(cluster).map(({ claim }) => `PersistentVolumeClaim ${claim.metadata?.name}`),
      ...this.ownPods(cluster).map(({ pod }) => `Pod ${pod.metadata?.name}`),
    ];
  }

  /** The cluster's pods (from the cache), each with its node type and ordinal. */
  private ownPods(cluster: RabbitCluster): { pod: V1Pod; type: NodeType; ordinal: number }[] {
    const names = clusterNames(cluster);
    return NODE_TYPES.flatMap((type) =>
      this.options.caches.pods.list({ namespace: cluster.metadata.namespace }).flatMap((pod) => {
        const ordinal = parseOrdinal(pod.metadata?.name ?? "", `${names.statefulSet(type)}-`);
        return ordinal === undefined || pod.metadata?.labels?.["app.kubernetes.io/instance"] !== cluster.metadata.name ? [] : [{ pod, type, ordinal }];
      }),
    );
  }

  /** The cluster's volume claims (from the cache), each with its node type and ordinal. */
  private ownVolumeClaims(cluster: RabbitCluster): { claim: V1PersistentVolumeClaim; type: NodeType; ordinal: number }[] {
    const names = clusterNames(cluster);
    return NODE_TYPES.flatMap((type) =>
      this.options.caches.volumeClaims.list({ namespace: cluster.metadata.namespace }).flatMap((claim) => {
        const ordinal = parseOrdinal(claim.metadata?.name ?? "", `persistence-${names.statefulSet(type)}-`);
        return ordinal === undefined ? [] : [{ claim, type, ordinal }];
      }),
    );
  }

  private async observe(cluster: RabbitCluster, context: BuildContext): Promise<ClusterObservation> {
    const { caches } = this.options;
    const names = clusterNames(cluster);
    const namespace = cluster.metadata.namespace;
    const statefulSets = Object.fromEntries(
      NODE_TYPES.map((type) => {
        const sts = caches.owned.get("StatefulSet")?.get(names.statefulSet(type), namespace) as V1StatefulSet | undefined;
        if (!sts) return [type, undefined];
        const seen = sts.status?.observedGeneration;
        const updating = seen !== undefined && sts.metadata?.generation !== undefined && seen < sts.metadata.generation;
        return [
          type,
          {
            replicas: sts.spec?.replicas ?? 0,
            readyReplicas: sts.status?.readyReplicas ?? 0,
            updateRevision: sts.status?.updateRevision,
            ...(updating ? { updating } : {}),
          },
        ];
      }),
    ) as ClusterObservation["statefulSets"];

    const pods: PodObservation[] = [];
    for (const { pod, type, ordinal } of this.ownPods(cluster)) {
      const terminating = Boolean(pod.metadata?.deletionTimestamp);
      const readyCondition = isPodReady(pod);
      const container = pod.status?.containerStatuses?.find((c) => c.name === RABBITMQ_CONTAINER);
      // Only for a pod that fails: the log of the run that failed says why, in RabbitMQ's words.
      // Its termination message is only the log's last 2 KB, which RabbitMQ 4's crash report
      // fills: the cause comes before it. A run that just ended is the current one, until restarted.
      const endedNow = container?.state?.terminated !== undefined;
      const failing = containerFailure(container) !== undefined && (endedNow || (container?.restartCount ?? 0) > 0);
      const failedRunLog = failing
        ? await this.options.readLog?.(namespace!, pod.metadata!.name!, RABBITMQ_CONTAINER, !endedNow).catch(() => undefined)
        : undefined;
      const failure = containerFailure(container, failedRunLog);
      const image = pod.spec?.containers.find((c) => c.name === RABBITMQ_CONTAINER)?.image;
      pods.push({
        name: pod.metadata!.name!,
        type,
        ordinal,
        ready: readyCondition && !terminating,
        terminating,
        revision: pod.metadata?.labels?.["controller-revision-hash"],
        ...(failure ? { failure } : {}),
        ...(image ? { image } : {}),
      });
    }
    const volumeClaims: ClusterObservation["volumeClaims"] = this.ownVolumeClaims(cluster)
      .filter(({ claim }) => !claim.metadata?.deletionTimestamp)
      .map(({ claim, type, ordinal }) => ({ name: claim.metadata!.name!, type, ordinal }));

    const observation: ClusterObservation = { statefulSets, pods, volumeClaims, removal: cluster.status?.nodeRemoval };
    if (!pods.some((p) => p.ready)) return { ...observation, rabbitError: "no RabbitMQ node is ready yet" };
    try {
      const management = this.management(cluster, context);
      // What RabbitMQ says it is only informs status and the ram node check: a failure to ask
      // (a slow overview, say) must not make the cluster look unreachable.
      const [rabbitNodes, runtime] = await Promise.all([management.nodes(), management.runtime().catch(() => undefined)]);
      const withNodes = { ...observation, rabbitNodes, ...(runtime ? { runtime } : {}) };
      if (!mayGrowQuorumQueues(cluster, withNodes, this.options.clusterDomain)) return withNodes;
      return { ...withNodes, quorumQueues: await management.quorumQueues() };
    } catch (error) {
      if (error instanceof ManagementApiError && error.status === 401) {
        const secret = `${cluster.metadata.namespace}/${clusterNames(cluster).defaultUser}`;
        return {
          ...observation,
          rabbitErrorReason: "DefaultUserRejected",
          rabbitError: `RabbitMQ refuses the default user of Secret ${secret} (401 Unauthorized): the nodes' data was made with other credentials. Restore the Secret that belongs with the volumes, or set that user's password in RabbitMQ (rabbitmqctl change_password) to the Secret's.`,
        };
      }
      return { ...observation, rabbitError: error instanceof Error ? error.message : String(error) };
    }
  }

  private management(cluster: RabbitCluster, context: BuildContext): ClusterManagement {
    return this.options.management(cluster, context.defaultUser);
  }

  /**
   * The plugins the spec enables that its image lacks, as a message; undefined when it has them
   * all, or when no ready pod runs that image yet to ask (a new image: the roll's own check then
   * stops at the first pod that fails). Each image is asked once.
   */
  private async missingPlugins(cluster: RabbitCluster, observation: ClusterObservation, signal: AbortSignal): Promise<string | undefined> {
    const image = cluster.spec.image;
    let asking = this.pluginsByImage.get(image);
    if (!asking) {
      const pod = observation.pods.find((p) => p.ready && p.image === image);
      if (!pod) return undefined;
      // One question per image, shared by the reconciles of every cluster that runs it.
      asking = this.nodeOperations(cluster.metadata.namespace!)
        .availablePlugins(pod.name, signal)
        .then((plugins) => new Set(plugins));
      this.pluginsByImage.set(image, asking);
      asking.catch(() => this.pluginsByImage.delete(image));
    }
    const available = await asking;
    const missing = enabledPlugins(cluster).filter((plugin) => !available.has(plugin));
    if (missing.length === 0) return undefined;
    return `image ${image} has no plugin ${missing.join(", ")}: the configuration is not rolled out (a node would not start). Its plugins: ${[...available].sort().join(", ")}`;
  }

  /** The steps, carried out for this cluster with what this reconcile observed. */
  private steps(cluster: RabbitCluster, context: BuildContext, observation: ClusterObservation, signal: AbortSignal): ClusterStepExecutor {
    const namespace = cluster.metadata.namespace!;
    let current = cluster;
    const writes: ClusterWrites = {
      recordRemoval: async (removal) => (current = await this.recordRemoval(current, removal)),
      desiredNodes: (type) => (this.options.caches.clusters.get(cluster.metadata.name!, namespace) ?? cluster).spec.nodes[type],
      setReplicas: async (type, replicas) => {
        const statefulSet = buildChildren(cluster, context).find(
          (c) => c.kind === "StatefulSet" && c.metadata?.name === clusterNames(cluster).statefulSet(type),
        ) as V1StatefulSet;
        await this.options.writer.apply({ ...statefulSet, spec: { ...statefulSet.spec!, replicas } } as KubeObject, this.cached(statefulSet as KubeObject));
      },
      deletePod: async (name) => {
        await this.options.writer.delete({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace } });
      },
      deleteVolumeClaim: async (name) => {
        await this.options.writer.delete({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name, namespace } });
      },
    };
    return new ClusterStepExecutor({
      cluster,
      observation,
      clusterDomain: this.options.clusterDomain,
      signal,
      operations: this.nodeOperations(namespace),
      management: this.management(cluster, context),
      writes,
      event: (type, reason, message) => this.event(cluster, type, reason, message),
      log: this.options.logger.child({ rabbitcluster: `${namespace}/${cluster.metadata.name}` }),
      now: () => this.now(),
      pause: (ms) => sleep(systemClock, ms, signal),
    });
  }

  private nodeOperations(namespace: string): NodeOperations {
    return this.options.nodeOperations?.(namespace) ?? new ClusterOperations(podExecRunner(this.options.kubeConfig, namespace));
  }

  /** Writes the removal record (or its absence) to status at once; returns the cluster as it now is. */
  private async recordRemoval(cluster: RabbitCluster, removal: NodeRemoval | undefined): Promise<RabbitCluster> {
    const { nodeRemoval: _previous, ...rest } = cluster.status ?? {};
    const status: RabbitClusterStatus = removal ? { ...rest, nodeRemoval: removal } : rest;
    await this.options.status.update(RESOURCE, cluster as RabbitCluster & KubeObject, status);
    return { ...cluster, status };
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Declares spec.policies the cluster's version can take; says which it cannot, and what it ignores. */
  private async syncPolicies(
    cluster: RabbitCluster,
    context: BuildContext,
    observation: ClusterObservation,
  ): Promise<{ managed: RabbitClusterStatus["policies"]; refused: string[]; ignored: string[] }> {
    const management = this.management(cluster, context);
    const declared = cluster.spec.policies ?? [];
    // What the nodes report; before they do, what the image's tag says.
    const version = (observation.runtime && parseVersion(observation.runtime.version)) ?? imageVersion(cluster.spec.image);
    const changes = policyChanges(declared, await management.policies(), cluster.status?.policies ?? [], version);
    for (const policy of changes.put) await management.putPolicy(policy);
    for (const key of changes.delete) await management.deletePolicy(key);
    return { managed: declared.map(({ name, vhost }) => ({ name, vhost })), refused: changes.refused, ignored: changes.ignored };
  }

  /** Writes status when it changed; returns whether the cluster is Ready. */
  private async writeStatus(
    cluster: RabbitCluster,
    observation: ClusterObservation | undefined,
    reconcileSuccess: ConditionValue,
    succeededForGeneration: boolean,
    policies?: RabbitClusterStatus["policies"],
  ): Promise<boolean> {
    const now = this.now();
    const generation = cluster.metadata.generation;
    const values: ConditionValue[] = observation
      ? [
          allReplicasReady(cluster, observation),
          clusterAvailable(observation),
          reconcileSuccess,
          ready(cluster, observation, this.options.clusterDomain, reconcileSuccess),
        ]
      : [reconcileSuccess, { type: "Ready", status: "False", reason: reconcileSuccess.reason, message: reconcileSuccess.message }];
    const previous = cluster.status?.conditions ?? [];
    const { conditions, transitioned } = setConditions(
      previous,
      values.map((v) => ({ ...v, observedGeneration: generation })),
      now,
    );
    const { nodeRemoval, ...previousStatus } = cluster.status ?? {};
    // The record goes once the node's replica is gone (or it was cleared by this reconcile).
    const removal = observation ? pendingRemoval({ ...observation, removal: nodeRemoval }) : nodeRemoval;
    const status: RabbitClusterStatus = {
      ...previousStatus,
      ...(removal ? { nodeRemoval: removal } : {}),
      ...(observation ? statusDetails(cluster, observation, this.options.clusterDomain) : {}),
      ...(policies ? { policies } : {}),
      conditions: conditions as Condition[],
      ...(succeededForGeneration && generation !== undefined ? { observedGeneration: generation } : {}),
    };
    await this.options.status.update(RESOURCE, cluster as RabbitCluster & KubeObject, status);
    for (const type of transitioned) {
      const condition = conditions.find((c) => c.type === type)!;
      if (type === "Ready") {
        await this.event(
          cluster,
          condition.status === "True" ? "Normal" : "Warning",
          condition.status === "True" ? "ClusterReady" : condition.reason,
          condition.message,
        );
      } else if (type === "ReconcileSuccess" && condition.status === "False") {
        await this.event(cluster, "Warning", condition.reason, condition.message);
      }
    }
    return conditions.some((c) => c.type === "Ready" && c.status === "True");
  }

  private event(cluster: RabbitCluster, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    return this.options.events.event(cluster as RabbitCluster & KubeObject, type, reason, message);
  }
}

function isPodReady(pod: V1Pod | undefined): boolean {
  return pod?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}
