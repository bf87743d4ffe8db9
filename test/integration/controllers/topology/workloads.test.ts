// The classic RabbitMQ workloads on topology declared only through the operator's objects: a
// Vhost, a User (its generated credentials are what the workloads log in with), a Permission and
// Queue objects, reconciled by the topology controllers against a real API server and a real
// 2 disc + 1 ram cluster. The workloads' user may not configure anything: every queue comes from
// a Queue object.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apply } from "../../../../dev/kube.js";
import { useRabbitCluster } from "../../../harness/rabbitmq/use-rabbit-cluster.js";
import { consumeAndVerify, fairDispatch, helloWorld, manualAckRedelivery, publishPersistent, workQueue } from "../../../../dev/workloads.js";
import { startTopologyEnvironment, topologyObject, waitReady, type TopologyEnvironment } from "./support.js";

const VHOST = "work";
const QUEUES = {
  hello: { name: "hello", type: "classic", durable: false },
  tasks: { name: "tasks", type: "classic" },
  acked: { name: "acked", type: "quorum" },
  fair: { name: "fair", type: "classic" },
  "durable-classic": { name: "durable-classic", type: "classic" },
  "durable-quorum": { name: "durable-quorum", type: "quorum" },
} as const;

describe("classic workloads on topology declared through Vhost, User, Permission and Queue objects", () => {
  const rabbit = useRabbitCluster({ name: "topology-workloads", disc: 2, ram: 1 });
  let env: TopologyEnvironment;
  let url: string;

  beforeAll(async () => {
    env = await startTopologyEnvironment(inject("kubeconfig"), rabbit, { prefix: "work", driftPeriodMs: 5_000 });
    const ns = env.namespaces[0]!;
    const objects = [
      topologyObject("Vhost", VHOST, ns, { name: VHOST }),
      topologyObject("User", "worker", ns, {}),
      topologyObject("Permission", "worker-in-work", ns, {
        vhost: VHOST,
        userReference: { name: "worker" },
        permissions: { configure: "", write: ".*", read: ".*" },
      }),
      ...Object.entries(QUEUES).map(([name, spec]) => topologyObject("Queue", name, ns, { ...spec, vhost: VHOST })),
    ];
    await Promise.all(objects.map((object) => apply(env.clients, object)));
    // Generous: right after a cluster forms, RabbitMQ 3.10 has been seen refusing quorum queues
    // for a while ("the corresponding feature flag is disabled"); the operator retries with backoff.
    await Promise.all(objects.map((object) => waitReady(env.clients, object.kind!, object.metadata!.name!, ns, 120_000)));
    const secret = await env.clients.core.readNamespacedSecret({ name: "worker-user-credentials", namespace: ns });
    const value = (key: string) => Buffer.from(secret.data![key]!, "base64").toString("utf8");
    url = rabbit.amqpUrl({ vhost: VHOST, username: value("username"), password: value("password") });
  }, 180_000);

  afterAll(async () => {
    await env?.stop();
  }, 120_000);

  it("hello world: one message from a producer to a consumer", async () => {
    const result = await helloWorld(url, "hello");
    expect(result.received).toEqual([{ consumer: "receiver", content: "Hello World!", redelivered: false, persistent: false }]);
  });

  it("work queue: tasks are dispatched round-robin to two workers", async () => {
    const result = await workQueue(url, "tasks", { tasks: 8 });
    expect(result.deliveries).toHaveLength(8);
    const shares = [result.byWorker["worker-1"], result.byWorker["worker-2"]].map((tasks) => [...tasks].sort());
    expect(shares).toEqual(
      expect.arrayContaining([
        ["task-1", "task-3", "task-5", "task-7"],
        ["task-2", "task-4", "task-6", "task-8"],
      ]),
    );
  });

  it("manual ack: a consumer killed mid-message loses it to the other consumer, marked redelivered", async () => {
    const result = await manualAckRedelivery(url, "acked");
    expect(result.first).toMatchObject({ consumer: "doomed", content: result.message, redelivered: false });
    expect(result.second).toMatchObject({ consumer: "survivor", content: result.message, redelivered: true });
    expect(result.messagesLeftAfterAck).toBe(0);
  });

  it("prefetch=1 fair dispatch: a busy consumer gets nothing until it acks", async () => {
    const result = await fairDispatch(url, "fair", { messages: 6 });
    expect(result.busyWhileHolding).toEqual(["hold-me"]);
    expect(result.quickWhileBusyHeld).toEqual(["work-1", "work-2", "work-3", "work-4", "work-5"]);
    expect(result.busyAfterAck).toHaveLength(1);
    expect(result.quickAfterAck).toHaveLength(1);
    expect([...result.busyAfterAck, ...result.quickAfterAck].sort()).toEqual(["after-ack-1", "after-ack-2"]);
  });

  it("durable queues: persistent messages survive a restart of every node, and the objects stay Ready", async () => {
    const classic = await publishPersistent(url, "durable-classic", { count: 50, prefix: "classic" });
    const quorum = await publishPersistent(url, "durable-quorum", { count: 50, prefix: "quorum" });

    const { stopMs, startMs } = await rabbit.restartAll();
    console.log(`restartAll: stopped in ${stopMs} ms, started in ${startMs} ms`);

    for (const [queue, published] of [
      ["durable-classic", classic.messages],
      ["durable-quorum", quorum.messages],
    ] as const) {
      const result = await consumeAndVerify(url, queue, published);
      expect({ queue, missing: result.missing, unexpected: result.unexpected, left: result.messagesLeft }).toEqual({
        queue,
        missing: [],
        unexpected: [],
        left: 0,
      });
      expect(result.received.every((d) => d.persistent)).toBe(true);
    }
    // Drift checks failed while the cluster was down; nothing was marked broken for it.
    for (const name of Object.keys(QUEUES)) await waitReady(env.clients, "Queue", name, env.namespaces[0]!);
  });
});
