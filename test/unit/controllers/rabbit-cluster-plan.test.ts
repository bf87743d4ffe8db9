import { describe, expect, it } from "vitest";
import type { NodeType } from "../../../operator/api/index.js";
import type { ClusterObservation, PodObservation } from "../../../operator/controllers/rabbit-cluster/observation.js";
import {
  MAX_QUEUES_PER_GROWTH,
  nextStep,
  outdatedPods,
  pendingRemoval,
  quorumGrowth,
  replicasToApply,
  streamReplicaMoves,
} from "../../../operator/controllers/rabbit-cluster/plan.js";
import { nodeName } from "../../../operator/resources/names.js";
import { cluster } from "../fixtures.js";

const domain = "cluster.local";

/** A settled cluster with these StatefulSet sizes: every pod ready, every node running. */
function settled(disc: number, ram: number, revision = "r1"): ClusterObservation {
  const c = cluster({ nodes: { disc, ram } });
  const pods: PodObservation[] = [];
  const rabbitNodes = [];
  for (const [type, count] of [
    ["disc", disc],
    ["ram", ram],
  ] as [NodeType, number][]) {
    for (let ordinal = 0; ordinal < count; ordinal++) {
      pods.push({ name: `demo-${type}-${ordinal}`, type, ordinal, ready: true, terminating: false, revision });
      rabbitNodes.push({ name: nodeName(c, type, ordinal, domain), type, running: true });
    }
  }
  return {
    statefulSets: {
      disc: { replicas: disc, readyReplicas: disc, updateRevision: revision },
      ram: { replicas: ram, readyReplicas: ram, updateRevision: revision },
    },
    pods,
    volumeClaims: pods.map((p) => ({ name: `persistence-demo-${p.type}-${p.ordinal}`, type: p.type, ordinal: p.ordinal })),
    rabbitNodes,
  };
}

describe("replicasToApply", () => {
  it("scales up at once and down only through node removal", () => {
    const observation = settled(3, 2);
    expect(replicasToApply(cluster({ nodes: { disc: 5, ram: 2 } }), "disc", observation)).toBe(5);
    expect(replicasToApply(cluster({ nodes: { disc: 1, ram: 2 } }), "disc", observation)).toBe(3);
    expect(replicasToApply(cluster({ nodes: { disc: 1, ram: 0 } }), "ram", { ...observation, statefulSets: { disc: undefined, ram: undefined } })).toBe(0);
  });
});

