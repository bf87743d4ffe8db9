// Resolution of a cluster reference to a management API connection, and every refusal.
import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { RabbitCluster } from "../../../../operator/api/index.js";
import { Problem } from "../../../../operator/controllers/topology/adapter.js";
import {
  ALLOWED_NAMESPACES_ANNOTATION,
  inClusterEndpoint,
  inClusterFirstNodeEndpoint,
  referenceKey,
  resolveConnection,
  type ConnectionLookups,
} from "../../../../operator/controllers/topology/connection.js";
import { cluster } from "../../fixtures.js";

const secret = (values: Record<string, string>): V1Secret => ({
  data: Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value).toString("base64")])),
});

function lookups(clusters: RabbitCluster[], secrets: Record<string, V1Secret>, watchedNamespaces?: string[]): ConnectionLookups {
  return {
    cluster: (namespace, name) => clusters.find((c) => c.metadata.namespace === namespace && c.metadata.name === name),
    secret: (namespace, name) => secrets[`${namespace}/${name}`],
    clusterEndpoint: inClusterEndpoint("cluster.local"),
    firstNodeEndpoint: inClusterFirstNodeEndpoint("cluster.local"),
    watchedNamespaces,
  };
}

const demo = cluster({}, "demo");
const defaultUser = { "messaging/demo-default-user": secret({ username: "admin", password: "pw" }) };

describe("resolveConnection through a RabbitCluster", () => {
  it("uses the cluster's default user and its client Service; streams its first disc node", () => {
    expect(resolveConnection({ name: "demo" }, "messaging", lookups([demo], defaultUser))).toEqual({
      key: "http://demo.messaging.svc.cluster.local:15672\u0000admin",
      connection: { url: "http://demo.messaging.svc.cluster.local:15672", username: "admin", password: "pw" },
      streamConnection: { url: "http://demo-disc-0.demo-nodes.messaging.svc.cluster.local:15672", username: "admin", password: "pw" },
      description: "RabbitCluster messaging/demo",
    });
  });

  it("says the cluster is missing, being deleted, or has no default user yet", () => {
    expect(resolveConnection({ name: "other" }, "messaging", lookups([demo], defaultUser))).toEqual(
      new Problem("ClusterNotFound", "RabbitCluster messaging/other does not exist", true),
    );
    const deleting = { ...demo, metadata: { ...demo.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } };
    expect(resolveConnection({ name: "demo" }, "messaging", lookups([deleting], defaultUser))).toMatchObject({ reason: "ClusterDeleting", clusterGone: true });
    expect(resolveConnection({ name: "demo" }, "messaging", lookups([demo], {}))).toEqual(
      new Problem("ClusterNotReady", "RabbitCluster messaging/demo has no default user yet (Secret messaging/demo-default-user)"),
    );
  });

  it("allows another namespace only when the cluster's annotation lists it (or *)", () => {
    // Not gone: a deletion waits until the cluster allows it again (or the object is retained).
    expect(resolveConnection({ name: "demo", namespace: "messaging" }, "team-a", lookups([demo], defaultUser))).toMatchObject({
      reason: "ClusterNamespaceNotAllowed",
      clusterGone: false,
    });
    for (const allowed of ["team-a", "team-b, team-a", "*"]) {
      const annotated = { ...demo, metadata: { ...demo.metadata, annotations: { [ALLOWED_NAMESPACES_ANNOTATION]: allowed } } };
      expect(resolveConnection({ name: "demo", namespace: "messaging" }, "team-a", lookups([annotated], defaultUser))).toMatchObject({
        description: "RabbitCluster messaging/demo",
      });
    }
  });

  it("says when the cluster is in a namespace the operator does not watch, which is not the cluster being gone", () => {
    expect(resolveConnection({ name: "demo", namespace: "elsewhere" }, "messaging", lookups([demo], defaultUser, ["messaging"]))).toMatchObject({
      reason: "ClusterNotWatched",
      clusterGone: false,
      message: "RabbitCluster elsewhere/demo is in a namespace the operator does not watch (it watches messaging)",
    });
  });
});

describe("resolveConnection through a connection Secret", () => {
  it("uses the Secret's uri and credentials; a bare host gets http://", () => {
    const secrets = { "messaging/ext": secret({ uri: "rabbit.example.com:15672/", username: "u", password: "p" }) };
    expect(resolveConnection({ connectionSecret: { name: "ext" } }, "messaging", lookups([], secrets))).toEqual({
      key: "http://rabbit.example.com:15672\u0000u",
      connection: { url: "http://rabbit.example.com:15672", username: "u", password: "p" },
      description: "the cluster of Secret messaging/ext",
    });
  });

  it("says what is missing or wrong", () => {
    expect(resolveConnection({ connectionSecret: { name: "ext" } }, "messaging", lookups([], {}))).toEqual(
      new Problem("ConnectionSecretNotFound", "connection Secret messaging/ext does not exist", true),
    );
    const partial = { "messaging/ext": secret({ uri: "http://h:15672" }) };
    expect(resolveConnection({ connectionSecret: { name: "ext" } }, "messaging", lookups([], partial))).toEqual(
      new Problem("InvalidConnectionSecret", "connection Secret messaging/ext lacks username, password"),
    );
    const amqp = { "messaging/ext": secret({ uri: "amqp://h:5672", username: "u", password: "p" }) };
    expect(resolveConnection({ connectionSecret: { name: "ext" } }, "messaging", lookups([], amqp))).toMatchObject({ reason: "InvalidConnectionSecret" });
  });
});

describe("referenceKey", () => {
  it("names the same cluster the same way from any namespace", () => {
    expect(referenceKey({ name: "demo" }, "messaging")).toBe(referenceKey({ name: "demo", namespace: "messaging" }, "team-a"));
    expect(referenceKey({ connectionSecret: { name: "ext" } }, "messaging")).not.toBe(referenceKey({ connectionSecret: { name: "ext" } }, "team-a"));
  });
});
