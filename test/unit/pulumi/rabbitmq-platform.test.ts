// The example stack's program under Pulumi's mocks, with the dev stack's own configuration
// (Pulumi.dev.yaml): what it declares, how it names objects, and that everything of ours is
// deleted before the operator it installs.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { KubernetesNames, rabbitmqPlatform, type PlatformOutputs } from "../../../pulumi/examples/rabbitmq-platform/program.js";
import { REPO_ROOT } from "../../../dev/paths.js";
import { mockEngine, settled, valueOf, type MockEngine } from "./mock-engine.js";

const PROJECT = "rabbitmq-platform";
const CR = (kind: string) => `kubernetes:rabbit.operator.dev/v1alpha1:${kind}`;

/** Pulumi.dev.yaml as the engine hands it to a program: structured values as JSON text. */
function devStackConfig(): Record<string, string> {
  const file = parse(readFileSync(join(REPO_ROOT, "pulumi", "examples", PROJECT, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
  return Object.fromEntries(Object.entries(file.config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]));
}

let engine: MockEngine;
let outputs: PlatformOutputs;

beforeAll(async () => {
  engine = await mockEngine({ project: PROJECT });
  pulumi.runtime.setAllConfig(devStackConfig());
  outputs = await rabbitmqPlatform();
  await settled();
});

describe("pulumi/examples/rabbitmq-platform with the dev stack's configuration", () => {
  it("declares a 3 disc + 2 ram cluster in its namespace, with the configured image", () => {
    const cluster = engine.find(CR("RabbitCluster"), "demo");
    expect(cluster.inputs.metadata).toMatchObject({ name: "demo", namespace: "messaging" });
    expect(cluster.inputs.spec).toMatchObject({ image: "rabbitmq:4.0-management", nodes: { disc: 3, ram: 2 }, persistence: { storage: "10Gi" } });
    expect(engine.find("kubernetes:core/v1:Namespace", "namespace").inputs).toMatchObject({ metadata: { name: "messaging" } });
  });

  it("declares the topology of the configuration, in the cluster, named after RabbitMQ names", () => {
    const named = (kind: string) =>
      engine
        .ofType(CR(kind))
        .map((registration) => registration.name)
        .sort();
    expect(named("Vhost")).toEqual(["vhost-billing", "vhost-orders"]);
    expect(named("User")).toEqual(["user-billing-service", "user-ops", "user-orders-service"]);
    expect(named("Permission")).toEqual(["permission-billing-service-billing", "permission-ops-orders", "permission-orders-service-orders"]);
    expect(named("Queue")).toEqual(["queue-billing-audit", "queue-billing-invoices", "queue-orders-orders.created", "queue-orders-orders.shipped"]);
    expect(named("Exchange")).toEqual(["exchange-orders-orders"]);
    expect(named("Binding")).toEqual(["binding-orders-orders-orders.created-order.created", "binding-orders-orders-orders.shipped-order.shipped"]);
    expect(named("Policy")).toEqual(["policy-billing-audit-retention", "policy-orders-orders-limits"]);
    for (const kind of ["Vhost", "User", "Permission", "Queue", "Exchange", "Binding", "Policy"]) {
      for (const object of engine.ofType(CR(kind))) {
        expect(object.inputs, object.name).toMatchObject({
          metadata: { namespace: "messaging" },
          spec: { rabbitmqClusterReference: { name: "demo", namespace: "messaging" } },
        });
      }
    }
    expect(engine.find(CR("User"), "user-ops").inputs.spec).toMatchObject({ username: "ops", tags: ["administrator"] });
    expect(engine.find(CR("Queue"), "queue-billing-audit").inputs.spec).toMatchObject({ name: "audit", vhost: "billing", type: "stream", durable: true });
    expect(engine.find(CR("Policy"), "policy-orders-orders-limits").inputs.spec).toMatchObject({
      pattern: "^orders\\.",
      applyTo: "quorum_queues",
      priority: 0,
      definition: { "max-length": 100000, "delivery-limit": 20 },
    });
  });

  it("references the stack's users, vhosts, queues and exchanges by object, so that they come first and go last", () => {
    const urn = (kind: string, name: string) => engine.find(CR(kind), name).urn;
    const permission = engine.find(CR("Permission"), "permission-orders-service-orders");
    expect(permission.inputs.spec).toMatchObject({
      userReference: { name: "user-orders-service" },
      vhost: "orders",
      permissions: { configure: "", write: ".*", read: ".*" },
    });
    expect(permission.dependencies).toEqual(expect.arrayContaining([urn("User", "user-orders-service"), urn("Vhost", "vhost-orders")]));
    const binding = engine.find(CR("Binding"), "binding-orders-orders-orders.created-order.created");
    expect(binding.inputs.spec).toMatchObject({ source: "orders", destination: "orders.created", destinationType: "queue", routingKey: "order.created" });
    expect(binding.dependencies).toEqual(
      expect.arrayContaining([urn("Exchange", "exchange-orders-orders"), urn("Queue", "queue-orders-orders.created"), urn("Vhost", "vhost-orders")]),
    );
    expect(engine.find(CR("Queue"), "queue-orders-orders.created").dependencies).toContain(urn("Vhost", "vhost-orders"));
  });

  it("makes every object of ours depend on the operator install, so that destroy removes them while it runs", () => {
    const release = engine.find("kubernetes:helm.sh/v3:Release", "rabbit-operator");
    expect(release.inputs).toMatchObject({ namespace: "rabbit-operator", skipAwait: false });
    const ours = engine.registrations.filter((registration) => registration.type.startsWith("kubernetes:rabbit.operator.dev/"));
    expect(ours).toHaveLength(18);
    for (const object of [...ours, engine.find("kubernetes:core/v1:Namespace", "namespace")]) expect(object.dependencies, object.name).toContain(release.urn);
  });

  it("outputs the endpoints and the credentials Secret names", async () => {
    expect(await valueOf(outputs.endpoints)).toEqual({
      amqp: "amqp://demo.messaging.svc.cluster.local:5672",
      management: "http://demo.messaging.svc.cluster.local:15672",
    });
    expect(await valueOf(outputs.defaultUserSecret)).toBe("demo-default-user");
    expect(await valueOf(outputs.topologyTarget)).toBe("RabbitCluster demo");
    expect(await valueOf(pulumi.output(outputs.userCredentialsSecrets))).toEqual({
      "orders-service": "user-orders-service-user-credentials",
      "billing-service": "user-billing-service-user-credentials",
      ops: "user-ops-user-credentials",
    });
    expect(outputs.queues).toEqual(["orders/orders.created", "orders/orders.shipped", "billing/invoices", "billing/audit"]);
  });
});

describe("KubernetesNames", () => {
  it("makes DNS-1123 names from RabbitMQ names and refuses to give one name twice", () => {
    const names = new KubernetesNames();
    expect(names.claim("queue", "/", "Orders_Created")).toBe("queue-default-orders-created");
    expect(names.claim("queue", "orders", "jobs.high")).toBe("queue-orders-jobs.high");
    expect(() => names.claim("queue", "/", "orders created")).toThrow("two queue objects would both be named queue-default-orders-created");
  });
});
