import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { copiedPaths } from "../../../dev/images/operator-image.js";

describe("the operator image's build context", () => {
  it("is what the repository's Dockerfile copies, read from the Dockerfile (stage copies left out)", () => {
    const dockerfile = readFileSync(new URL("../../../Dockerfile", import.meta.url), "utf8");
    expect(copiedPaths(dockerfile)).toEqual(["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "operator"]);
  });

  it("takes every source of a COPY and no option", () => {
    expect(copiedPaths("FROM x\nCOPY --chown=1:1 a b ./\ncopy c /d\nCOPY --from=build /src/e ./e\n")).toEqual(["a", "b", "c"]);
  });
});
