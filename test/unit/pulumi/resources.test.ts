// The components' logic under Pulumi's mocks: names, type tokens, the spec sent to Kubernetes
// (defaults applied, the cluster reference filled in), dependencies, and the options that make
// updates and deletes behave (replaceOnChanges, deleteBeforeReplace, retainOnDelete).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { API_VERSION, DEFAULT_IMAGE } from "../../../operator/api/index.js";
import {
  ExternalRabbitCluster,
  Permission,
  Queue,
  RabbitCluster,
  RabbitOperator,
  User,
  Vhost,
  WAIT_FOR_ANNOTATION,
  WAIT_FOR_READY,
} from "../../../pulumi/index.js";
import { mockEngine, registered, secretValue, valueOf, type MockEngine } from "./mock-engine.js";

const CR = (kind: string) => `kubernetes:rabbit.operator.dev/v1alpha1:${kind}`;

let engine: MockEngine;
beforeAll(async () => {
  engine = await mockEngine();
});

describe("RabbitCluster", () => {
  it("sends the spec with the schema's defaults, names the object after the resource, and derives what clients need", async () => {
    const cluster = new RabbitCluster("alpha", {
      metadata: { namespace: "messaging" },
      spec: { nodes: { disc: 3, ram: 2 }, persistence: { storageClassName: "fast" } },
    });
    await registered(cluster, cluster.resource);

    const component = engine.find("rabbit-operator:index:RabbitCluster", "alpha");
    const object = engine.find(CR("RabbitCluster"), "alpha");
    expect(object.parent).toBe(component.urn);
    expect(object.inputs).toMatchObject({
      apiVersion: API_VERSION,
      kind: "RabbitCluster",
      metadata: { name: "alpha", namespace: "messaging", annotations: { [WAIT_FOR_ANNOTATION]: WAIT_FOR_READY } },
    });
    expect(object.inputs.spec).toMatchObject({
      image: DEFAULT_IMAGE,
      nodes: { disc: 3, ram: 2 },
      persistence: { storageClassName: "fast", storage: "10Gi", whenDeleted: "Retain" },
      service: { type: "ClusterIP" },
      terminationGracePeriodSeconds: 604800,
    });
    expect(await valueOf(cluster.clusterReference)).toEqual({ name: "alpha", namespace: "messaging" });
    expect(await valueOf(cluster.defaultUserSecretName)).toBe("alpha-default-user");
    expect(await valueOf(cluster.clientServiceName)).toBe("alpha");
    expect(await valueOf(cluster.endpoints)).toEqual({
      amqp: "amqp://alpha.messaging.svc.cluster.local:5672",
      management: "http://alpha.messaging.svc.cluster.local:15672",
    });
  });

  it("sends no annotations at all when not waiting (an empty map would differ from the stored object on every preview)", async () => {
    const cluster = new RabbitCluster("no-wait", { metadata: { name: "beta", namespace: "messaging" }, spec: {}, waitForReady: false });
    await registered(cluster, cluster.resource);
    const object = engine.find(CR("RabbitCluster"), "no-wait");
    expect(object.inputs.metadata).toEqual({ name: "beta", namespace: "messaging" });
    expect(object.inputs.spec).toMatchObject({ nodes: { disc: 1, ram: 0 } });
  });
});

