// The RabbitCluster controller against a real API server (and kube-controller-manager's garbage
// collector). No kubelet runs here: pods never start, so this tier proves the Kubernetes side
// (children, owner references, status, no needless writes, refusals, deletion); the RabbitMQ side
// is proven end to end on the kind cluster.
import { PatchStrategy, setHeaderOptions, type V1StatefulSet } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { API_VERSION, type RabbitCluster } from "../../../operator/api/index.js";
import { addRabbitClusterController } from "../../../operator/controllers/rabbit-cluster/index.js";
import type { ClusterManagement } from "../../../operator/controllers/rabbit-cluster/management-port.js";
import { createLogger } from "../../../operator/runtime/logger.js";
import { Manager } from "../../../operator/runtime/manager.js";
import { waitFor } from "../../../dev/exec.js";
import { apply, createNamespace, installCrds, kubeClients, type KubeClients } from "../../../dev/kube.js";
import { SecretLeakScanner, eventTexts, logTexts } from "../../support/secret-leaks.js";
import { writeRecorder } from "../runtime/helpers.js";

let clients: KubeClients;
let namespace: { name: string; remove(): Promise<void> };
let manager: Manager;
const recorder = writeRecorder();
const managementCalls: string[] = [];
/** Everything the operator logs, at its most verbose level. */
const logLines: string[] = [];

/** No pod ever runs here, so the controller must never need the management API. */
const unreachableManagement = (): ClusterManagement => {
  const fail = async (what: string): Promise<never> => {
    managementCalls.push(what);
    throw new Error("no management API in this tier");
  };
  return {
    nodes: () => fail("nodes"),
    runtime: () => fail("runtime"),
    durableClassicQueuesOn: () => fail("durableClassicQueuesOn"),
    quorumQueues: () => fail("quorumQueues"),
    vhostsWithStreams: () => fail("vhostsWithStreams"),
    policies: () => fail("policies"),
    putPolicy: () => fail("putPolicy"),
    deletePolicy: () => fail("deletePolicy"),
  };
};

beforeAll(async () => {
  clients = kubeClients(inject("kubeconfig"));
  await installCrds(clients);
  namespace = await createNamespace(clients, "rc");
  manager = new Manager({
    kubeConfig: clients.kc,
    namespaces: [namespace.name],
    leaderElection: false,
    clientMiddleware: [recorder.middleware],
    logger: createLogger({ level: "debug", write: (line) => logLines.push(line) }),
  });
  addRabbitClusterController(manager, { kubeConfig: clients.kc, clusterDomain: "cluster.local", management: unreachableManagement });
  await manager.start();
});

afterAll(async () => {
  await manager?.stop();
  await namespace?.remove();
});

const clusterObject = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: API_VERSION,
  kind: "RabbitCluster",
  metadata: { name, namespace: namespace.name },
  spec: { image: "localhost/rabbit-operator/rabbitmq:3.10.8", terminationGracePeriodSeconds: 60, ...spec },
});

async function getCluster(name: string): Promise<RabbitCluster> {
  return (await clients.objects.read({
    apiVersion: API_VERSION,
    kind: "RabbitCluster",
    metadata: { name, namespace: namespace.name },
  })) as unknown as RabbitCluster;
}

async function getStatefulSet(name: string): Promise<V1StatefulSet | undefined> {
  try {
    return (await clients.objects.read({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name, namespace: namespace.name } })) as V1StatefulSet;
  } catch {
    return undefined;
  }
}

async function secretValues(name: string): Promise<Record<string, string> | undefined> {
  try {
    const secret = await clients.core.readNamespacedSecret({ name, namespace: namespace.name });
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, "base64").toString("utf8")]));
  } catch {
    return undefined;
  }
}

const condition = (cluster: RabbitCluster, type: string) => cluster.status?.conditions?.find((c) => c.type === type);

