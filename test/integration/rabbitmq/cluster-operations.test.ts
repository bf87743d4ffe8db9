// The RabbitCluster controller's node operations (rabbitmq/cluster-operations.ts) with RabbitMQ's
// real CLI tools against a real local cluster: the same commands the operator runs in a node's
// pod, here run against the node's process. And the management API's view of quorum queue
// members that decides which queues are short of replicas.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QuorumQueueMembers } from "../../../operator/controllers/rabbit-cluster/management-port.js";
import { managementOf } from "../../../operator/controllers/rabbit-cluster/management-adapter.js";
import { ClusterOperations, type NodeCommandRunner } from "../../../operator/rabbitmq/cluster-operations.js";
import type { ManagementClient } from "../../../operator/rabbitmq/management.js";
import { waitFor } from "../../../dev/exec.js";
import { useRabbitCluster } from "../../harness/rabbitmq/use-rabbit-cluster.js";

const rabbit = useRabbitCluster({ name: "ops", disc: 3 });
/** "Pods" are the local nodes, by index: pod-0 runs rabbit-ops-0@localhost. */
const runner: NodeCommandRunner = (pod, command, options) => rabbit.cli(Number(pod.replace("pod-", "")), command, { timeoutMs: options.timeoutMs });
const operations = new ClusterOperations(runner);
const VHOST = "ops (weird) vhost";
let admin: ManagementClient;

const membersOf = async (name: string, vhost = VHOST): Promise<string[]> =>
  ((await managementOf(admin).quorumQueues()).find((q) => q.vhost === vhost && q.name === name)?.members ?? []).slice().sort();

beforeAll(async () => {
  admin = rabbit.management();
  await admin.putVhost(VHOST, {});
  await admin.putPermission(VHOST, rabbit.admin.username, { configure: ".*", write: ".*", read: ".*" });
}, 60_000);

afterAll(async () => {
  await admin?.deleteVhost(VHOST);
});

describe("quorum queue members, as the management API lists them and the CLI changes them", () => {
  // Names with regular expression metacharacters and non-ASCII letters; each has a decoy that an
  // unescaped pattern would match too.
  const named = ["orders.v1", "jobs(1)|x", "ünïcode-q", "a+b", "plain"];
  const decoys = ["ordersXv1", "jobs1", "ünïcode-q2", "aab", "plain-too"];
  const node = (index: number) => rabbit.node(index).nodeName;

  it("lists every quorum queue with its members and declared replica count, and no other queue", async () => {
    for (const name of [...named, ...decoys]) await admin.declareQueue(VHOST, name, { type: "quorum", arguments: { "x-quorum-initial-group-size": 1 } });
    await admin.declareQueue(VHOST, "classic-one", {});
    await admin.declareQueue("/", "everywhere", { type: "quorum" });
    const listed = await managementOf(admin).quorumQueues();
    const ours = listed.filter((q) => q.vhost === VHOST);
    expect(ours.map((q) => q.name).sort()).toEqual([...named, ...decoys].sort());
    for (const queue of ours) {
      expect(queue.initialGroupSize).toBe(1);
      expect(queue.members).toHaveLength(1);
    }
    const everywhere = listed.find((q) => q.vhost === "/" && q.name === "everywhere") as QuorumQueueMembers;
    expect(everywhere.initialGroupSize).toBeUndefined();
    expect(everywhere.members.sort()).toEqual([node(0), node(1), node(2)].sort());
  });

  it("grows exactly the named queues of the vhost onto a node, however their names look, and is safe to repeat", async () => {
    // A node none of the queues has a member on yet, for each queue: grow onto every node but its own.
    for (const target of [0, 1, 2]) {
      const lacking = [];
      for (const name of named) if (!(await membersOf(name)).includes(node(target))) lacking.push(name);
      if (lacking.length === 0) continue;
      await operations.growQuorumQueues(`pod-${(target + 1) % 3}`, node(target), { vhost: VHOST, names: lacking });
      await operations.growQuorumQueues(`pod-${(target + 1) % 3}`, node(target), { vhost: VHOST, names: lacking });
    }
    for (const name of named) await expect.poll(() => membersOf(name), { message: name, timeout: 15_000 }).toEqual([node(0), node(1), node(2)].sort());
    for (const name of decoys) expect(await membersOf(name), name).toHaveLength(1);
  });

  it("succeeds without a change for a queue that is not there (deleted since the operator looked)", async () => {
    await expect(operations.growQuorumQueues("pod-0", node(1), { vhost: VHOST, names: ["no-such-queue"] })).resolves.toBeUndefined();
  });

  it("shrinks a node's members away; a queue left with two members makes each of their nodes quorum-critical", async () => {
    expect((await operations.quorumCritical("pod-2")).critical).toBe(false);
    await operations.shrinkQuorumQueues("pod-0", node(2));
    // The queue's record is updated by its leader once the membership change is committed.
    for (const name of named) await expect.poll(() => membersOf(name), { message: name, timeout: 15_000 }).toEqual([node(0), node(1)].sort());
    await expect.poll(() => membersOf("everywhere", "/"), { timeout: 15_000 }).toEqual([node(0), node(1)].sort());
    // Two members left: stopping either one would lose the majority.
    const critical = await operations.quorumCritical("pod-1");
    expect(critical.critical).toBe(true);
    // RabbitMQ 4.0.5's CLI cannot write the names: one of the queues here is not ASCII.
    expect(critical.detail).toContain(rabbit.version.startsWith("3.") ? "everywhere" : "RabbitMQ's CLI crashed writing which queues");
  });
});

