// Wires the RabbitCluster reconciler into a manager: the kinds it watches and owns.
import { CoreV1Api, type KubeConfig, type V1PersistentVolumeClaim, type V1Pod } from "@kubernetes/client-node";
import { RABBIT_CLUSTER, type RabbitCluster } from "../../api/index.js";
import { MANAGED_SELECTOR } from "../../resources/names.js";
import type { Informer } from "../../runtime/informer.js";
import type { KubeObject } from "../../runtime/kube-object.js";
import { readSecret } from "../../runtime/clients.js";
import { mapTo, type Manager } from "../../runtime/manager.js";
import { RESOURCES, customResource } from "../../runtime/resource-types.js";
import { keyAsCluster } from "../cluster-keys.js";
import type { ClusterManagement } from "./management-port.js";
import type { NodeOperations } from "./node-operations-port.js";
import { RabbitClusterReconciler } from "./reconciler.js";

export interface RabbitClusterControllerOptions {
  kubeConfig: KubeConfig;
  clusterDomain: string;
  management: (cluster: RabbitCluster, credentials: { username: string; password: string }) => ClusterManagement;
  /** What runs inside a namespace's node pods; default RabbitMQ's CLI tools over pods/exec. */
  nodeOperations?: (namespace: string) => NodeOperations;
  maxConcurrentReconciles?: number;
}

/** Kinds a RabbitCluster owns, by kind name, as the builders make them. */
const OWNED = [RESOURCES.ServiceAccount, RESOURCES.Secret, RESOURCES.ConfigMap, RESOURCES.Service, RESOURCES.StatefulSet, RESOURCES.PodDisruptionBudget];

export function addRabbitClusterController(manager: Manager, options: RabbitClusterControllerOptions) {
  // Only objects we made are cached: a cluster's Secrets, not every Secret of the cluster.
  const managed = MANAGED_SELECTOR;
  const clusters = manager.informer<RabbitCluster & KubeObject>(customResource(RABBIT_CLUSTER));
  const owned = new Map(OWNED.map((resource) => [resource.kind, manager.informer<KubeObject>(resource, { labelSelector: managed })]));
  const pods = manager.informer<V1Pod & KubeObject>(RESOURCES.Pod, { labelSelector: `app.kubernetes.io/name=rabbitmq,${managed}` });
  const volumeClaims = manager.informer<V1PersistentVolumeClaim & KubeObject>(RESOURCES.PersistentVolumeClaim, {
    labelSelector: `app.kubernetes.io/name=rabbitmq,${managed}`,
  });

  const byInstanceLabel = (object: KubeObject) => {
    const instance = object.metadata?.labels?.["app.kubernetes.io/instance"];
    return instance && object.metadata?.namespace ? [`${object.metadata.namespace}/${instance}`] : [];
  };

  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  return manager.addController({
    name: "rabbitcluster",
    for: clusters,
    owns: [...owned.values()],
    // Pods and volumes are owned by the StatefulSets, and retained credentials Secrets by nobody
    // (they outlive the cluster): map them by label.
    watches: [
      mapTo(pods as Informer<KubeObject>, byInstanceLabel),
      mapTo(volumeClaims as Informer<KubeObject>, byInstanceLabel),
      mapTo(owned.get("Secret")!, byInstanceLabel),
    ],
    maxConcurrentReconciles: options.maxConcurrentReconciles ?? 2,
    shardKey: (key) => keyAsCluster("RabbitCluster", key),
    reconciler: new RabbitClusterReconciler({
      caches: { clusters, owned, pods, volumeClaims },
      writer: manager.writer,
      status: manager.status,
      events: manager.events,
      kubeConfig: options.kubeConfig,
      clusterDomain: options.clusterDomain,
      management: options.management,
      nodeOperations: options.nodeOperations,
      readLog: (namespace, name, container, previous) => core.readNamespacedPodLog({ namespace, name, container, previous, tailLines: 80 }),
      readSecret: (namespace, name) => readSecret(manager.clients, namespace, name),
      logger: manager.logger.child({ controller: "rabbitcluster" }),
    }),
  });
}
