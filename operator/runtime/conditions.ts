// Conditions in the metav1.Condition shape, with the semantics of apimachinery's
// meta.SetStatusCondition: lastTransitionTime moves only when the status changes. Pure functions:
// a reconciler computes the whole status, then status.ts writes it only if it differs.
import type { Condition } from "../api/index.js";
import { rfc3339 } from "./clock.js";

export type ConditionStatus = Condition["status"];

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  /** CamelCase, programmatic: "ScaleDownRefused", "AllNodesRunning". */
  reason: string;
  message: string;
  observedGeneration?: number;
}

export interface SetConditionResult {
  conditions: Condition[];
  /** Anything differs from before (status, reason, message, observedGeneration). */
  changed: boolean;
  /** The status changed, or the condition is new: the moment for an Event. */
  transitioned: boolean;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === "True";
}

/** Returns a new list with the condition set; the input is not modified. Order is kept. */
export function setCondition(conditions: readonly Condition[] | undefined, input: ConditionInput, nowMs: number): SetConditionResult {
  const current = conditions ?? [];
  const existing = findCondition(current, input.type);
  const next: Condition = {
    type: input.type,
    status: input.status,
    ...(input.observedGeneration !== undefined ? { observedGeneration: input.observedGeneration } : {}),
    lastTransitionTime: existing && existing.status === input.status ? existing.lastTransitionTime : rfc3339(nowMs),
    reason: input.reason,
    message: input.message,
  };
  if (!existing) return { conditions: [...current, next], changed: true, transitioned: true };
  const changed =
    existing.status !== next.status ||
    existing.reason !== next.reason ||
    existing.message !== next.message ||
    existing.observedGeneration !== next.observedGeneration;
  return {
    conditions: changed ? current.map((condition) => (condition.type === input.type ? next : condition)) : [...current],
    changed,
    transitioned: existing.status !== next.status,
  };
}

/** Sets several conditions at once; `transitioned` lists the types whose status changed. */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  nowMs: number,
): { conditions: Condition[]; changed: boolean; transitioned: string[] } {
  let current = [...(conditions ?? [])];
  let changed = false;
  const transitioned: string[] = [];
  for (const input of inputs) {
    const result = setCondition(current, input, nowMs);
    current = result.conditions;
    changed ||= result.changed;
    if (result.transitioned) transitioned.push(input.type);
  }
  return { conditions: current, changed, transitioned };
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((condition) => condition.type !== type);
}
