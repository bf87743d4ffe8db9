import { describe, expect, it } from "vitest";
import { mergeOverride } from "../../../operator/resources/override.js";

describe("mergeOverride", () => {
  const base = {
    spec: {
      replicas: 3,
      containers: [
        { name: "a", image: "x", env: [{ name: "ONE", value: "1" }] },
        { name: "b", image: "y" },
      ],
      args: ["--one"],
    },
  };

  it("returns the base when there is no patch", () => {
    expect(mergeOverride(base, undefined)).toBe(base);
  });

  it("merges objects and named lists item by item", () => {
    const merged = mergeOverride(base, {
      spec: {
        containers: [
          { name: "a", env: [{ name: "TWO", value: "2" }] },
          { name: "c", image: "z" },
        ],
      },
    });
    expect(merged.spec.containers).toEqual([
      {
        name: "a",
        image: "x",
        env: [
          { name: "ONE", value: "1" },
          { name: "TWO", value: "2" },
        ],
      },
      { name: "b", image: "y" },
      { name: "c", image: "z" },
    ]);
    expect(merged.spec.replicas).toBe(3);
  });

  it("replaces scalars and unnamed lists, and removes keys set to null", () => {
    const merged = mergeOverride(base, { spec: { replicas: 1, args: ["--two"], containers: null } });
    expect(merged.spec).toEqual({ replicas: 1, args: ["--two"] });
  });

  it("does not modify its inputs", () => {
    const copy = structuredClone(base);
    mergeOverride(base, { spec: { containers: [{ name: "a", image: "changed" }] } });
    expect(base).toEqual(copy);
  });
});
