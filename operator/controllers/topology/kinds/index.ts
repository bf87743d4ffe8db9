// Every topology kind's adapter, once: the controllers, the dependency watches and the drift
// detector are all made from this list (topology/index.ts), so a kind is added here and nowhere else.
import type { TopologyAdapter, TopologyResource } from "../adapter.js";
import { bindingAdapter } from "./binding.js";
import { exchangeAdapter } from "./exchange.js";
import { permissionAdapter } from "./permission.js";
import { policyAdapter } from "./policy.js";
import { queueAdapter } from "./queue.js";
import { userAdapter } from "./user.js";
import { vhostAdapter } from "./vhost.js";

/** An adapter of some kind, its types forgotten: the wiring only passes each kind's objects to its own adapter. */
export type AnyTopologyAdapter = TopologyAdapter<TopologyResource, unknown, unknown>;

export const TOPOLOGY_ADAPTERS: readonly AnyTopologyAdapter[] = [
  vhostAdapter,
  userAdapter,
  permissionAdapter,
  queueAdapter,
  exchangeAdapter,
  bindingAdapter,
  policyAdapter,
];
