// rabbit-operator's Pulumi library: install the operator (RabbitOperator) and declare clusters and
// topology as typed resources whose inputs come from the CRDs' own schemas (operator/api).
export * from "./inputs.js";
export * from "./operator.js";
export * from "./resources.js";