describe("topology objects", () => {
  it("take the cluster's reference and namespace, apply defaults, wait for Ready, and depend on the cluster", async () => {
    const cluster = new RabbitCluster("gamma", { metadata: { namespace: "team-a" }, spec: { nodes: { disc: 1 } } });
    const queue = new Queue("jobs", { cluster, spec: { name: "jobs", type: "quorum" } });
    await registered(cluster.resource, queue, queue.resource);

    const component = engine.find("rabbit-operator:index:Queue", "jobs");
    const object = engine.find(CR("Queue"), "jobs");
    expect(object.parent).toBe(component.urn);
    expect(object.inputs).toMatchObject({
      kind: "Queue",
      metadata: { name: "jobs", namespace: "team-a", annotations: { [WAIT_FOR_ANNOTATION]: WAIT_FOR_READY } },
    });
    expect(object.inputs.spec).toEqual({
      name: "jobs",
      vhost: "/",
      type: "quorum",
      durable: true,
      autoDelete: false,
      deletionPolicy: "delete",
      rabbitmqClusterReference: { name: "gamma", namespace: "team-a" },
    });
    expect(object.dependencies).toContain(engine.find(CR("RabbitCluster"), "gamma").urn);
    // Changing an immutable field replaces the object, the old one first (same name).
    expect([...object.replaceOnChanges].sort()).toEqual([
      "spec.autoDelete",
      "spec.durable",
      "spec.name",
      "spec.rabbitmqClusterReference",
      "spec.type",
      "spec.vhost",
    ]);
    expect(object.deleteBeforeReplace).toBe(true);
  });

  it("honour an explicit name, namespace and annotations, and can skip waiting", async () => {
    const cluster = new RabbitCluster("delta", { metadata: { namespace: "ns" }, spec: {} });
    const vhost = new Vhost("vh", {
      cluster,
      metadata: { name: "orders-vhost", namespace: "other", annotations: { team: "orders" } },
      spec: { name: "orders" },
      waitForReady: false,
    });
    await registered(vhost.resource);
    const object = engine.find(CR("Vhost"), "vh");
    expect(object.inputs.metadata).toEqual({ name: "orders-vhost", namespace: "other", annotations: { team: "orders" } });
    expect(object.inputs.spec).toMatchObject({ name: "orders", tracing: false, deletionPolicy: "delete" });
  });

  it("link permissions to users and vhosts through their outputs, so that they are created after both", async () => {
    const cluster = new RabbitCluster("epsilon", { metadata: { namespace: "ns" }, spec: {} });
    const vhost = new Vhost("epsilon-vhost", { cluster, spec: { name: "orders" } });
    const user = new User("epsilon-user", { cluster, spec: { tags: ["monitoring"] } });
    const permission = new Permission("epsilon-permission", {
      cluster,
      spec: { vhost: vhost.spec.name, userReference: { name: user.name }, permissions: { read: ".*" } },
    });
    await registered(permission.resource);
    const object = engine.find(CR("Permission"), "epsilon-permission");
    expect(object.inputs.spec).toMatchObject({
      vhost: "orders",
      userReference: { name: "epsilon-user" },
      permissions: { configure: "", write: "", read: ".*" },
    });
    expect(object.dependencies).toEqual(expect.arrayContaining([engine.find(CR("Vhost"), "epsilon-vhost").urn, engine.find(CR("User"), "epsilon-user").urn]));
    expect(await valueOf(user.credentialsSecretName)).toBe("epsilon-user-user-credentials");
  });

  it("pass the component's dependsOn on to the custom resource", async () => {
    const operator = new RabbitOperator("zeta-operator", { waitForReady: false });
    const cluster = new RabbitCluster("zeta", { metadata: { namespace: "ns" }, spec: {} }, { dependsOn: [operator] });
    const queue = new Queue("zeta-queue", { cluster, spec: { name: "q" } }, { dependsOn: [operator] });
    await registered(queue.resource, cluster.resource);
    const release = engine.find("kubernetes:helm.sh/v3:Release", "zeta-operator");
    const crds = engine.ofType("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition").filter((crd) => crd.name.startsWith("zeta-operator-"));
    expect(crds).toHaveLength(8);
    for (const object of [engine.find(CR("Queue"), "zeta-queue"), engine.find(CR("RabbitCluster"), "zeta")]) {
      expect(object.dependencies).toEqual(expect.arrayContaining([release.urn, ...crds.map((crd) => crd.urn)]));
    }
  });

  it("go to an external cluster through its connection Secret, in that Secret's namespace", async () => {
    const external = new ExternalRabbitCluster("legacy", {
      metadata: { namespace: "apps" },
      uri: "http://rabbitmq.legacy:15672",
      username: "admin",
      password: "s3cret",
    });
    const queue = new Queue("legacy-jobs", { cluster: external, spec: { name: "jobs", vhost: "apps" } });
    await registered(queue.resource);
    const secret = engine.find("kubernetes:core/v1:Secret", "legacy");
    expect(secret.inputs).toMatchObject({ metadata: { name: "legacy", namespace: "apps" }, type: "Opaque" });
    // The password makes the whole of stringData a secret in Pulumi's state.
    expect(secret.inputs.stringData).toEqual(secretValue({ uri: "http://rabbitmq.legacy:15672", username: "admin", password: "s3cret" }));
    const object = engine.find(CR("Queue"), "legacy-jobs");
    expect(object.inputs).toMatchObject({ metadata: { namespace: "apps" }, spec: { rabbitmqClusterReference: { connectionSecret: { name: "legacy" } } } });
    expect(object.dependencies).toContain(secret.urn);
  });

  it("accept an explicit cluster reference instead of a cluster, and refuse both or neither", async () => {
    const explicit = new Queue("explicit", { metadata: { namespace: "ns" }, spec: { name: "q", rabbitmqClusterReference: { name: "elsewhere" } } });
    await registered(explicit.resource);
    expect(engine.find(CR("Queue"), "explicit").inputs.spec).toMatchObject({ rabbitmqClusterReference: { name: "elsewhere" } });

    const cluster = new RabbitCluster("eta", { metadata: { namespace: "ns" }, spec: {} });
    expect(() => new Queue("both", { cluster, spec: { name: "q", rabbitmqClusterReference: { name: "eta" } } })).toThrow(
      "Queue both: give either `cluster` or spec.rabbitmqClusterReference, not both",
    );
    expect(() => new Queue("neither", { spec: { name: "q" } })).toThrow("Queue neither: needs `cluster` or spec.rabbitmqClusterReference");
  });
});

