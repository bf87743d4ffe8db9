import { describe, expect, it } from "vitest";
import { containerFailure, type ClusterObservation } from "../../../operator/controllers/rabbit-cluster/observation.js";
import { allReplicasReady, clusterAvailable, ramNodesRefused, ready, statusDetails } from "../../../operator/controllers/rabbit-cluster/status.js";
import { nodeName } from "../../../operator/resources/names.js";
import { cluster } from "../fixtures.js";

const domain = "cluster.local";
const ok = { type: "ReconcileSuccess", status: "True" as const, reason: "Success", message: "" };
const c = cluster({ nodes: { disc: 2, ram: 1 } });

function observation(): ClusterObservation {
  return {
    statefulSets: { disc: { replicas: 2, readyReplicas: 2 }, ram: { replicas: 1, readyReplicas: 1 } },
    pods: [
      { name: "demo-disc-0", type: "disc", ordinal: 0, ready: true, terminating: false },
      { name: "demo-disc-1", type: "disc", ordinal: 1, ready: true, terminating: false },
      { name: "demo-ram-0", type: "ram", ordinal: 0, ready: true, terminating: false },
    ],
    volumeClaims: [],
    rabbitNodes: [
      { name: nodeName(c, "disc", 0, domain), type: "disc", running: true },
      { name: nodeName(c, "disc", 1, domain), type: "disc", running: true },
      { name: nodeName(c, "ram", 0, domain), type: "ram", running: true },
    ],
  };
}

