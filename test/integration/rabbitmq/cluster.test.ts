// The harness's local RabbitMQ cluster: 2 disc + 1 ram rabbitmq-server processes form one
// cluster with the right node types, nodes stop and start, and a restart of every node keeps
// durable queues and their persistent messages.
import { connect } from "amqplib";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RUN_DIR } from "../../../dev/paths.js";
import { CLUSTER_DIR_ENV, RabbitNodeStartError, startRabbitCluster } from "../../../dev/rabbitmq-cluster.js";
import { useRabbitCluster } from "../../harness/rabbitmq/use-rabbit-cluster.js";
import { consumeAndVerify, publishPersistent } from "../../../dev/workloads.js";

interface ClusterStatus {
  disk_nodes: string[];
  ram_nodes: string[];
  running_nodes: string[];
  cluster_name: string;
}

describe("local RabbitMQ cluster, 2 disc + 1 ram", () => {
  const rabbit = useRabbitCluster({ name: "cluster", disc: 2, ram: 1 });

  it("forms one cluster with the right node types, as the management API sees it", async () => {
    const nodes = await rabbit.management().listNodes();
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(nodes.sort(byName)).toEqual(
      [
        { name: "rabbit-cluster-0@localhost", type: "disc", running: true },
        { name: "rabbit-cluster-1@localhost", type: "disc", running: true },
        { name: "rabbit-cluster-2@localhost", type: "ram", running: true },
      ].sort(byName),
    );
  });

  it("forms one cluster with the right node types, as rabbitmqctl cluster_status sees it from each node", async () => {
    for (const node of rabbit.nodes) {
      const status = JSON.parse(await rabbit.rabbitmqctl(node, ["cluster_status", "--formatter", "json"])) as ClusterStatus;
      expect(status.disk_nodes.sort()).toEqual(["rabbit-cluster-0@localhost", "rabbit-cluster-1@localhost"]);
      expect(status.ram_nodes).toEqual(["rabbit-cluster-2@localhost"]);
      expect(status.running_nodes.sort()).toEqual(rabbit.nodes.map((n) => n.nodeName).sort());
    }
  });

  it("gives every node its own ports, all answering on loopback", async () => {
    const ports = rabbit.nodes.flatMap((n) => [n.amqpPort, n.managementPort, n.prometheusPort, n.distPort]);
    expect(new Set([...ports, rabbit.epmdPort]).size).toBe(ports.length + 1);
    for (const node of rabbit.nodes) {
      expect((await rabbit.management(node).overview()).node).toBe(node.nodeName);
      const connection = await connect(rabbit.amqpUrl({ node }));
      await connection.close();
      const metrics = await fetch(`http://127.0.0.1:${node.prometheusPort}/metrics`);
      expect(metrics.status).toBe(200);
      await metrics.body?.cancel();
    }
  });

  it("stops a ram node, which the cluster then reports as not running, and starts it again", async () => {
    const ram = rabbit.ramNodes[0]!;
    const oldPid = ram.pid;
    await rabbit.stopNode(ram);
    expect(ram.running).toBe(false);
    const member = (await rabbit.management(0).listNodes()).find((n) => n.name === ram.nodeName);
    expect(member).toEqual({ name: ram.nodeName, type: "ram", running: false });

    await rabbit.startNode(ram);
    expect(ram.pid).not.toBe(oldPid);
    await rabbit.verifyMembership();
  });

  it("keeps durable queues and their persistent messages when every node restarts; transient queues go", async () => {
    const client = rabbit.management();
    // One durable queue of each kind a message can be stored in: classic on a disc node, classic
    // on the ram node (declared through its own API, so it lives there), quorum across all three.
    await client.declareQueue("/", "durable-classic", { type: "classic", durable: true });
    await rabbit.management(rabbit.ramNodes[0]).declareQueue("/", "durable-classic-on-ram", { type: "classic", durable: true });
    await client.declareQueue("/", "durable-quorum", { type: "quorum" });
    await client.declareQueue("/", "transient", { type: "classic", durable: false });
    expect((await client.getQueue("/", "durable-classic-on-ram"))?.node).toBe(rabbit.ramNodes[0]!.nodeName);

    const queues = ["durable-classic", "durable-classic-on-ram", "durable-quorum"];
    const published = new Map<string, string[]>();
    for (const queue of queues) published.set(queue, (await publishPersistent(rabbit.amqpUrl(), queue, { count: 25, prefix: queue })).messages);
    const pidsBefore = rabbit.nodes.map((n) => n.pid);

    const { stopMs, startMs } = await rabbit.restartAll();
    console.log(`restartAll: stopped in ${stopMs} ms, started in ${startMs} ms`);

    rabbit.nodes.forEach((node, i) => expect(node.pid, `${node.nodeName} was restarted`).not.toBe(pidsBefore[i]));
    expect(await rabbit.verifyMembership()).toHaveLength(3);
    expect(await client.getQueue("/", "transient")).toBeUndefined();
    for (const queue of queues) {
      const result = await consumeAndVerify(rabbit.amqpUrl({ node: rabbit.ramNodes[0] }), queue, published.get(queue)!);
      expect({ queue, missing: result.missing, unexpected: result.unexpected, left: result.messagesLeft }).toEqual({
        queue,
        missing: [],
        unexpected: [],
        left: 0,
      });
      expect(result.received.every((d) => d.persistent)).toBe(true);
    }
  });
});

describe("a node that cannot start", () => {
  it("fails fast with the cause from its log, and leaves no process behind", async () => {
    const started = Date.now();
    const failure = await startRabbitCluster({ name: "broken", disc: 1, additionalConfig: "no_such_setting = 1\n" }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RabbitNodeStartError);
    const error = failure as RabbitNodeStartError;
    expect(error.nodeName).toBe("rabbit-broken-0@localhost");
    expect(error.message).toMatch(/did not start: its process exited/);
    expect(error.log.firstErrors.join("\n")).toMatch(/Conf file attempted to set unknown variable: no_such_setting/);
    expect(error.message).toContain(error.logFile);
    expect(Date.now() - started).toBeLessThan(60_000);

    // The directory stays for a look at the log (the next start removes it); its processes are gone.
    const dir = join(RUN_DIR, `rabbitmq-broken-${process.pid}`);
    expect(existsSync(error.logFile)).toBe(true);
    expect(readdirSync(join(dir, "nodes"))).toEqual(["0-disc"]);
    expect(livePidsOf(dir)).toEqual([]);
  });
});

/** Live processes whose environment names this cluster directory (a zombie's environ is empty). */
function livePidsOf(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "latin1").includes(`${CLUSTER_DIR_ENV}=${dir}\0`)) pids.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}
