import { describe, expect, it } from "vitest";
import { isFirstFormation } from "../../../operator/controllers/rabbit-cluster/formation.js";
import { buildServerConfigMap } from "../../../operator/resources/server-config.js";
import { PEERS_KEY } from "../../../operator/resources/rabbitmq-config.js";
import { cluster, context } from "../fixtures.js";

const c = cluster({ nodes: { disc: 3, ram: 2 } });
const seedingPeers = buildServerConfigMap(c, { ...context, seeding: true }).data![PEERS_KEY];
const fullPeers = buildServerConfigMap(c, context).data![PEERS_KEY];

describe("first formation of a cluster", () => {
  it("is a first formation when the cluster has no pod and no volume anywhere", () => {
    expect(isFirstFormation({ hasData: false, peersConf: undefined, firstDiscNodeReady: false })).toBe(true);
    // Every pod and volume deleted by hand: nothing to join, a new cluster starts.
    expect(isFirstFormation({ hasData: false, peersConf: fullPeers, firstDiscNodeReady: false })).toBe(true);
  });

  it("stays one, across reconciles and operator restarts, while the seeding peers stand and the first disc node is not Ready", () => {
    expect(isFirstFormation({ hasData: true, peersConf: seedingPeers, firstDiscNodeReady: false })).toBe(true);
  });

  it("ends once the first disc node is Ready", () => {
    expect(isFirstFormation({ hasData: true, peersConf: seedingPeers, firstDiscNodeReady: true })).toBe(false);
  });

  it("is never one for a cluster with data whose peers are not the seeding ones (retained volumes, a lost ConfigMap, a formed cluster)", () => {
    expect(isFirstFormation({ hasData: true, peersConf: undefined, firstDiscNodeReady: false })).toBe(false);
    expect(isFirstFormation({ hasData: true, peersConf: fullPeers, firstDiscNodeReady: false })).toBe(false);
    expect(isFirstFormation({ hasData: true, peersConf: fullPeers, firstDiscNodeReady: true })).toBe(false);
  });
});
