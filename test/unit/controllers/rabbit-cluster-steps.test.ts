// The RabbitCluster steps through their port, with fakes of everything they touch: the order of
// what each step does, what it refuses, and where an interruption leaves it.
import { describe, expect, it } from "vitest";
import type { NodeType, RabbitCluster } from "../../../operator/api/index.js";
import type { ClusterManagement, QueueKey } from "../../../operator/controllers/rabbit-cluster/management-port.js";
import type { NodeOperations, QuorumCheck } from "../../../operator/controllers/rabbit-cluster/node-operations-port.js";
import type { ClusterObservation, NodeRemoval, PodObservation } from "../../../operator/controllers/rabbit-cluster/observation.js";
import type { Step } from "../../../operator/controllers/rabbit-cluster/plan.js";
import { performStep, type ClusterWrites } from "../../../operator/controllers/rabbit-cluster/step-port.js";
import { ClusterStepExecutor, STREAM_SETTLE_TIMEOUT_MS } from "../../../operator/controllers/rabbit-cluster/steps.js";
import { nodeName } from "../../../operator/resources/names.js";
import { silentLogger } from "../../../operator/runtime/logger.js";
import { cluster as makeCluster } from "../fixtures.js";

const DOMAIN = "cluster.local";
const node = (c: RabbitCluster, type: NodeType, ordinal: number) => nodeName(c, type, ordinal, DOMAIN);

interface FakeOptions {
  quorumCritical?: (pod: string) => QuorumCheck;
  durableClassicQueuesOn?: QueueKey[];
  localQueueMessages?: Map<string, number>;
  streams?: { vhost: string; name: string; members: string[] }[];
  failOn?: string;
  /** What the spec wants when the step asks again (a change made while a node drained). */
  desiredNodes?: Partial<Record<NodeType, number>>;
  abortOn?: string;
  /** How many looks at a stream's running replicas still find it as it was before its last change. */
  streamSettlesAfter?: number;
  /** Streams that run elsewhere than RabbitMQ records (a change made before this step, still settling). */
  streamsRunning?: Record<string, string[]>;
}

