// The RabbitCluster reconciler: observe (caches, management API), build the desired children
// (pure builders), apply what differs, take at most one membership step (plan.ts), write status
// when it changed. Level-triggered: every reconcile starts from what it observes.
import type { V1PersistentVolumeClaim, V1Pod, V1Secret, V1StatefulSet } from "@kubernetes/client-node";
import { RABBIT_CLUSTER, type Condition, type NodeType, type RabbitCluster, type RabbitClusterStatus } from "../../api/index.js";
import { ClusterOperations } from "../../rabbitmq/cluster-operations.js";
import {
  buildChildren,
  clusterNames,
  newDefaultUser,
  newErlangCookie,
  validateCluster,
  type BuildContext,
} from "../../resources/index.js";
import { NODE_TYPE_LABEL } from "../../resources/names.js";
import { ERLANG_COOKIE_KEY } from "../../resources/secrets.js";
import type { ReconcileRequest, ReconcileResult, Reconciler } from "../../runtime/controller.js";
import { setConditions } from "../../runtime/conditions.js";
import type { ObjectWriter } from "../../runtime/apply.js";
import type { EventRecorder } from "../../runtime/events.js";
import type { Informer } from "../../runtime/informer.js";
import type { KubeObject } from "../../runtime/kube-object.js";
import type { Logger } from "../../runtime/logger.js";
import { customResource } from "../../runtime/resource-types.js";
import type { StatusWriter } from "../../runtime/status.js";
import type { KubeConfig } from "@kubernetes/client-node";
import type { ClusterManagement, QueueKey } from "./management-port.js";
import { NODE_TYPES, parseOrdinal, type ClusterObservation, type PodObservation } from "./observation.js";
import { nextStep, replicasToApply, type Step } from "./plan.js";
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
  logger: Logger;
  now?: () => number;
  /** How often a Ready cluster is looked at again for membership drift. */
  resyncMs?: number;
}

const RESOURCE = customResource(RABBIT_CLUSTER);
const SETTLING_REQUEUE_MS = 5_000;

export class RabbitClusterReconciler implements Reconciler {
  constructor(private readonly options: RabbitClusterReconcilerOptions) {}

