// Golden files: every builder's complete output for a cluster that uses every feature. A change
// to a builder shows up as a YAML diff of test/unit/resources/golden/ in review.
// Regenerate with `npm run test:update-golden` and read the diff.
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { buildChildren } from "../../../operator/resources/index.js";
import { cluster, context, fullCluster } from "../fixtures.js";

function golden(name: string) {
  return `./golden/${name}.yaml`;
}

describe("builders (golden files)", () => {
  for (const [fixtureName, fixture] of [
    ["full", fullCluster()],
    ["minimal", cluster()],
  ] as const) {
    for (const child of buildChildren(fixture, context)) {
      const name = `${fixtureName}/${child.kind}-${child.metadata?.name}`;
      it(name, async () => {
        await expect(stringify(child, { lineWidth: 0, aliasDuplicateObjects: false })).toMatchFileSnapshot(golden(name));
      });
    }
  }
});