/** Fakes that write down every call, in order, as "operation target". */
function harness(c: RabbitCluster, observation: ClusterObservation, options: FakeOptions = {}) {
  const calls: string[] = [];
  const events: string[] = [];
  const controller = new AbortController();
  const act = async (call: string) => {
    if (options.abortOn && call.startsWith(options.abortOn)) controller.abort(new Error("leadership lost"));
    calls.push(call);
    if (options.failOn && call.startsWith(options.failOn)) throw new Error(`${call} failed`);
  };
  let status = c.status ?? {};
  // Each stream's replicas as RabbitMQ records them, and as they run (behind by streamSettlesAfter looks).
  const recorded = new Map((options.streams ?? []).map((s) => [s.name, [...s.members]]));
  const running = new Map([...recorded, ...Object.entries(options.streamsRunning ?? {})]);
  let unsettledLooks = options.streamsRunning ? (options.streamSettlesAfter ?? 0) : 0;
  const changed = (name: string, members: string[]) => {
    recorded.set(name, members);
    unsettledLooks = options.streamSettlesAfter ?? 0;
  };
  let clock = Date.parse("2026-12-02T12:00:00Z");
  const operations: NodeOperations = {
    quorumCritical: async (pod) => {
      await act(`quorumCritical ${pod}`);
      return options.quorumCritical?.(pod) ?? { critical: false, detail: "" };
    },
    localQueueMessages: async (pod, vhost) => {
      await act(`localQueueMessages ${pod} ${vhost}`);
      return options.localQueueMessages ?? new Map();
    },
    drain: (pod) => act(`drain ${pod}`),
    revive: (pod) => act(`revive ${pod}`),
    shrinkQuorumQueues: (fromPod, n) => act(`shrinkQuorumQueues ${fromPod} ${n}`),
    growQuorumQueues: (fromPod, n, queues) => act(`growQuorumQueues ${fromPod} ${n} ${queues.vhost} ${queues.names.join(",")}`),
    streams: async (pod, vhost) => {
      await act(`streams ${pod} ${vhost}`);
      return (options.streams ?? []).filter((s) => s.vhost === vhost);
    },
    addStreamReplica: async (fromPod, stream, n) => {
      await act(`addStreamReplica ${fromPod} ${stream.name} ${n}`);
      changed(stream.name, [...recorded.get(stream.name)!, n]);
    },
    deleteStreamReplica: async (fromPod, stream, n) => {
      await act(`deleteStreamReplica ${fromPod} ${stream.name} ${n}`);
      changed(
        stream.name,
        recorded.get(stream.name)!.filter((member) => member !== n),
      );
    },
    runningStreamReplicas: async (fromPod, stream) => {
      await act(`runningStreamReplicas ${fromPod} ${stream.name}`);
      if (unsettledLooks > 0) unsettledLooks--;
      else running.set(stream.name, recorded.get(stream.name)!);
      return running.get(stream.name)!.map((n, i) => ({ node: n, role: i === 0 ? "writer" : "replica" }));
    },
    availablePlugins: async () => [],
    forget: (fromPod, n) => act(`forget ${fromPod} ${n}`),
  };
  const management: ClusterManagement = {
    nodes: async () => [],
    runtime: async () => ({ version: "3.10.8", metadataStore: "mnesia" }),
    durableClassicQueuesOn: async () => options.durableClassicQueuesOn ?? [],
    quorumQueues: async () => [],
    vhostsWithStreams: async () => [...new Set((options.streams ?? []).map((s) => s.vhost))],
    policies: async () => [],
    putPolicy: async () => {},
    deletePolicy: async () => {},
  };
  const writes: ClusterWrites = {
    recordRemoval: async (removal: NodeRemoval | undefined) => {
      await act(removal ? `recordRemoval ${removal.pod}` : "clearRemoval");
      const { nodeRemoval: _gone, ...rest } = status;
      status = removal ? { ...rest, nodeRemoval: removal } : rest;
      return { ...c, status };
    },
    desiredNodes: (type) => options.desiredNodes?.[type] ?? c.spec.nodes[type],
    setReplicas: (type, replicas) => act(`setReplicas ${type} ${replicas}`),
    deletePod: (name) => act(`deletePod ${name}`),
    deleteVolumeClaim: (name) => act(`deleteVolumeClaim ${name}`),
  };
  const executor = new ClusterStepExecutor({
    cluster: c,
    observation,
    clusterDomain: DOMAIN,
    signal: controller.signal,
    operations,
    management,
    writes,
    event: async (type, reason, message) => {
      events.push(`${type} ${reason}: ${message}`);
    },
    log: silentLogger,
    now: () => clock,
    pause: async (ms) => {
      calls.push(`pause ${ms}`);
      clock += ms;
    },
  });
  return { calls, events, executor, status: () => status };
}

function pods(spec: Partial<Record<NodeType, number>>, overrides: Partial<PodObservation> & { name?: string } = {}): PodObservation[] {
  const list: PodObservation[] = [];
  for (const type of ["disc", "ram"] as const) {
    for (let ordinal = 0; ordinal < (spec[type] ?? 0); ordinal++) {
      const name = `demo-${type}-${ordinal}`;
      list.push({ name, type, ordinal, ready: true, terminating: false, ...(overrides.name === name ? overrides : {}) });
    }
  }
  return list;
}

function observe(podList: PodObservation[], removal?: NodeRemoval): ClusterObservation {
  const statefulSet = (type: NodeType) => {
    const replicas = podList.filter((p) => p.type === type).length;
    return { replicas, readyReplicas: replicas };
  };
  return { statefulSets: { disc: statefulSet("disc"), ram: statefulSet("ram") }, pods: podList, volumeClaims: [], ...(removal ? { removal } : {}) };
}

