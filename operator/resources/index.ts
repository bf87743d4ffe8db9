// Every object a RabbitCluster owns, in the order the controller applies them: what a pod mounts
// exists before the pod. Adding a child is adding a builder file and one line here.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { RabbitCluster } from "../api/index.js";
import type { BuildContext } from "./context.js";
import { buildClientService } from "./client-service.js";
import { buildHeadlessService } from "./headless-service.js";
import { buildPodDisruptionBudget } from "./pod-disruption-budget.js";
import { buildDefaultUserSecret, buildErlangCookieSecret } from "./secrets.js";
import { buildServerConfigMap } from "./server-config.js";
import { buildServiceAccount } from "./service-account.js";
import { buildStatefulSet } from "./stateful-set.js";

export function buildChildren(cluster: RabbitCluster, ctx: BuildContext): KubernetesObject[] {
  return [
    buildServiceAccount(cluster),
    buildErlangCookieSecret(cluster, ctx),
    buildDefaultUserSecret(cluster, ctx),
    buildServerConfigMap(cluster, ctx),
    buildHeadlessService(cluster),
    buildClientService(cluster),
    buildStatefulSet(cluster, "disc", ctx),
    buildStatefulSet(cluster, "ram", ctx),
    buildPodDisruptionBudget(cluster),
  ];
}

export * from "./context.js";
export * from "./names.js";
export * from "./validation.js";
export { serverConfigHash } from "./server-config.js";