describe("nextStep", () => {
  it("does nothing for a cluster in its declared shape", () => {
    expect(nextStep(cluster({ nodes: { disc: 3, ram: 2 } }), settled(3, 2), domain)).toEqual({ kind: "none" });
  });

  it("removes the highest ram node first, then disc nodes", () => {
    const step = nextStep(cluster({ nodes: { disc: 1, ram: 1 } }), settled(3, 2), domain);
    expect(step).toEqual({
      kind: "removeNode",
      type: "ram",
      ordinal: 1,
      pod: "demo-ram-1",
      node: "rabbit@demo-ram-1.demo-nodes.messaging.svc.cluster.local",
      resumed: false,
    });
    const discStep = nextStep(cluster({ nodes: { disc: 1, ram: 2 } }), settled(3, 2), domain);
    expect(discStep).toMatchObject({ kind: "removeNode", type: "disc", ordinal: 2 });
  });

  describe("a removal recorded and interrupted (its node drained, so not ready)", () => {
    const interrupted = () => {
      const observation = settled(3, 0);
      const c = cluster({ nodes: { disc: 3, ram: 0 } });
      observation.pods[2] = { ...observation.pods[2]!, ready: false };
      observation.removal = { node: nodeName(c, "disc", 2, domain), pod: "demo-disc-2", type: "disc", ordinal: 2, startedAt: "2026-01-01T00:00:00Z" };
      return observation;
    };

    it("is resumed while the spec still removes the node, though the cluster is not settled", () => {
      expect(nextStep(cluster({ nodes: { disc: 2, ram: 0 } }), interrupted(), domain)).toEqual({
        kind: "removeNode",
        type: "disc",
        ordinal: 2,
        pod: "demo-disc-2",
        node: nodeName(cluster(), "disc", 2, domain),
        resumed: true,
      });
    });

    it("is reverted (the node revived) when the spec keeps the node again", () => {
      expect(nextStep(cluster({ nodes: { disc: 3, ram: 0 } }), interrupted(), domain)).toEqual({
        kind: "reviveNode",
        pod: "demo-disc-2",
        node: nodeName(cluster(), "disc", 2, domain),
      });
    });

    it("is done once its replica is gone: the usual steps (forget, volume) follow", () => {
      const done = interrupted();
      done.statefulSets.disc = { replicas: 2, readyReplicas: 2, updateRevision: "r1" };
      done.pods = done.pods.filter((p) => p.name !== "demo-disc-2");
      done.rabbitNodes = done.rabbitNodes!.map((n) => (n.name.includes("demo-disc-2") ? { ...n, running: false } : n));
      expect(pendingRemoval(done)).toBeUndefined();
      expect(nextStep(cluster({ nodes: { disc: 2, ram: 0 } }), done, domain)).toMatchObject({
        kind: "forgetNode",
        node: nodeName(cluster(), "disc", 2, domain),
      });
    });
  });

  it("removes nothing while a pod is not ready or a node not running", () => {
    const notReady = settled(3, 0);
    notReady.pods[1] = { ...notReady.pods[1]!, ready: false };
    expect(nextStep(cluster({ nodes: { disc: 2, ram: 0 } }), notReady, domain)).toMatchObject({ kind: "wait", reason: "WaitingForPods" });

    const notRunning = settled(3, 0);
    notRunning.rabbitNodes![0] = { ...notRunning.rabbitNodes![0]!, running: false };
    expect(nextStep(cluster({ nodes: { disc: 2, ram: 0 } }), notRunning, domain)).toMatchObject({ kind: "wait", reason: "WaitingForNodes" });

    const unreachable = { ...settled(3, 0), rabbitNodes: undefined, rabbitError: "connect ECONNREFUSED" };
    expect(nextStep(cluster({ nodes: { disc: 2, ram: 0 } }), unreachable, domain)).toEqual({
      kind: "wait",
      reason: "ManagementAPIUnreachable",
      message: "connect ECONNREFUSED",
    });
  });

  it("forgets a removed node once its pod is gone, from a running disc node", () => {
    const c = cluster({ nodes: { disc: 3, ram: 1 } });
    const observation = settled(3, 2);
    // The ram StatefulSet went down to 1 replica and demo-ram-1 is gone; RabbitMQ still lists it.
    observation.statefulSets.ram = { replicas: 1, readyReplicas: 1, updateRevision: "r1" };
    observation.pods = observation.pods.filter((p) => p.name !== "demo-ram-1");
    observation.rabbitNodes = observation.rabbitNodes!.map((n) => (n.name.includes("demo-ram-1") ? { ...n, running: false } : n));
    expect(nextStep(c, observation, domain)).toEqual({ kind: "forgetNode", node: nodeName(c, "ram", 1, domain), fromPod: "demo-disc-0" });
  });

  it("does not forget a node that is only restarting, nor one it does not know", () => {
    const c = cluster({ nodes: { disc: 3, ram: 0 } });
    const restarting = settled(3, 0);
    restarting.rabbitNodes![2] = { ...restarting.rabbitNodes![2]!, running: false };
    expect(nextStep(c, restarting, domain)).toEqual({ kind: "none" });

    const foreign = settled(3, 0);
    foreign.rabbitNodes!.push({ name: "rabbit@somebody-else", type: "disc", running: false });
    expect(nextStep(c, foreign, domain)).toEqual({ kind: "none" });
  });

  it("deletes the volume of a removed node after it was forgotten, not before", () => {
    const c = cluster({ nodes: { disc: 2, ram: 0 } });
    const observation = settled(3, 0);
    observation.statefulSets.disc = { replicas: 2, readyReplicas: 2, updateRevision: "r1" };
    observation.pods = observation.pods.filter((p) => p.ordinal < 2);
    // Still a (stopped) member: forget first.
    observation.rabbitNodes![2] = { ...observation.rabbitNodes![2]!, running: false };
    expect(nextStep(c, observation, domain)).toMatchObject({ kind: "forgetNode" });
    observation.rabbitNodes = observation.rabbitNodes!.slice(0, 2);
    expect(nextStep(c, observation, domain)).toEqual({ kind: "deleteVolumeClaim", name: "persistence-demo-disc-2" });
  });

  it("restarts outdated pods one at a time from a healthy cluster, ram first", () => {
    const c = cluster({ nodes: { disc: 3, ram: 2 } });
    const observation = settled(3, 2, "old");
    observation.statefulSets.disc!.updateRevision = "new";
    observation.statefulSets.ram!.updateRevision = "new";
    expect(outdatedPods(observation).map((p) => p.name)).toEqual(["demo-ram-1", "demo-ram-0", "demo-disc-2", "demo-disc-1", "demo-disc-0"]);
    expect(nextStep(c, observation, domain)).toMatchObject({ kind: "restartPod", pod: "demo-ram-1" });

    // demo-ram-1 restarted on the new template and is not ready yet: wait.
    observation.pods = observation.pods.map((p) => (p.name === "demo-ram-1" ? { ...p, revision: "new", ready: false } : p));
    expect(nextStep(c, observation, domain)).toMatchObject({ kind: "wait", reason: "WaitingForPods" });
  });

  it("stops a roll at a pod failing on the new template, and replaces at once a pod failing on the old one", () => {
    const c = cluster({ nodes: { disc: 3, ram: 0 } });
    const observation = settled(3, 0, "old");
    observation.statefulSets.disc!.updateRevision = "bad";
    // disc-2 was rolled onto a template with a bad configuration and crash-loops: nothing else rolls.
    const crashing = { ready: false, revision: "bad", failure: "CrashLoopBackOff, exit code 1 after 3 restarts: unknown config key" };
    observation.pods = observation.pods.map((p) => (p.name === "demo-disc-2" ? { ...p, ...crashing } : p));
    expect(nextStep(c, observation, domain)).toMatchObject({ kind: "wait", reason: "WaitingForPods" });

    // The configuration reverted (a new template): the failing pod, now outdated, is replaced
    // though the cluster is not healthy; the healthy ones still wait their turn.
    observation.statefulSets.disc!.updateRevision = "fixed";
    expect(nextStep(c, observation, domain)).toEqual({ kind: "restartPod", pod: "demo-disc-2", node: nodeName(c, "disc", 2, domain) });
  });

  it("rolls nothing while a StatefulSet controller has not seen the new template (its updateRevision is stale)", () => {
    const c = cluster({ nodes: { disc: 3, ram: 2 } });
    const observation = settled(3, 2, "old");
    // The disc StatefulSet has its new revision; the ram one was changed too but not yet seen.
    observation.statefulSets.disc!.updateRevision = "new";
    observation.statefulSets.ram!.updating = true;
    expect(nextStep(c, observation, domain)).toMatchObject({ kind: "wait", reason: "StatefulSetsUpdating" });
    observation.statefulSets.ram = { ...observation.statefulSets.ram!, updating: false, updateRevision: "new" };
    expect(nextStep(c, observation, domain)).toMatchObject({ kind: "restartPod", pod: "demo-ram-1" });
  });
});

