// Stream Queues on a cluster with a node outside the stream coordinator. RabbitMQ 3.10.0-3.10.10
// start a second coordinator when a stream command reaches such a node (one that joined after the
// first stream was declared, until the coordinator adds it, up to 30 s per node): the command
// fails after 25 s, and one given up before that leaves the node unable to serve any later
// stream command. On kind this kept a stream Queue from being deleted, and its namespace with it.
// The operator sends stream commands to the first disc node, which is always in the coordinator.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ManagementClient } from "../../../../operator/rabbitmq/management.js";
import { normalizeBaseUrl } from "../../../../operator/rabbitmq/management-http.js";
import { apply } from "../../../../dev/kube.js";
import { useRabbitCluster } from "../../../harness/rabbitmq/use-rabbit-cluster.js";
import { remove, startTopologyEnvironment, topologyObject, waitReady, type TopologyEnvironment } from "./support.js";

const rabbit = useRabbitCluster({ name: "streams", disc: 2, ram: 1 });
const LATE_NODE = 2;
let env: TopologyEnvironment;
let admin: ManagementClient;

beforeAll(async () => {
  admin = rabbit.management(0);
  // The ram node is down when the first stream is declared: the coordinator is made of the two disc nodes.
  await rabbit.stopNode(LATE_NODE);
  await admin.declareQueue("/", "first.stream", { type: "stream", durable: true });
  await rabbit.startNode(LATE_NODE);
  // What the client Service would hand the operator: here always the node outside the coordinator.
  env = await startTopologyEnvironment(inject("kubeconfig"), rabbit, { prefix: "streams", driftPeriodMs: 5_000, serviceNode: LATE_NODE });
}, 180_000);

afterAll(async () => {
  await env?.stop();
}, 60_000);

describe("stream Queues while a node is outside the stream coordinator", () => {
  it("are declared and deleted in seconds, through the first disc node", async () => {
    const ns = env.namespaces[0]!;
    // The premise: the node the Service hands out runs no stream coordinator member yet.
    expect(await rabbit.rabbitmqctl(LATE_NODE, ["eval", "ra:members({rabbit_stream_coordinator, node()}, 5000)."])).toContain("noproc");
    const started = Date.now();
    await apply(env.clients, topologyObject("Queue", "audit", ns, { name: "audit.stream", type: "stream" }));
    await waitReady(env.clients, "Queue", "audit", ns, 15_000);
    const declaredMs = Date.now() - started;
    expect(await admin.getQueue("/", "audit.stream")).toMatchObject({ type: "stream" });

    const deleting = Date.now();
    await remove(env.clients, "Queue", "audit", ns);
    const deletedMs = Date.now() - deleting;
    expect(await admin.getQueue("/", "audit.stream")).toBeUndefined();
    console.log(`stream Queue Ready in ${declaredMs} ms, deleted in ${deletedMs} ms`);

    // The stream commands went to the first disc node; the late node got only reads (or nothing).
    const streamCommands = env.managementRequests.filter((attempt) => attempt.method !== "GET" && attempt.path.includes("audit.stream"));
    expect(new Set(streamCommands.map((attempt) => attempt.method))).toEqual(new Set(["PUT", "DELETE"]));
    expect(new Set(streamCommands.map((attempt) => attempt.baseUrl))).toEqual(new Set([normalizeBaseUrl(rabbit.managementUrl(0))]));
  });
});
