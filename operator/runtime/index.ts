// The operator runtime: what controller-runtime gives a Go operator, on top of client-node.
// See README.md in this directory.
export * from "./apply.js";
export * from "./clients.js";
export * from "./clock.js";
export * from "./conditions.js";
export * from "./controller.js";
export * from "./diff.js";
export * from "./errors.js";
export * from "./events.js";
export * from "./http-server.js";
export * from "./informer.js";
export * from "./keys.js";
export * from "./kube-object.js";
export * from "./leader-election.js";
export * from "./logger.js";
export * from "./manager.js";
export * from "./metrics.js";
export * from "./rate-limiter.js";
export * from "./resource-types.js";
export * from "./status.js";
export * from "./workqueue.js";
