// The status of a topology object, computed (pure) from the outcome of a reconcile, and the
// Problem a management API failure becomes. The reconciler writes the status only when it differs.
import type { Condition } from "../../api/index.js";
import { UnexpectedAnswerError, ManagementApiError } from "../../rabbitmq/management.js";
import { UnaddressableNameError } from "../../rabbitmq/management-http.js";
import { setConditions } from "../../runtime/conditions.js";
import { Problem, type TopologyResource } from "./adapter.js";

export type Outcome = { ready: true; message: string } | { ready: false; problem: Problem };

export const DECLARED = "Declared";

export interface ComputedStatus {
  status: Record<string, unknown> & { observedGeneration?: number; conditions: Condition[] };
  /** Ready changed status (or is new): the moment for an Event. */
  transitioned: boolean;
}

/**
 * The whole status: Ready from the outcome, observedGeneration moved only by a success, the
 * kind's own fields. lastTransitionTime moves only when Ready's status does.
 */
export function computeStatus(resource: TopologyResource, outcome: Outcome, kindFields: Record<string, unknown>, nowMs: number): ComputedStatus {
  const generation = resource.metadata.generation;
  const ready = outcome.ready
    ? { type: "Ready", status: "True" as const, reason: DECLARED, message: outcome.message }
    : { type: "Ready", status: "False" as const, reason: outcome.problem.reason, message: outcome.problem.message };
  const { conditions, transitioned } = setConditions(
    resource.status?.conditions,
    [{ ...ready, ...(generation !== undefined ? { observedGeneration: generation } : {}) }],
    nowMs,
  );
  const observedGeneration = outcome.ready ? generation : resource.status?.observedGeneration;
  return {
    status: { ...kindFields, ...(observedGeneration !== undefined ? { observedGeneration } : {}), conditions },
    transitioned: transitioned.includes("Ready"),
  };
}

/** Ready=True for the object's current generation: RabbitMQ had it as declared when last looked at. */
export function isReadyForGeneration(resource: TopologyResource): boolean {
  const ready = resource.status?.conditions?.find((condition) => condition.type === "Ready");
  return ready?.status === "True" && resource.status?.observedGeneration === resource.metadata.generation;
}

/** Ready=False: waiting for something (a cluster, a vhost, a user) or refused by RabbitMQ. */
export function isNotReady(resource: TopologyResource): boolean {
  return resource.status?.conditions?.some((condition) => condition.type === "Ready" && condition.status === "False") ?? false;
}

/**
 * What a failed management API request means for the object's status: RabbitMQ's own reason
 * (e.g. PRECONDITION_FAILED's "inequivalent arg ...") and a CamelCase reason. Messages carry no
 * attempt counts or times, so that retrying the same failure never changes the status (a status
 * write would trigger another reconcile at once, outside the backoff).
 */
export function problemOf(error: unknown, action: string, what: string, clusterDescription: string): Problem | undefined {
  if (error instanceof ManagementApiError) {
    if (error.isUnreachable) return new Problem(error.conditionReason, `cannot reach ${clusterDescription} to ${action} ${what}: ${error.reason}`);
    return new Problem(error.conditionReason, `RabbitMQ refused to ${action} ${what}: ${error.reason}`);
  }
  if (error instanceof UnexpectedAnswerError) return new Problem("UnexpectedAnswer", `RabbitMQ's answer about ${what} was not understood: ${error.message}`);
  if (error instanceof UnaddressableNameError) return new Problem("UnaddressableName", `cannot ${action} ${what}: ${error.message}`);
  return undefined;
}