  async reconcile(request: ReconcileRequest): Promise<ReconcileResult> {
    const { caches, clusterDomain } = this.options;
    const cluster = caches.clusters.get(request.name, request.namespace);
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

    const context = this.buildContext(cluster);
    let observation = await this.observe(cluster, context);
    for (const child of buildChildren(cluster, context)) {
      const desired = child.kind === "StatefulSet" ? this.withReplicas(child as V1StatefulSet, cluster, observation) : child;
      await this.options.writer.apply(desired as KubeObject, this.cached(desired as KubeObject));
    }

    let reconcileSuccess: ConditionValue = { type: "ReconcileSuccess", status: "True", reason: "Success", message: "every object is as declared" };
    let requeueAfterMs: number | undefined;
    const step = nextStep(cluster, observation, clusterDomain);
    try {
      const outcome = await this.perform(step, cluster, context, observation);
      if (outcome.blocked) reconcileSuccess = outcome.blocked;
      requeueAfterMs = outcome.requeueAfterMs;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      reconcileSuccess = { type: "ReconcileSuccess", status: "False", reason: "ClusterOperationFailed", message };
      await this.writeStatus(cluster, observation, reconcileSuccess, true);
      throw error;
    }

    let policies = cluster.status?.policies;
    if (observation.rabbitNodes) {
      try {
        policies = await this.syncPolicies(cluster, context);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        reconcileSuccess = { type: "ReconcileSuccess", status: "False", reason: "PolicyFailed", message };
        requeueAfterMs = SETTLING_REQUEUE_MS * 6;
      }
    }

    if (step.kind !== "none") observation = await this.observe(cluster, context);
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

  /** Secrets are generated once and read back ever after: a new cookie would split the cluster. */
  private buildContext(cluster: RabbitCluster): BuildContext {
    const names = clusterNames(cluster);
    const secret = (name: string) => this.options.caches.owned.get("Secret")?.get(name, cluster.metadata.namespace) as V1Secret | undefined;
    const decode = (s: V1Secret | undefined, key: string) => (s?.data?.[key] ? Buffer.from(s.data[key], "base64").toString("utf8") : undefined);
    const cookieSecret = secret(names.erlangCookie);
    const userSecret = secret(names.defaultUser);
    const username = decode(userSecret, "username");
    const password = decode(userSecret, "password");
    return {
      clusterDomain: this.options.clusterDomain,
      erlangCookie: decode(cookieSecret, ERLANG_COOKIE_KEY) ?? newErlangCookie(),
      defaultUser: username && password ? { username, password } : newDefaultUser(),
    };
  }

  private async observe(cluster: RabbitCluster, context: BuildContext): Promise<ClusterObservation> {
    const { caches } = this.options;
    const names = clusterNames(cluster);
    const namespace = cluster.metadata.namespace;
    const statefulSets = Object.fromEntries(
      NODE_TYPES.map((type) => {
        const sts = caches.owned.get("StatefulSet")?.get(names.statefulSet(type), namespace) as V1StatefulSet | undefined;
        return [type, sts ? { replicas: sts.spec?.replicas ?? 0, readyReplicas: sts.status?.readyReplicas ?? 0, updateRevision: sts.status?.updateRevision } : undefined];
      }),
    ) as ClusterObservation["statefulSets"];

    const pods: PodObservation[] = [];
    const volumeClaims: ClusterObservation["volumeClaims"] = [];
    for (const type of NODE_TYPES) {
      const prefix = `${names.statefulSet(type)}-`;
      for (const pod of caches.pods.list({ namespace })) {
        const ordinal = parseOrdinal(pod.metadata?.name ?? "", prefix);
        if (ordinal === undefined || pod.metadata?.labels?.["app.kubernetes.io/instance"] !== cluster.metadata.name) continue;
        const terminating = Boolean(pod.metadata?.deletionTimestamp);
        const readyCondition = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
        pods.push({ name: pod.metadata!.name!, type, ordinal, ready: readyCondition && !terminating, terminating, revision: pod.metadata?.labels?.["controller-revision-hash"] });
      }
      for (const claim of caches.volumeClaims.list({ namespace })) {
        const ordinal = parseOrdinal(claim.metadata?.name ?? "", `persistence-${prefix}`);
        if (ordinal !== undefined && !claim.metadata?.deletionTimestamp) volumeClaims.push({ name: claim.metadata!.name!, type, ordinal });
      }
    }

    const observation: ClusterObservation = { statefulSets, pods, volumeClaims };
    if (!pods.some((p) => p.ready)) return { ...observation, rabbitError: "no RabbitMQ node is ready yet" };
    try {
      return { ...observation, rabbitNodes: await this.management(cluster, context).nodes() };
    } catch (error) {
      return { ...observation, rabbitError: error instanceof Error ? error.message : String(error) };
    }
  }

  private management(cluster: RabbitCluster, context: BuildContext): ClusterManagement {
    return this.options.management(cluster, context.defaultUser);
  }

  /** Performs one step; returns a blocking condition and when to look again. */
  private async perform(step: Step, cluster: RabbitCluster, context: BuildContext, observation: ClusterObservation): Promise<{ blocked?: ConditionValue; requeueAfterMs?: number }> {
    const namespace = cluster.metadata.namespace!;
    const operations = new ClusterOperations(this.options.kubeConfig, namespace);
    const log = this.options.logger.child({ rabbitcluster: `${namespace}/${cluster.metadata.name}` });
    switch (step.kind) {
      case "none":
        return {};
      case "wait":
        return { requeueAfterMs: SETTLING_REQUEUE_MS };
      case "removeNode": {
        const critical = await operations.quorumCritical(step.pod);
        if (critical.critical) {
          return { blocked: blocked("ScaleDownBlocked", `${step.node} cannot leave yet: quorum queues would lose their majority without it: ${critical.detail}`), requeueAfterMs: 30_000 };
        }
        const holding = await this.classicQueuesHoldingMessages(operations, step.pod, await this.management(cluster, context).durableClassicQueuesOn(step.node));
        if (holding.length > 0) {
          return {
            blocked: blocked("ScaleDownBlocked", `${step.node} cannot leave: durable classic queues on it hold messages that would be lost: ${holding.slice(0, 10).join(", ")}. Consume or move them first.`),
            requeueAfterMs: 15_000,
          };
        }
        log.info("removing node", { node: step.node });
        await this.event(cluster, "Normal", "RemovingNode", `draining ${step.node} before it leaves the cluster`);
        await operations.drain(step.pod, 300);
        const other = observation.pods.find((p) => p.ready && p.name !== step.pod && p.type === "disc") ?? observation.pods.find((p) => p.ready && p.name !== step.pod);
        if (other) await operations.shrinkQuorumQueues(other.name, step.node);
        const statefulSet = buildChildren(cluster, context).find((c) => c.kind === "StatefulSet" && c.metadata?.name === clusterNames(cluster).statefulSet(step.type)) as V1StatefulSet;
        await this.options.writer.apply({ ...statefulSet, spec: { ...statefulSet.spec!, replicas: step.ordinal } } as KubeObject, this.cached(statefulSet as KubeObject));
        return { requeueAfterMs: SETTLING_REQUEUE_MS };
      }
      case "forgetNode":
        log.info("forgetting node", { node: step.node, from: step.fromPod });
        await operations.forget(step.fromPod, step.node);
        await this.event(cluster, "Normal", "NodeForgotten", `${step.node} left the cluster`);
        return { requeueAfterMs: 1_000 };
      case "deleteVolumeClaim":
        log.info("deleting volume of removed node", { claim: step.name });
        await this.options.writer.delete({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: step.name, namespace } });
        return { requeueAfterMs: 1_000 };
      case "restartPod": {
        const critical = await operations.quorumCritical(step.pod);
        if (critical.critical) return { requeueAfterMs: 15_000 };
        log.info("restarting pod for a new template", { pod: step.pod });
        await this.event(cluster, "Normal", "RollingRestart", `restarting ${step.pod} to apply a configuration or image change`);
        await this.options.writer.delete({ apiVersion: "v1", kind: "Pod", metadata: { name: step.pod, namespace } });
        return { requeueAfterMs: SETTLING_REQUEUE_MS };
      }
    }
  }

