import { describe, expect, it } from "vitest";
import { findCondition, isConditionTrue, removeCondition, setCondition, setConditions } from "../../../operator/runtime/index.js";

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0, 250);
const T1 = T0 + 60_000;

describe("conditions", () => {
  it("adds a new condition with lastTransitionTime now, at second precision like metav1.Time", () => {
    const result = setCondition(undefined, { type: "Ready", status: "False", reason: "Creating", message: "creating", observedGeneration: 2 }, T0);
    expect(result).toEqual({
      conditions: [
        { type: "Ready", status: "False", reason: "Creating", message: "creating", observedGeneration: 2, lastTransitionTime: "2025-01-01T12:00:00Z" },
      ],
      changed: true,
      transitioned: true,
    });
  });

  it("keeps lastTransitionTime when only reason, message or generation change", () => {
    const first = setCondition([], { type: "Ready", status: "False", reason: "Creating", message: "0/3" }, T0).conditions;
    const second = setCondition(first, { type: "Ready", status: "False", reason: "Scaling", message: "2/3", observedGeneration: 3 }, T1);
    expect(second.changed).toBe(true);
    expect(second.transitioned).toBe(false);
    expect(findCondition(second.conditions, "Ready")).toMatchObject({
      reason: "Scaling",
      message: "2/3",
      observedGeneration: 3,
      lastTransitionTime: "2025-01-01T12:00:00Z",
    });
  });

  it("moves lastTransitionTime when the status changes", () => {
    const first = setCondition([], { type: "Ready", status: "False", reason: "Creating", message: "" }, T0).conditions;
    const second = setCondition(first, { type: "Ready", status: "True", reason: "AllNodesRunning", message: "" }, T1);
    expect(second.transitioned).toBe(true);
    expect(findCondition(second.conditions, "Ready")?.lastTransitionTime).toBe("2025-01-01T12:01:00Z");
    expect(isConditionTrue(second.conditions, "Ready")).toBe(true);
  });

  it("reports no change, and returns an equal list, when nothing differs", () => {
    const first = setCondition([], { type: "Ready", status: "True", reason: "Ok", message: "fine" }, T0).conditions;
    const again = setCondition(first, { type: "Ready", status: "True", reason: "Ok", message: "fine" }, T1);
    expect(again).toEqual({ conditions: first, changed: false, transitioned: false });
    expect(again.conditions).not.toBe(first);
  });

  it("sets several conditions, keeping order, listing the transitions; does not modify its input", () => {
    const input = setConditions(
      [],
      [
        { type: "Ready", status: "False", reason: "A", message: "" },
        { type: "ReconcileSuccess", status: "True", reason: "B", message: "" },
      ],
      T0,
    ).conditions;
    const frozen = structuredClone(input);
    const result = setConditions(
      input,
      [
        { type: "ReconcileSuccess", status: "True", reason: "B", message: "" },
        { type: "Ready", status: "True", reason: "A", message: "" },
        { type: "ClusterAvailable", status: "True", reason: "C", message: "" },
      ],
      T1,
    );
    expect(input).toEqual(frozen);
    expect(result.conditions.map((c) => c.type)).toEqual(["Ready", "ReconcileSuccess", "ClusterAvailable"]);
    expect(result.transitioned).toEqual(["Ready", "ClusterAvailable"]);
    expect(removeCondition(result.conditions, "Ready").map((c) => c.type)).toEqual(["ReconcileSuccess", "ClusterAvailable"]);
  });
});
