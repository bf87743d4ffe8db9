// The generated CRD files, by file name. Used by scripts/gen-crds.ts and by the test that checks crds/.
import { stringify } from "yaml";
import { buildCrd } from "./crd.js";
import { ALL_KINDS } from "./kinds.js";

const HEADER = "# Generated from operator/api by `npm run gen:crds`. Do not edit.\n";

export function renderCrdFiles(): Map<string, string> {
  return new Map(
    ALL_KINDS.map((def) => {
      const crd = buildCrd(def);
      return [`${crd.metadata?.name}.yaml`, HEADER + stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false })];
    }),
  );
}