describe("RabbitOperator", () => {
  it("installs the CRDs of every kind (kept on destroy by default), a namespace and the chart, the chart after the CRDs", async () => {
    const operator = new RabbitOperator("install", { namespace: "ops", waitForReady: false, values: { logLevel: "debug" } });
    await registered(operator.release);
    const crds = engine.ofType("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition").filter((crd) => crd.name.startsWith("install-"));
    expect(crds.map((crd) => (crd.inputs.metadata as { name: string }).name).sort()).toEqual(
      ["bindings", "exchanges", "permissions", "policies", "queues", "rabbitclusters", "users", "vhosts"].map((plural) => `${plural}.rabbit.operator.dev`),
    );
    for (const crd of crds) {
      expect(crd.parent).toBe(engine.find("rabbit-operator:index:RabbitOperator", "install").urn);
      expect(crd.retainOnDelete).toBe(true);
      // The SDK's spelling of x-kubernetes-* keys; the provider sends them with dashes.
      expect(JSON.stringify(crd.inputs)).not.toContain('"x-kubernetes-');
    }
    expect(JSON.stringify(crds.find((crd) => crd.name === "install-queues")!.inputs)).toContain('"x_kubernetes_validations"');

    expect(engine.find("kubernetes:core/v1:Namespace", "install").inputs).toEqual({ apiVersion: "v1", kind: "Namespace", metadata: { name: "ops" } });
    const release = engine.find("kubernetes:helm.sh/v3:Release", "install");
    expect(release.inputs).toMatchObject({ name: "rabbit-operator", namespace: "ops", skipCrds: true, skipAwait: true, values: { logLevel: "debug" } });
    expect(existsSync(join(release.inputs.chart as string, "Chart.yaml"))).toBe(true);
    expect(release.dependencies).toEqual(expect.arrayContaining(crds.map((crd) => crd.urn)));
  });

  it("deletes the CRDs on destroy only when told to, and can use an existing namespace", async () => {
    const operator = new RabbitOperator("install-2", { namespace: "existing", createNamespace: false, retainCrds: false });
    await registered(operator.release);
    const crds = engine.ofType("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition").filter((crd) => crd.name.startsWith("install-2-"));
    expect(crds.every((crd) => crd.retainOnDelete !== true)).toBe(true);
    expect(engine.ofType("kubernetes:core/v1:Namespace").filter((ns) => ns.name === "install-2")).toEqual([]);
    expect(engine.find("kubernetes:helm.sh/v3:Release", "install-2").inputs).toMatchObject({ namespace: "existing", skipAwait: false });
  });
});
