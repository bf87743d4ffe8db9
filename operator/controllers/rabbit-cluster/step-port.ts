// How the RabbitCluster controller carries out the steps plan.ts decides: one function per kind
// of step, behind an interface of its own so that unit tests drive each step with fakes of what
// it touches (node operations, the management API, Kubernetes writes) and break any of them.
import type { NodeType, RabbitCluster } from "../../api/index.js";
import type { Logger } from "../../runtime/logger.js";
import type { ClusterManagement } from "./management-port.js";
import type { NodeOperations } from "./node-operations-port.js";
import type { ClusterObservation, NodeRemoval } from "./observation.js";
import type { Step } from "./plan.js";
import type { ConditionValue } from "./status.js";

/** What a step leaves behind: a condition that blocks, when to look again. */
export interface StepOutcome {
  blocked?: ConditionValue;
  requeueAfterMs?: number;
}

type StepOf<K extends Step["kind"]> = Extract<Step, { kind: K }>;

/** The steps that act, one function each. */
export interface ClusterSteps {
  removeNode(step: StepOf<"removeNode">): Promise<StepOutcome>;
  reviveNode(step: StepOf<"reviveNode">): Promise<StepOutcome>;
  growQuorumQueues(step: StepOf<"growQuorumQueues">): Promise<StepOutcome>;
  forgetNode(step: StepOf<"forgetNode">): Promise<StepOutcome>;
  deleteVolumeClaim(step: StepOf<"deleteVolumeClaim">): Promise<StepOutcome>;
  restartPod(step: StepOf<"restartPod">): Promise<StepOutcome>;
}

/** The Kubernetes writes steps make. Each is preceded by a leadership check where it is used. */
export interface ClusterWrites {
  /** Writes the removal record (or its absence) to the cluster's status at once; returns the cluster as it then is. */
  recordRemoval(removal: NodeRemoval | undefined): Promise<RabbitCluster>;
  /** How many nodes of this type the spec wants now (it may have changed since the step was decided). */
  desiredNodes(type: NodeType): number;
  /** Sets a StatefulSet's replicas (built from the spec as it is). */
  setReplicas(type: NodeType, replicas: number): Promise<void>;
  deletePod(name: string): Promise<void>;
  deleteVolumeClaim(name: string): Promise<void>;
}

/** Everything a step may use, for one reconcile of one cluster. */
export interface StepEnvironment {
  cluster: RabbitCluster;
  observation: ClusterObservation;
  clusterDomain: string;
  /** Aborted when leadership is lost or the operator stops: checked before every write. */
  signal: AbortSignal;
  operations: NodeOperations;
  management: ClusterManagement;
  writes: ClusterWrites;
  event(type: "Normal" | "Warning", reason: string, message: string): Promise<void>;
  log: Logger;
  now(): number;
  /** Waits between two looks at RabbitMQ (returns early when the signal aborts). */
  pause(ms: number): Promise<void>;
}

const SETTLING_REQUEUE_MS = 5_000;

/** Carries out a step: the ones that act through the port, waiting and nothing here. */
export function performStep(steps: ClusterSteps, step: Step): Promise<StepOutcome> {
  switch (step.kind) {
    case "none":
      return Promise.resolve({});
    case "wait":
      return Promise.resolve({ requeueAfterMs: SETTLING_REQUEUE_MS });
    case "removeNode":
      return steps.removeNode(step);
    case "reviveNode":
      return steps.reviveNode(step);
    case "growQuorumQueues":
      return steps.growQuorumQueues(step);
    case "forgetNode":
      return steps.forgetNode(step);
    case "deleteVolumeClaim":
      return steps.deleteVolumeClaim(step);
    case "restartPod":
      return steps.restartPod(step);
  }
}