describe("RabbitCluster conditions", () => {
  it("are all True for a cluster in its declared shape", () => {
    expect(allReplicasReady(c, observation())).toMatchObject({ status: "True", message: "2/2 disc, 1/1 ram nodes ready" });
    expect(clusterAvailable(observation())).toMatchObject({ status: "True" });
    expect(ready(c, observation(), domain, ok)).toMatchObject({ status: "True", reason: "ClusterReady" });
  });

  it("name a failing pod with RabbitMQ's last log lines, which Ready carries too", () => {
    const o = observation();
    o.pods[1] = { ...o.pods[1]!, ready: false, failure: "CrashLoopBackOff, exit code 1 after 4 restarts: ERROR: unknown key foo.bar" };
    const expected = {
      status: "False",
      reason: "PodFailing",
      message: "1/2 disc, 1/1 ram nodes ready; pod demo-disc-1: CrashLoopBackOff, exit code 1 after 4 restarts: ERROR: unknown key foo.bar",
    };
    expect(allReplicasReady(c, o)).toMatchObject(expected);
    expect(ready(c, o, domain, ok)).toMatchObject(expected);
  });

  it("read a container's failure from its status: crash loop with its termination message, image errors; nothing while it starts", () => {
    const log = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`).join("\n");
    expect(
      containerFailure({
        name: "rabbitmq",
        image: "x",
        imageID: "",
        ready: false,
        restartCount: 3,
        state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container" } },
        lastState: { terminated: { exitCode: 1, reason: "Error", message: log } },
      }),
    ).toBe("CrashLoopBackOff, exit code 1 after 3 restarts: line 5 | line 6 | line 7 | line 8 | line 9 | line 10 | line 11 | line 12");
    expect(
      containerFailure({
        name: "rabbitmq",
        image: "x",
        imageID: "",
        ready: false,
        restartCount: 0,
        state: { waiting: { reason: "ErrImageNeverPull", message: "image not present" } },
      }),
    ).toBe("ErrImageNeverPull: image not present");
    expect(
      containerFailure({ name: "rabbitmq", image: "x", imageID: "", ready: false, restartCount: 0, state: { waiting: { reason: "ContainerCreating" } } }),
    ).toBeUndefined();
    expect(containerFailure({ name: "rabbitmq", image: "x", imageID: "", ready: false, restartCount: 0, state: { running: {} } })).toBeUndefined();
    // RabbitMQ exits 0 when it cannot boot: a crash loop all the same, explained by its log's first errors.
    const bootLog = [
      "2026-12-02 01:40:57.410899+00:00 [error] <0.132.0> You've tried to set no_such.setting, but there is no setting with that name.",
      "2026-12-02 01:40:57.410950+00:00 [info] <0.132.0> something else",
      "2026-12-02 01:40:57.558112+00:00 [error] <0.132.0> Error preparing configuration in phase transform_datatypes:",
      "2026-12-02 01:40:57.558176+00:00 [error] <0.132.0>   - Conf file attempted to set unknown variable: no_such.setting",
      "Kernel pid terminated (application_controller)",
    ].join("\n");
    expect(
      containerFailure(
        {
          name: "rabbitmq",
          image: "x",
          imageID: "",
          ready: false,
          restartCount: 2,
          state: { waiting: { reason: "CrashLoopBackOff" } },
          lastState: { terminated: { exitCode: 0, reason: "Completed" } },
        },
        bootLog,
      ),
    ).toBe(
      "CrashLoopBackOff, exit code 0 after 2 restarts: You've tried to set no_such.setting, but there is no setting with that name. | Error preparing configuration in phase transform_datatypes: | - Conf file attempted to set unknown variable: no_such.setting",
    );
    // Stopped cleanly (exit 0) before a restart, and running again: not a failure.
    expect(
      containerFailure({
        name: "rabbitmq",
        image: "x",
        imageID: "",
        ready: false,
        restartCount: 1,
        state: { running: {} },
        lastState: { terminated: { exitCode: 0 } },
      }),
    ).toBeUndefined();
  });

  it("are not Ready while a node removal is under way, however ready its drained pod still looks", () => {
    const o = {
      ...observation(),
      removal: { node: nodeName(c, "ram", 0, domain), pod: "demo-ram-0", type: "ram" as const, ordinal: 0, startedAt: "2026-12-02T00:00:00Z" },
    };
    expect(ready(c, o, domain, ok)).toEqual({
      type: "Ready",
      status: "False",
      reason: "RemovingNode",
      message: `${nodeName(c, "ram", 0, domain)} is being removed (drained since 2026-12-02T00:00:00Z)`,
    });
    // Its replica gone: the removal is over.
    o.statefulSets.ram = { replicas: 0, readyReplicas: 0 };
    expect(ready(c, o, domain, ok).reason).not.toBe("RemovingNode");
  });

  it("do not count a terminating pod as ready", () => {
    const o = observation();
    o.pods[2] = { ...o.pods[2]!, terminating: true };
    expect(allReplicasReady(c, o)).toMatchObject({ status: "False", reason: "NotAllPodsReady", message: "2/2 disc, 0/1 ram nodes ready" });
    expect(ready(c, o, domain, ok)).toMatchObject({ status: "False", reason: "NotAllPodsReady" });
  });

  it("report a ram node that came up as disc, and leftover members", () => {
    const o = observation();
    o.rabbitNodes![2] = { ...o.rabbitNodes![2]!, type: "disc" };
    o.rabbitNodes!.push({ name: "rabbit@demo-disc-2.demo-nodes.messaging.svc.cluster.local", type: "disc", running: false });
    const condition = ready(c, o, domain, ok);
    expect(condition).toMatchObject({ status: "False", reason: "MembershipMismatch" });
    expect(condition.message).toContain("demo-ram-0.demo-nodes.messaging.svc.cluster.local is a disc node, not ram");
    expect(condition.message).toContain("demo-disc-2.demo-nodes.messaging.svc.cluster.local is a member but not declared");
  });

  it("refuse ram nodes on a cluster whose metadata store is Khepri, which made them disc nodes, and say the way out", () => {
    const o = { ...observation(), runtime: { version: "4.0.5", metadataStore: "khepri" as const } };
    // What RabbitMQ does when khepri_db is enabled: every ram node becomes a disc node.
    o.rabbitNodes = o.rabbitNodes!.map((node) => ({ ...node, type: "disc" as const }));
    const condition = ready(c, o, domain, ok);
    expect(condition).toMatchObject({ status: "False", reason: "RamNodesUnsupported" });
    expect(condition.message).toContain("RabbitMQ 4.0.5 keeps its metadata in Khepri (feature flag khepri_db is enabled)");
    expect(condition.message).toContain("Declare spec.nodes.ram: 0 and spec.nodes.disc: 3");
    // Without ram nodes declared, Khepri is no problem.
    expect(ramNodesRefused(cluster({ nodes: { disc: 3, ram: 0 } }), o)).toBeUndefined();
  });

  it("show the version and metadata store RabbitMQ reports, and the deprecated ram node type on 4.x only", () => {
    const on4 = { ...observation(), runtime: { version: "4.0.5", metadataStore: "mnesia" as const } };
    const details = statusDetails(c, on4, domain);
    expect(details.rabbitmq).toMatchObject({ version: "4.0.5", metadataStore: "mnesia" });
    expect(details.rabbitmq?.deprecatedFeaturesUsed).toHaveLength(1);
    expect(details.rabbitmq?.deprecatedFeaturesUsed?.[0]).toMatch(/^ram_node_type: ram nodes are deprecated since RabbitMQ 4.0/);
    expect(ready(c, on4, domain, ok)).toMatchObject({ status: "True" });
    const on310 = { ...observation(), runtime: { version: "3.10.8", metadataStore: "mnesia" as const } };
    expect(statusDetails(c, on310, domain).rabbitmq).toEqual({ version: "3.10.8", metadataStore: "mnesia" });
    expect(statusDetails(c, observation(), domain)).not.toHaveProperty("rabbitmq");
  });

  it("say why the cluster is unavailable", () => {
    const o = { ...observation(), rabbitNodes: undefined, rabbitError: "GET /api/nodes: 401 Unauthorized" };
    expect(clusterAvailable(o)).toEqual({
      type: "ClusterAvailable",
      status: "False",
      reason: "ManagementAPIUnreachable",
      message: "GET /api/nodes: 401 Unauthorized",
    });
    expect(ready(c, o, domain, ok)).toMatchObject({ status: "False", reason: "ManagementAPIUnreachable" });
  });

  it("pass a failed reconcile on to Ready", () => {
    const failed = { type: "ReconcileSuccess", status: "False" as const, reason: "RamNodesUnsupported", message: "no ram nodes on 4.2" };
    expect(ready(c, observation(), domain, failed)).toMatchObject({ status: "False", reason: "RamNodesUnsupported" });
  });

  it("give endpoints and the default user", () => {
    expect(statusDetails(c, observation(), domain)).toMatchObject({
      endpoints: { amqp: "amqp://demo.messaging.svc.cluster.local:5672", management: "http://demo.messaging.svc.cluster.local:15672" },
      defaultUser: { secretReference: { name: "demo-default-user", namespace: "messaging" } },
    });
  });
});