describe("stream replicas, as the queue records have them and the CLI moves them", () => {
  const node = (index: number) => rabbit.node(index).nodeName;
  const stream = { vhost: VHOST, name: "audit (v2).stream" };
  const streamMembers = async (): Promise<string[]> =>
    ((await operations.streams("pod-1", VHOST)).find((s) => s.name === stream.name)?.members ?? []).slice().sort();

  it("lists the vhosts with streams, and each stream of a vhost with the nodes of its replicas, and no other queue", async () => {
    await admin.declareQueue(VHOST, stream.name, { type: "stream", arguments: { "x-initial-cluster-size": 2 } });
    expect(await managementOf(admin).vhostsWithStreams()).toContain(VHOST);
    const listed = await operations.streams("pod-0", VHOST);
    expect(listed.map((s) => s.name)).toEqual([stream.name]);
    expect(listed[0]!.members).toHaveLength(2);
  });

  it("moves a replica: added on a node without one, then deleted from its old node; each safe to repeat, each seen at once", async () => {
    const before = await streamMembers();
    const target = [0, 1, 2].map(node).find((name) => !before.includes(name))!;
    const leaving = before.find((name) => name !== node(0)) ?? before[0]!;
    const from = "pod-0";
    await operations.addStreamReplica(from, stream, target);
    await operations.addStreamReplica(from, stream, target);
    expect(await streamMembers()).toEqual([...before, target].sort());
    await operations.deleteStreamReplica(from, stream, leaving);
    await operations.deleteStreamReplica(from, stream, leaving);
    // At once, unlike the management API's list, which keeps the deleted replica.
    expect(await streamMembers()).toEqual([...before, target].filter((name) => name !== leaving).sort());
  });

  it("reports the replicas that run: one writer, and after a move exactly the new members once RabbitMQ restarted them", async () => {
    const running = async () => {
      const replicas = await operations.runningStreamReplicas("pod-0", stream);
      return { writers: replicas.filter((r) => r.role === "writer").length, nodes: replicas.map((r) => r.node).sort() };
    };
    await waitFor("the stream to run on its members", async () => (await running()).nodes.length === (await streamMembers()).length, { timeoutMs: 60_000 });
    expect(await running()).toEqual({ writers: 1, nodes: await streamMembers() });

    const before = await streamMembers();
    const leaving = before.find((name) => name !== node(0))!;
    await operations.deleteStreamReplica("pod-0", stream, leaving);
    const after = before.filter((name) => name !== leaving);
    await waitFor(
      "the stream to run on its remaining members only",
      async () => JSON.stringify(await running()) === JSON.stringify({ writers: 1, nodes: after }),
      {
        timeoutMs: 60_000,
        intervalMs: 200,
      },
    );
  });
});

describe("plugins", () => {
  it("lists every plugin the node's installation has, enabled or not, and only names", async () => {
    const plugins = await operations.availablePlugins("pod-1");
    expect(plugins).toEqual(expect.arrayContaining(["rabbitmq_management", "rabbitmq_prometheus", "rabbitmq_shovel", "rabbitmq_stream"]));
    expect(plugins).not.toContain("rabbitmq_no_such_plugin");
    expect(plugins.length).toBeGreaterThan(20);
  });
});