describe("quorum queues short of replicas", () => {
  const disc = (ordinal: number) => nodeName(cluster({ nodes: { disc: 1, ram: 0 } }), "disc", ordinal, domain);
  const ram = (ordinal: number) => nodeName(cluster({ nodes: { disc: 1, ram: 0 } }), "ram", ordinal, domain);
  const withQueues = (observation: ClusterObservation, queues: ClusterObservation["quorumQueues"]) => ({ ...observation, quorumQueues: queues });

  it("grows queues of the default size onto new disc nodes after a scale-up, one node and vhost per step, from a running disc pod", () => {
    const observation = withQueues(settled(5, 1), [
      { vhost: "/", name: "b", members: [disc(0), disc(1), disc(2), ram(0)] },
      { vhost: "/", name: "a", members: [disc(0), disc(1), disc(2)] },
      { vhost: "team", name: "c", members: [disc(0), disc(1), disc(2)] },
    ]);
    expect(nextStep(cluster({ nodes: { disc: 5, ram: 1 } }), observation, domain)).toEqual({
      kind: "growQuorumQueues",
      node: disc(3),
      vhost: "/",
      queues: ["a", "b"],
      fromPod: "demo-disc-0",
    });
    // Once those members are there, the next vhost, then the next node.
    observation.quorumQueues![0]!.members.push(disc(3));
    observation.quorumQueues![1]!.members.push(disc(3));
    expect(nextStep(cluster({ nodes: { disc: 5, ram: 1 } }), observation, domain)).toMatchObject({ node: disc(3), vhost: "team", queues: ["c"] });
    observation.quorumQueues![2]!.members.push(disc(3));
    expect(nextStep(cluster({ nodes: { disc: 5, ram: 1 } }), observation, domain)).toMatchObject({ node: disc(4), vhost: "/", queues: ["a", "b"] });
  });

  it("keeps a declared replica count: a queue of 3 on 5 disc nodes is grown only when a member is on a node that leaves", () => {
    const queue = (members: string[]) => [{ vhost: "/", name: "q", members, initialGroupSize: 3 }];
    expect(nextStep(cluster({ nodes: { disc: 5, ram: 0 } }), withQueues(settled(5, 0), queue([disc(2), disc(3), disc(4)])), domain)).toEqual({ kind: "none" });
    // Scaling 5 -> 3: members on disc-3 and disc-4 will go, so two members are added first, on the disc nodes that stay.
    const spec = cluster({ nodes: { disc: 3, ram: 0 } });
    expect(nextStep(spec, withQueues(settled(5, 0), queue([disc(2), disc(3), disc(4)])), domain)).toMatchObject({
      kind: "growQuorumQueues",
      node: disc(0),
      queues: ["q"],
    });
    expect(nextStep(spec, withQueues(settled(5, 0), queue([disc(0), disc(2), disc(3), disc(4)])), domain)).toMatchObject({
      kind: "growQuorumQueues",
      node: disc(1),
      queues: ["q"],
    });
    // Then the nodes leave, each with 3 members left on the nodes that stay.
    expect(nextStep(spec, withQueues(settled(5, 0), queue([disc(0), disc(1), disc(2), disc(3), disc(4)])), domain)).toMatchObject({
      kind: "removeNode",
      ordinal: 4,
    });
  });

  it("never grows beyond the disc nodes there are, counts no ram member, and shrinks nothing", () => {
    const queues = [
      { vhost: "/", name: "five", members: [disc(0), disc(1), disc(2)], initialGroupSize: 5 },
      { vhost: "/", name: "one", members: [disc(1)], initialGroupSize: 1 },
      { vhost: "/", name: "wide", members: [disc(0), disc(1), disc(2), ram(0), ram(1)] },
    ];
    expect(quorumGrowth(cluster({ nodes: { disc: 3, ram: 2 } }), withQueues(settled(3, 2), queues), domain)).toBeUndefined();
    // A queue with a member only on a ram node still gets its disc replicas.
    expect(
      quorumGrowth(cluster({ nodes: { disc: 1, ram: 1 } }), withQueues(settled(1, 1), [{ vhost: "/", name: "r", members: [ram(0)] }]), domain),
    ).toMatchObject({ node: disc(0), queues: ["r"] });
  });

  it("grows nothing while a pod is not ready, and nothing when the queues are not known", () => {
    const observation = withQueues(settled(4, 0), [{ vhost: "/", name: "a", members: [disc(0), disc(1), disc(2)] }]);
    observation.pods[1] = { ...observation.pods[1]!, ready: false };
    expect(nextStep(cluster({ nodes: { disc: 4, ram: 0 } }), observation, domain)).not.toMatchObject({ kind: "growQuorumQueues" });
    expect(quorumGrowth(cluster({ nodes: { disc: 4, ram: 0 } }), settled(4, 0), domain)).toBeUndefined();
  });

  it("takes at most MAX_QUEUES_PER_GROWTH queues in one step", () => {
    const queues = Array.from({ length: MAX_QUEUES_PER_GROWTH + 5 }, (_, i) => ({ vhost: "/", name: `q${String(i).padStart(4, "0")}`, members: [disc(0)] }));
    const step = quorumGrowth(cluster({ nodes: { disc: 2, ram: 0 } }), withQueues(settled(2, 0), queues), domain);
    expect(step?.queues).toHaveLength(MAX_QUEUES_PER_GROWTH);
    expect(step?.queues[0]).toBe("q0000");
  });
});