  /** Of these queues on the pod's node, the ones that hold messages, as "vhost/name (N messages)". */
  private async classicQueuesHoldingMessages(operations: ClusterOperations, pod: string, queues: QueueKey[]): Promise<string[]> {
    const holding: string[] = [];
    for (const vhost of new Set(queues.map((q) => q.vhost))) {
      const counts = await operations.localQueueMessages(pod, vhost);
      for (const queue of queues.filter((q) => q.vhost === vhost)) {
        // Listed as living there but not answering from there: its messages may be on disk.
        const messages = counts.get(queue.name) ?? Number.POSITIVE_INFINITY;
        if (messages > 0) holding.push(`${vhost === "/" ? "" : `${vhost}/`}${queue.name} (${Number.isFinite(messages) ? messages : "unknown number of"} messages)`);
      }
    }
    return holding;
  }

  private async syncPolicies(cluster: RabbitCluster, context: BuildContext): Promise<RabbitClusterStatus["policies"]> {
    const management = this.management(cluster, context);
    const declared = cluster.spec.policies ?? [];
    const changes = policyChanges(declared, await management.policies(), cluster.status?.policies ?? []);
    for (const policy of changes.put) await management.putPolicy(policy);
    for (const key of changes.delete) await management.deletePolicy(key);
    return declared.map(({ name, vhost }) => ({ name, vhost }));
  }

  /** Writes status when it changed; returns whether the cluster is Ready. */
  private async writeStatus(
    cluster: RabbitCluster,
    observation: ClusterObservation | undefined,
    reconcileSuccess: ConditionValue,
    succeededForGeneration: boolean,
    policies?: RabbitClusterStatus["policies"],
  ): Promise<boolean> {
    const now = this.options.now?.() ?? Date.now();
    const generation = cluster.metadata.generation;
    const values: ConditionValue[] = observation
      ? [allReplicasReady(cluster, observation), clusterAvailable(observation), reconcileSuccess, ready(cluster, observation, this.options.clusterDomain, reconcileSuccess)]
      : [reconcileSuccess, { type: "Ready", status: "False", reason: reconcileSuccess.reason, message: reconcileSuccess.message }];
    const previous = cluster.status?.conditions ?? [];
    const { conditions, transitioned } = setConditions(previous, values.map((v) => ({ ...v, observedGeneration: generation })), now);
    const status: RabbitClusterStatus = {
      ...(cluster.status ?? {}),
      ...(observation ? statusDetails(cluster, observation, this.options.clusterDomain) : {}),
      ...(policies ? { policies } : {}),
      conditions: conditions as Condition[],
      ...(succeededForGeneration && generation !== undefined ? { observedGeneration: generation } : {}),
    };
    await this.options.status.update(RESOURCE, cluster as RabbitCluster & KubeObject, status);
    for (const type of transitioned) {
      const condition = conditions.find((c) => c.type === type)!;
      if (type === "Ready") {
        await this.event(cluster, condition.status === "True" ? "Normal" : "Warning", condition.status === "True" ? "ClusterReady" : condition.reason, condition.message);
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

function blocked(reason: string, message: string): ConditionValue {
  return { type: "ReconcileSuccess", status: "False", reason, message };
}