describe("RabbitCluster steps, carried out through their port", () => {
  const scaledTo3 = makeCluster({ nodes: { disc: 3, ram: 0 } });
  const removeDisc3 = (resumed = false): Extract<Step, { kind: "removeNode" }> => ({
    kind: "removeNode",
    type: "disc",
    ordinal: 3,
    node: node(scaledTo3, "disc", 3),
    pod: "demo-disc-3",
    resumed,
  });

  it("removeNode records the removal before the drain, then drains, shrinks from a disc node that stays, moves stream replicas from the first disc node, and lowers the replicas last", async () => {
    const leaving = node(scaledTo3, "disc", 3);
    const { calls, events, executor, status } = harness(scaledTo3, observe(pods({ disc: 4 })), {
      streams: [{ vhost: "/", name: "events", members: [node(scaledTo3, "disc", 1), leaving] }],
    });
    const outcome = await performStep(executor, removeDisc3());
    expect(calls).toEqual([
      "quorumCritical demo-disc-3",
      "recordRemoval demo-disc-3",
      "drain demo-disc-3",
      "shrinkQuorumQueues demo-disc-0 " + leaving,
      "streams demo-disc-0 /",
      `addStreamReplica demo-disc-0 events ${node(scaledTo3, "disc", 0)}`,
      `deleteStreamReplica demo-disc-0 events ${leaving}`,
      "runningStreamReplicas demo-disc-0 events",
      "setReplicas disc 3",
    ]);
    expect(status().nodeRemoval).toMatchObject({ pod: "demo-disc-3", ordinal: 3, type: "disc", startedAt: "2026-12-02T12:00:00.000Z" });
    expect(executor.cluster.status?.nodeRemoval?.pod).toBe("demo-disc-3");
    expect(events.map((e) => e.split(":")[0])).toEqual(["Normal RemovingNode", "Normal StreamReplicasMoved"]);
    expect(outcome).toEqual({ requeueAfterMs: 5_000 });
  });

  it("removeNode lowers the replicas only once a moved stream runs again on its new replicas, off the leaving node", async () => {
    const leaving = node(scaledTo3, "disc", 3);
    const { calls, executor } = harness(scaledTo3, observe(pods({ disc: 4 })), {
      streams: [{ vhost: "/", name: "events", members: [node(scaledTo3, "disc", 0), leaving] }],
      streamSettlesAfter: 2,
    });
    await performStep(executor, removeDisc3());
    expect(calls.slice(calls.indexOf(`deleteStreamReplica demo-disc-0 events ${leaving}`) + 1)).toEqual([
      "runningStreamReplicas demo-disc-0 events",
      "pause 1000",
      "runningStreamReplicas demo-disc-0 events",
      "pause 1000",
      "runningStreamReplicas demo-disc-0 events",
      "setReplicas disc 3",
    ]);
  });

  it("removeNode fails, naming the stream and where it runs, when a moved stream does not run again in time; the node is not let go", async () => {
    const leaving = node(scaledTo3, "disc", 3);
    const { calls, executor } = harness(scaledTo3, observe(pods({ disc: 4 })), {
      streams: [{ vhost: "/", name: "events", members: [node(scaledTo3, "disc", 0), leaving] }],
      streamSettlesAfter: Number.POSITIVE_INFINITY,
    });
    await expect(performStep(executor, removeDisc3())).rejects.toThrow(
      `streams did not run again on their new replicas within ${STREAM_SETTLE_TIMEOUT_MS / 1000} s after a replica moved off a leaving node: events (running on ${node(scaledTo3, "disc", 0)}, ${leaving}, writer ${node(scaledTo3, "disc", 0)}; wanted on ${node(scaledTo3, "disc", 0)}, ${node(scaledTo3, "disc", 1)})`,
    );
    expect(calls.filter((call) => call === "pause 1000")).toHaveLength(STREAM_SETTLE_TIMEOUT_MS / 1000);
    expect(calls.some((call) => call.startsWith("setReplicas"))).toBe(false);
  });

  it("a resumed removal waits until the streams an earlier attempt moved run on their new replicas again, before the node goes", async () => {
    const leaving = node(scaledTo3, "disc", 3);
    const removal: NodeRemoval = { node: leaving, pod: "demo-disc-3", type: "disc", ordinal: 3, startedAt: "2026-12-02T11:00:00Z" };
    const moved = [node(scaledTo3, "disc", 0), node(scaledTo3, "disc", 1)];
    const { calls, events, executor } = harness({ ...scaledTo3, status: { nodeRemoval: removal } }, observe(pods({ disc: 4 }), removal), {
      // The earlier attempt moved the replica (RabbitMQ records the new members) and died waiting.
      streams: [{ vhost: "/", name: "events", members: moved }],
      streamsRunning: { events: [...moved, leaving] },
      streamSettlesAfter: 1,
    });
    await performStep(executor, removeDisc3(true));
    expect(calls.slice(calls.indexOf("streams demo-disc-0 /") + 1)).toEqual([
      "runningStreamReplicas demo-disc-0 events",
      "pause 1000",
      "runningStreamReplicas demo-disc-0 events",
      "setReplicas disc 3",
    ]);
    expect(events.some((e) => e.includes("StreamReplicasMoved"))).toBe(false);
  });

  it("removeNode refuses a node whose quorum queues would lose their majority, before anything is recorded or drained", async () => {
    const { calls, executor } = harness(scaledTo3, observe(pods({ disc: 4 })), {
      quorumCritical: () => ({ critical: true, detail: "orders in vhost /" }),
    });
    const outcome = await performStep(executor, removeDisc3());
    expect(calls).toEqual(["quorumCritical demo-disc-3"]);
    expect(outcome.blocked).toMatchObject({ status: "False", reason: "ScaleDownBlocked" });
    expect(outcome.blocked?.message).toContain("orders in vhost /");
  });

  it("removeNode refuses a node whose durable classic queues hold messages, naming them with their counts", async () => {
    const { calls, executor } = harness(scaledTo3, observe(pods({ disc: 4 })), {
      durableClassicQueuesOn: [
        { vhost: "/", name: "jobs" },
        { vhost: "/", name: "empty" },
        { vhost: "/", name: "unlisted" },
      ],
      localQueueMessages: new Map([
        ["jobs", 12],
        ["empty", 0],
      ]),
    });
    const outcome = await performStep(executor, removeDisc3());
    expect(calls).toEqual(["quorumCritical demo-disc-3", "localQueueMessages demo-disc-3 /"]);
    expect(outcome.blocked?.message).toContain("jobs (12 messages), unlisted (unknown number of messages)");
    expect(outcome.blocked?.message).not.toContain("empty");
  });

  it("a resumed removal that may no longer go on revives its node and clears the record", async () => {
    const removal: NodeRemoval = { node: node(scaledTo3, "disc", 3), pod: "demo-disc-3", type: "disc", ordinal: 3, startedAt: "2026-12-02T11:00:00Z" };
    const recorded = { ...scaledTo3, status: { nodeRemoval: removal } };
    const { calls, events, executor, status } = harness(recorded, observe(pods({ disc: 4 }), removal), {
      quorumCritical: () => ({ critical: true, detail: "orders" }),
    });
    const outcome = await performStep(executor, removeDisc3(true));
    expect(calls).toEqual(["quorumCritical demo-disc-3", "revive demo-disc-3", "clearRemoval"]);
    expect(status().nodeRemoval).toBeUndefined();
    expect(events[0]).toMatch(/^Normal NodeRevived:/);
    expect(outcome.blocked?.reason).toBe("ScaleDownBlocked");
  });

  it("a resumed removal is finished without a second record", async () => {
    const removal: NodeRemoval = { node: node(scaledTo3, "disc", 3), pod: "demo-disc-3", type: "disc", ordinal: 3, startedAt: "2026-12-02T11:00:00Z" };
    const { calls, events, executor } = harness({ ...scaledTo3, status: { nodeRemoval: removal } }, observe(pods({ disc: 4 }), removal));
    await performStep(executor, removeDisc3(true));
    expect(calls.filter((c) => c.startsWith("recordRemoval"))).toEqual([]);
    expect(calls).toContain("drain demo-disc-3");
    expect(calls.at(-1)).toBe("setReplicas disc 3");
    expect(events[0]).toMatch(/^Normal ResumingNodeRemoval: .*interrupted after it started at 2026-12-02T11:00:00Z/);
  });

  it("removeNode keeps the replicas when the spec wants the node again by the time it is drained (the record stays for reviveNode)", async () => {
    const { calls, executor, status } = harness(scaledTo3, observe(pods({ disc: 4 })), { desiredNodes: { disc: 4 } });
    const outcome = await performStep(executor, removeDisc3());
    expect(calls).not.toContain("setReplicas disc 3");
    expect(calls).toContain("drain demo-disc-3");
    expect(status().nodeRemoval?.pod).toBe("demo-disc-3");
    expect(outcome).toEqual({ requeueAfterMs: 1_000 });
  });

  it("a drain that fails leaves the removal recorded and nothing after it done", async () => {
    const { calls, executor, status } = harness(scaledTo3, observe(pods({ disc: 4 })), { failOn: "drain" });
    await expect(performStep(executor, removeDisc3())).rejects.toThrow("drain demo-disc-3 failed");
    expect(calls.at(-1)).toBe("drain demo-disc-3");
    expect(status().nodeRemoval?.pod).toBe("demo-disc-3");
    expect(executor.cluster.status?.nodeRemoval?.pod).toBe("demo-disc-3");
  });

  it("leadership lost during the drain stops the removal before its next write", async () => {
    const { calls, executor } = harness(scaledTo3, observe(pods({ disc: 4 })), { abortOn: "drain" });
    await expect(performStep(executor, removeDisc3())).rejects.toThrow();
    expect(calls.at(-1)).toBe("drain demo-disc-3");
    expect(calls).not.toContain("setReplicas disc 3");
  });

  it("reviveNode takes the node out of maintenance, then clears the record", async () => {
    const removal: NodeRemoval = { node: node(scaledTo3, "disc", 3), pod: "demo-disc-3", type: "disc", ordinal: 3, startedAt: "2026-12-02T11:00:00Z" };
    const { calls, events, executor } = harness({ ...scaledTo3, status: { nodeRemoval: removal } }, observe(pods({ disc: 4 }), removal));
    await performStep(executor, { kind: "reviveNode", node: removal.node, pod: removal.pod });
    expect(calls).toEqual(["revive demo-disc-3", "clearRemoval"]);
    expect(executor.cluster.status?.nodeRemoval).toBeUndefined();
    expect(events[0]).toMatch(/^Normal NodeRevived:/);
  });

  it("restartPod waits, with a condition, while the pod's node is quorum-critical, and deletes the pod otherwise", async () => {
    const critical = harness(scaledTo3, observe(pods({ disc: 3 })), { quorumCritical: () => ({ critical: true, detail: "orders" }) });
    const waiting = await performStep(critical.executor, { kind: "restartPod", pod: "demo-disc-1", node: node(scaledTo3, "disc", 1) });
    expect(waiting.blocked?.reason).toBe("RollingRestartWaiting");
    expect(critical.calls).toEqual(["quorumCritical demo-disc-1"]);

    const free = harness(scaledTo3, observe(pods({ disc: 3 })));
    await performStep(free.executor, { kind: "restartPod", pod: "demo-disc-1", node: node(scaledTo3, "disc", 1) });
    expect(free.calls).toEqual(["quorumCritical demo-disc-1", "deletePod demo-disc-1"]);
    expect(free.events[0]).toMatch(/^Normal RollingRestart:/);
  });

  it("restartPod waits for a stream of three replicas the check lists (RabbitMQ 4), not for one of two, which would wait for ever", async () => {
    const [d0, d1, d2] = [0, 1, 2].map((ordinal) => node(scaledTo3, "disc", ordinal)) as [string, string, string];
    const streams = [
      { vhost: "/", name: "audit", members: [d0, d1, d2] },
      { vhost: "/", name: "clicks", members: [d1, d2] },
    ];
    const listed = (names: string[]) => () => ({ critical: false, detail: "", streams: names.map((name) => ({ vhost: "/", name })) });
    const three = harness(scaledTo3, observe(pods({ disc: 3 })), { streams, quorumCritical: listed(["audit", "clicks"]) });
    const waiting = await performStep(three.executor, { kind: "restartPod", pod: "demo-disc-1", node: d1 });
    expect(waiting.blocked).toMatchObject({
      reason: "RollingRestartWaiting",
      message: "demo-disc-1 waits to restart: streams would lose their majority without it: audit (3 replicas)",
    });
    expect(three.calls).toEqual(["quorumCritical demo-disc-1", "streams demo-disc-1 /"]);

    const two = harness(scaledTo3, observe(pods({ disc: 3 })), { streams, quorumCritical: listed(["clicks"]) });
    await performStep(two.executor, { kind: "restartPod", pod: "demo-disc-1", node: d1 });
    expect(two.calls.at(-1)).toBe("deletePod demo-disc-1");
  });

  it("restartPod replaces a failing pod without asking its node", async () => {
    const failing = pods({ disc: 3 }, { name: "demo-disc-2", ready: false, failure: "CrashLoopBackOff" });
    const { calls, executor } = harness(scaledTo3, observe(failing));
    await performStep(executor, { kind: "restartPod", pod: "demo-disc-2", node: node(scaledTo3, "disc", 2) });
    expect(calls).toEqual(["deletePod demo-disc-2"]);
  });

  it("growQuorumQueues, forgetNode and deleteVolumeClaim each do their one thing", async () => {
    const { calls, events, executor } = harness(scaledTo3, observe(pods({ disc: 3 })));
    const queues = ["q1", "q2", "q3", "q4", "q5", "q6"];
    await performStep(executor, { kind: "growQuorumQueues", node: node(scaledTo3, "disc", 2), fromPod: "demo-disc-0", vhost: "/", queues });
    await performStep(executor, { kind: "forgetNode", node: node(scaledTo3, "disc", 3), fromPod: "demo-disc-0" });
    await performStep(executor, { kind: "deleteVolumeClaim", name: "persistence-demo-disc-3" });
    expect(calls).toEqual([
      `growQuorumQueues demo-disc-0 ${node(scaledTo3, "disc", 2)} / q1,q2,q3,q4,q5,q6`,
      `forget demo-disc-0 ${node(scaledTo3, "disc", 3)}`,
      "deleteVolumeClaim persistence-demo-disc-3",
    ]);
    expect(events[0]).toContain("6 quorum queue(s) of vhost / short of replicas: q1, q2, q3, q4, q5 and 1 more");
    expect(events[1]).toMatch(/^Normal NodeForgotten:/);
  });

  it("waiting and nothing to do touch nothing", async () => {
    const { calls, executor } = harness(scaledTo3, observe(pods({ disc: 3 })));
    expect(await performStep(executor, { kind: "wait", reason: "Settling", message: "pods starting" })).toEqual({ requeueAfterMs: 5_000 });
    expect(await performStep(executor, { kind: "none" })).toEqual({});
    expect(calls).toEqual([]);
  });
});