describe("streamReplicaMoves", () => {
  const c = cluster({ nodes: { disc: 3, ram: 1 } });
  const disc = (ordinal: number) => nodeName(c, "disc", ordinal, domain);
  const ram = (ordinal: number) => nodeName(c, "ram", ordinal, domain);

  it("gives each stream on the leaving disc node a replica on the first staying disc node without one, then takes the leaving one's", () => {
    const observation = settled(4, 1);
    const streams = [
      { vhost: "/", name: "b-everywhere", members: [disc(0), disc(1), disc(2), disc(3), ram(0)] },
      { vhost: "/", name: "a-two", members: [disc(0), disc(3)] },
      { vhost: "/", name: "untouched", members: [disc(0), disc(1)] },
    ];
    expect(streamReplicaMoves(c, observation, disc(3), streams, domain)).toEqual([
      { vhost: "/", name: "a-two", add: disc(1), remove: disc(3), members: [disc(0), disc(1)].sort() },
      { vhost: "/", name: "b-everywhere", remove: disc(3), members: [disc(0), disc(1), disc(2), ram(0)].sort() },
    ]);
  });

  it("moves a ram node's replicas to a disc node, never to another ram node or to a node that leaves too", () => {
    const observation = settled(5, 2);
    // disc 5 -> 3 is under way: disc-3 and disc-4 are leaving as well.
    const streams = [
      { vhost: "v", name: "s", members: [disc(0), disc(1), disc(2), ram(1)] },
      { vhost: "v", name: "t", members: [ram(1)] },
    ];
    expect(streamReplicaMoves(c, observation, ram(1), streams, domain)).toEqual([
      { vhost: "v", name: "s", remove: ram(1), members: [disc(0), disc(1), disc(2)].sort() },
      { vhost: "v", name: "t", add: disc(0), remove: ram(1), members: [disc(0)] },
    ]);
  });
});
