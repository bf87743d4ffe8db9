export * from "./common.js";
export * from "./rabbit-cluster.js";
export * from "./topology.js";
export * from "./kinds.js";
export { buildCrd } from "./crd.js";
export { withDefaults } from "./defaults.js";
