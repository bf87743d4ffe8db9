// Builds CustomResourceDefinitions from the kind catalogue. crds/ is this module's output.
import type { V1CustomResourceDefinition } from "@kubernetes/client-node";
import { GROUP, VERSION } from "./common.js";
import type { KindDefinition } from "./kinds.js";
import { toStructuralSchema } from "./schema.js";

export const CATEGORY = "rabbitmq";

export function buildCrd(def: KindDefinition): V1CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${def.plural}.${GROUP}`,
      labels: { "app.kubernetes.io/name": "rabbit-operator", "app.kubernetes.io/part-of": "rabbit-operator" },
    },
    spec: {
      group: GROUP,
      names: { kind: def.kind, listKind: `${def.kind}List`, plural: def.plural, singular: def.singular, shortNames: def.shortNames, categories: [CATEGORY] },
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: def.description,
              required: ["spec"],
              properties: {
                apiVersion: { type: "string", description: "APIVersion defines the versioned schema of this representation of an object." },
                kind: { type: "string", description: "Kind is a string value representing the REST resource this object represents." },
                metadata: { type: "object" },
                spec: toStructuralSchema(def.spec),
                status: toStructuralSchema(def.status),
              },
            },
          },
        },
      ],
    },
  } as V1CustomResourceDefinition;
}