describe("RabbitCluster controller", () => {
  it("creates every child, owned by the cluster, and reports status", async () => {
    await apply(clients, clusterObject("alpha", { nodes: { disc: 3, ram: 2 } }));
    await waitFor("status with conditions", async () => (await getCluster("alpha")).status?.observedGeneration === 1, { timeoutMs: 30_000 });
    const cluster = await getCluster("alpha");

    const children = [
      ["v1", "ServiceAccount", "alpha-server"],
      ["v1", "ConfigMap", "alpha-server-conf"],
      ["v1", "Service", "alpha-nodes"],
      ["v1", "Service", "alpha"],
      ["apps/v1", "StatefulSet", "alpha-disc"],
      ["apps/v1", "StatefulSet", "alpha-ram"],
      ["policy/v1", "PodDisruptionBudget", "alpha-server"],
    ] as const;
    for (const [apiVersion, kind, name] of children) {
      const child = await clients.objects.read({ apiVersion, kind, metadata: { name, namespace: namespace.name } });
      expect(child.metadata?.ownerReferences, `${kind}/${name}`).toEqual([
        expect.objectContaining({ kind: "RabbitCluster", name: "alpha", uid: cluster.metadata.uid, controller: true }),
      ]);
      expect(
        child.metadata?.managedFields?.some((f) => f.manager === "rabbit-operator" && f.operation === "Apply"),
        `${kind}/${name} applied by rabbit-operator`,
      ).toBe(true);
    }
    // The credentials go with the volumes, which are retained by default: nobody owns them.
    for (const name of ["alpha-erlang-cookie", "alpha-default-user"]) {
      const secret = await clients.core.readNamespacedSecret({ name, namespace: namespace.name });
      expect(secret.metadata?.ownerReferences, name).toBeUndefined();
      expect(secret.metadata?.labels?.["app.kubernetes.io/instance"]).toBe("alpha");
    }
    expect((await getStatefulSet("alpha-disc"))!.spec!.replicas).toBe(3);
    expect((await getStatefulSet("alpha-ram"))!.spec!.replicas).toBe(2);

    expect(condition(cluster, "ReconcileSuccess")).toMatchObject({ status: "True", observedGeneration: 1 });
    expect(condition(cluster, "AllReplicasReady")).toMatchObject({ status: "False", reason: "NotAllPodsReady", message: "0/3 disc, 0/2 ram nodes ready" });
    expect(condition(cluster, "ClusterAvailable")).toMatchObject({
      status: "False",
      reason: "ManagementAPIUnreachable",
      message: "no RabbitMQ node is ready yet",
    });
    expect(condition(cluster, "Ready")).toMatchObject({ status: "False" });
    expect(cluster.status?.endpoints).toEqual({
      amqp: `amqp://alpha.${namespace.name}.svc.cluster.local:5672`,
      management: `http://alpha.${namespace.name}.svc.cluster.local:15672`,
    });
    expect(cluster.status?.defaultUser?.secretReference.name).toBe("alpha-default-user");
    expect(managementCalls).toEqual([]);
  });

  it("writes nothing when nothing changed", async () => {
    const before = await getCluster("alpha");
    const cookie = await clients.objects.read({ apiVersion: "v1", kind: "Secret", metadata: { name: "alpha-erlang-cookie", namespace: namespace.name } });
    recorder.reset();
    // A metadata-only change makes the controller reconcile again, with nothing to do.
    await apply(clients, {
      ...clusterObject("alpha", { nodes: { disc: 3, ram: 2 } }),
      metadata: { name: "alpha", namespace: namespace.name, annotations: { touched: "1" } },
    });
    const reconciles = async () => {
      const metric = await manager.metrics.registry.getSingleMetric("controller_runtime_reconcile_total")!.get();
      return metric.values.filter((v) => v.labels.controller === "rabbitcluster").reduce((sum, v) => sum + v.value, 0);
    };
    const start = await reconciles();
    await waitFor("another reconcile", async () => (await reconciles()) > start, { timeoutMs: 15_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(recorder.writes).toEqual([]);
    const after = await getCluster("alpha");
    expect(after.metadata.resourceVersion).not.toBe(before.metadata.resourceVersion); // our own annotation
    expect(after.status).toEqual(before.status);
    const cookieAfter = await clients.objects.read({ apiVersion: "v1", kind: "Secret", metadata: { name: "alpha-erlang-cookie", namespace: namespace.name } });
    expect(cookieAfter.metadata?.resourceVersion).toBe(cookie.metadata?.resourceVersion);
  });

  it("never writes a secret value to its log, Events or status, even while repairing a tampered Secret", async () => {
    const secretData = async (name: string) => (await clients.core.readNamespacedSecret({ name, namespace: namespace.name })).data ?? {};
    const original = await secretData("alpha-default-user");
    const scanner = new SecretLeakScanner();
    scanner.addSecretData("alpha-default-user", original, ["password", "connection_string", "default_user.conf"]);
    scanner.addSecretData("alpha-erlang-cookie", await secretData("alpha-erlang-cookie"));
    expect(scanner.size).toBe(4);

    // Someone edits the Secret by hand: the operator puts the connection string back, and the
    // log line saying so is where the values used to be printed.
    const tampered = Buffer.from("amqp://tampered:tampered@example.invalid:5672/").toString("base64");
    await clients.core.patchNamespacedSecret(
      { name: "alpha-default-user", namespace: namespace.name, body: { data: { connection_string: tampered } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await waitFor("the connection string restored", async () => (await secretData("alpha-default-user")).connection_string === original.connection_string, {
      timeoutMs: 30_000,
    });
    expect(
      logLines.some((line) => line.includes('"msg":"applied"') && line.includes("alpha-default-user")),
      "the repair was logged",
    ).toBe(true);

    const cluster = await getCluster("alpha");
    const events = await eventTexts(clients.objects, [namespace.name]);
    const leaks = scanner.scan([...logTexts(logLines), ...events, { where: "status", text: JSON.stringify(cluster.status) }]);
    expect(leaks).toEqual([]);
    console.log(
      `secret scan: ${scanner.size} secret values (and their base64) searched in ${logLines.length} log lines, ${events.length} Events and the status: none found`,
    );
  });

  it("scales up at once, and never scales down without draining a node first", async () => {
    await apply(clients, clusterObject("alpha", { nodes: { disc: 5, ram: 2 } }));
    await waitFor("disc StatefulSet at 5", async () => (await getStatefulSet("alpha-disc"))?.spec?.replicas === 5, { timeoutMs: 15_000 });
    await apply(clients, clusterObject("alpha", { nodes: { disc: 3, ram: 0 } }));
    await waitFor("generation 3 reconciled", async () => (await getCluster("alpha")).status?.observedGeneration === 3, { timeoutMs: 15_000 });
    // No node is ready, so no node can be drained and forgotten: the replicas stay.
    expect((await getStatefulSet("alpha-disc"))!.spec!.replicas).toBe(5);
    expect((await getStatefulSet("alpha-ram"))!.spec!.replicas).toBe(2);
  });

  it("rolls configuration changes through the pod template, not through scaling", async () => {
    const hash = (await getStatefulSet("alpha-disc"))!.spec!.template.metadata!.annotations!["rabbit.operator.dev/config-hash"];
    await apply(clients, clusterObject("alpha", { nodes: { disc: 3, ram: 0 }, rabbitmq: { additionalConfig: "consumer_timeout = 3600000" } }));
    await waitFor(
      "new config hash",
      async () => (await getStatefulSet("alpha-disc"))!.spec!.template.metadata!.annotations!["rabbit.operator.dev/config-hash"] !== hash,
      { timeoutMs: 15_000 },
    );
    const configMap = await clients.objects.read({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "alpha-server-conf", namespace: namespace.name } });
    expect((configMap as { data: Record<string, string> }).data["additional.conf"]).toBe("consumer_timeout = 3600000\n");
  });

  it("refuses what it cannot run with a condition and an event, and keeps what runs", async () => {
    await apply(clients, clusterObject("beta", { image: "rabbitmq:4.2-management", nodes: { disc: 1, ram: 1 } }));
    await waitFor("ReconcileSuccess=False", async () => condition(await getCluster("beta"), "ReconcileSuccess")?.status === "False", { timeoutMs: 15_000 });
    const cluster = await getCluster("beta");
    expect(condition(cluster, "ReconcileSuccess")).toMatchObject({ reason: "RamNodesUnsupported", message: expect.stringContaining("4.2") });
    expect(condition(cluster, "Ready")).toMatchObject({ status: "False", reason: "RamNodesUnsupported" });
    expect(await getStatefulSet("beta-ram")).toBeUndefined();
    await waitFor(
      "a Warning event",
      async () => {
        const events = await clients.objects.list("events.k8s.io/v1", "Event", namespace.name);
        return events.items.some(
          (e) =>
            (e as { reason?: string; regarding?: { name?: string } }).reason === "RamNodesUnsupported" &&
            (e as { regarding?: { name?: string } }).regarding?.name === "beta",
        );
      },
      { timeoutMs: 15_000 },
    );
  });

  it("keeps the default user and the cookie of a deleted cluster whose volumes are retained, and adopts them when it is recreated", async () => {
    await apply(clients, clusterObject("delta", { nodes: { disc: 1, ram: 0 } }));
    await waitFor("delta reconciled", async () => (await getCluster("delta")).status?.observedGeneration === 1, { timeoutMs: 30_000 });
    const before = { user: await secretValues("delta-default-user"), cookie: await secretValues("delta-erlang-cookie") };
    const firstUid = (await getCluster("delta")).metadata.uid;

    await clients.objects.delete({ apiVersion: API_VERSION, kind: "RabbitCluster", metadata: { name: "delta", namespace: namespace.name } });
    await waitFor("the garbage collector to take the StatefulSet", async () => (await getStatefulSet("delta-disc")) === undefined, { timeoutMs: 60_000 });
    // The volumes stay (whenDeleted: Retain), so do the credentials their data was made with.
    expect(await secretValues("delta-default-user")).toEqual(before.user);
    expect(await secretValues("delta-erlang-cookie")).toEqual(before.cookie);

    await apply(clients, clusterObject("delta", { nodes: { disc: 1, ram: 0 } }));
    await waitFor(
      "the new delta reconciled",
      async () => {
        const cluster = await getCluster("delta");
        return cluster.metadata.uid !== firstUid && cluster.status?.observedGeneration === 1 && (await getStatefulSet("delta-disc")) !== undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(await secretValues("delta-default-user")).toEqual(before.user);
    expect(await secretValues("delta-erlang-cookie")).toEqual(before.cookie);
  });

  it("never makes a new cookie or default user for a cluster that has data: it says what to do instead", async () => {
    // The volume a StatefulSet would have made for delta-disc-0 (the data of the cluster).
    await clients.core.createNamespacedPersistentVolumeClaim({
      namespace: namespace.name,
      body: {
        metadata: {
          name: "persistence-delta-disc-0",
          labels: { "app.kubernetes.io/name": "rabbitmq", "app.kubernetes.io/instance": "delta", "app.kubernetes.io/managed-by": "rabbit-operator" },
        },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    });
    const cookie = await secretValues("delta-erlang-cookie");
    await clients.core.deleteNamespacedSecret({ name: "delta-erlang-cookie", namespace: namespace.name });
    await waitFor(
      "ReconcileSuccess=False CredentialsMissing",
      async () => condition(await getCluster("delta"), "ReconcileSuccess")?.reason === "CredentialsMissing",
      { timeoutMs: 30_000 },
    );
    const refused = condition(await getCluster("delta"), "ReconcileSuccess")!;
    expect(refused.message).toContain(`Secret ${namespace.name}/delta-erlang-cookie`);
    expect(refused.message).toContain("persistence-delta-disc-0");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await secretValues("delta-erlang-cookie")).toBeUndefined();

    // Restored from a backup: adopted as it is.
    await clients.core.createNamespacedSecret({
      namespace: namespace.name,
      body: {
        metadata: { name: "delta-erlang-cookie", labels: { "app.kubernetes.io/instance": "delta", "app.kubernetes.io/managed-by": "rabbit-operator" } },
        stringData: cookie,
      },
    });
    await waitFor("ReconcileSuccess=True again", async () => condition(await getCluster("delta"), "ReconcileSuccess")?.status === "True", {
      timeoutMs: 30_000,
    });
    expect(await secretValues("delta-erlang-cookie")).toEqual(cookie);
  });

  it("lets the garbage collector remove the children of a deleted cluster", async () => {
    await clients.objects.delete({ apiVersion: API_VERSION, kind: "RabbitCluster", metadata: { name: "alpha", namespace: namespace.name } });
    await waitFor("StatefulSets gone", async () => (await getStatefulSet("alpha-disc")) === undefined && (await getStatefulSet("alpha-ram")) === undefined, {
      timeoutMs: 60_000,
    });
  });
});
