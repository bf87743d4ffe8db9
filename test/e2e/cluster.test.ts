// The `full` profile end to end: a kind cluster with our node, RabbitMQ and operator images.
// Checks what the harness promises (the fence, the CRDs, storage, DNS, exec, logs,
// port-forward) and that our RabbitMQ image forms one cluster in the operator's pod layout.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { run, waitFor } from "../harness/exec.js";
import { fenceStatus, inspectKindNetwork } from "../harness/host.js";
import { CRDS_DIR, EXAMPLES_DIR, ensureCrdsInstalled } from "./support/crds.js";
import { kubectl, kubectlFailure, kubectlJson } from "./support/kubectl.js";
import { ipv4InSubnet } from "./support/net.js";
import { portForward } from "./support/port-forward.js";
import { deployRabbitCluster, type DeployedRabbitCluster } from "./support/rabbit-cluster.js";

const e2e = inject("e2eCluster");

interface Condition {
  type: string;
  status: string;
}
interface Pod {
  metadata: { name: string };
  status: { phase: string; conditions?: Condition[] };
}

let logDir: string;
beforeAll(async () => {
  logDir = await mkdtemp(join(tmpdir(), "rabbit-operator-e2e-"));
});
afterAll(async () => {
  await rm(logDir, { recursive: true, force: true });
});

describe.runIf(e2e.provider === "podman")("the egress fence", () => {
  it("is in place while the cluster runs, for the network the node is on", async () => {
    // The rules themselves, read back from iptables and ip6tables: no traffic is sent anywhere.
    const status = await fenceStatus();
    expect(status.missing).toEqual([]);
    expect(status.ok).toBe(true);

    const network = await inspectKindNetwork();
    expect(network).toBeDefined();
    const nodes = await kubectlJson<{ items: { metadata: { name: string }; status: { addresses: { type: string; address: string }[] } }[] }>(["get", "nodes"]);
    for (const node of nodes.items) {
      const internal = node.status.addresses.find((a) => a.type === "InternalIP")!.address;
      expect(ipv4InSubnet(internal, network!.ipv4.subnet), `${node.metadata.name} ${internal} in ${network!.ipv4.subnet}`).toBe(true);
    }
  });

  it("keeps DNS inside: the node resolves through 127.0.0.1, CoreDNS's upstream is the node itself", async () => {
    const nodes = await kubectlJson<{ items: { metadata: { name: string }; status: { addresses: { type: string; address: string }[] } }[] }>(["get", "nodes"]);
    const node = nodes.items[0]!;
    const internal = node.status.addresses.find((a) => a.type === "InternalIP")!.address;
    // kind names the node container after the node.
    const inNode = async (args: string[]) => (await run("podman", ["exec", node.metadata.name, ...args])).stdout;
    expect((await inNode(["cat", "/etc/resolv.conf"])).trim()).toBe("nameserver 127.0.0.1");
    const kubeletConfig = await inNode(["cat", "/var/lib/kubelet/config.yaml"]);
    const resolvConf = /^resolvConf: (\S+)$/m.exec(kubeletConfig)?.[1];
    expect(resolvConf).toBe("/kind/kubelet-resolv.conf");
    expect((await inNode(["cat", resolvConf!])).trim()).toBe(`nameserver ${internal}`);
    // Nothing answers DNS on the node's address (CoreDNS listens in its own pods).
    expect(await inNode(["ss", "-Hlntu", "sport", "=", ":53"])).toBe("");
  });
});

describe("the API", () => {
  it("accepts every CRD, then every example, in a server-side dry run", async () => {
    const crds = (await readdir(CRDS_DIR)).filter((f) => f.endsWith(".yaml"));
    expect(crds.length).toBeGreaterThan(0);
    const crdOutput = await kubectl(["apply", "--dry-run=server", "-f", CRDS_DIR]);
    expect(crdOutput.trim().split("\n")).toHaveLength(crds.length);

    // A custom resource can be dry-run only against CRDs that exist.
    await ensureCrdsInstalled();
    for (const example of (await readdir(EXAMPLES_DIR)).filter((f) => f.endsWith(".yaml"))) {
      const output = await kubectl(["apply", "--dry-run=server", "-n", "default", "-f", join(EXAMPLES_DIR, example)]);
      expect(output, example).toMatch(/\(server dry run\)/);
    }
  });

  it("rejects a Queue whose cluster reference has both name and connectionSecret, with its CEL message", async () => {
    await ensureCrdsInstalled();
    const queue = {
      apiVersion: "rabbit.operator.dev/v1alpha1",
      kind: "Queue",
      metadata: { name: "both-references", namespace: "default" },
      spec: { name: "jobs", rabbitmqClusterReference: { name: "demo", connectionSecret: { name: "legacy" } } },
    };
    const error = await kubectlFailure(["apply", "--dry-run=server", "-f", "-"], { input: JSON.stringify(queue) });
    expect(error).toContain("exactly one of name or connectionSecret must be set");
  });
});

describe("a 3-node RabbitMQ cluster from our image, in the operator's pod layout", () => {
  const namespace = "e2e-rabbitmq";
  const name = "rabbit";
  const pods = [0, 1, 2].map((ordinal) => `${name}-disc-${ordinal}`);
  let deployed: DeployedRabbitCluster;

  beforeAll(async () => {
    deployed = await deployRabbitCluster(namespace, name, e2e.rabbitmqImage, 3);
    let last = "";
    try {
      await waitFor(
        "3 RabbitMQ pods Ready",
        async () => {
          const list = await kubectlJson<{ items: Pod[] }>(["-n", namespace, "get", "pods", "-l", `app.kubernetes.io/instance=${name}`]);
          last = list.items.map((p) => `${p.metadata.name} ${p.status.phase}`).join(", ");
          return list.items.length === 3 && list.items.every((p) => p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
        },
        { timeoutMs: 600_000, intervalMs: 2000 },
      );
    } catch (error) {
      const describe = await kubectl(["-n", namespace, "describe", "pods"]).catch((e: unknown) => String(e));
      throw new Error(`${String(error)}\nlast seen: ${last}\n${describe}`);
    }
  }, 900_000);

  afterAll(async () => {
    // The harness deletes the whole cluster; a reused one gets its namespace back clean.
    await kubectl(["delete", "namespace", namespace, "--wait=false"]).catch(() => undefined);
  });

  it("runs every pod with its volume Bound", async () => {
    const list = await kubectlJson<{ items: Pod[] }>(["-n", namespace, "get", "pods", "-l", `app.kubernetes.io/instance=${name}`]);
    expect(list.items.map((p) => [p.metadata.name, p.status.phase]).sort()).toEqual(pods.map((p) => [p, "Running"]));
    const claims = await kubectlJson<{ items: { metadata: { name: string }; status: { phase: string } }[] }>(["-n", namespace, "get", "pvc"]);
    expect(claims.items.map((c) => [c.metadata.name, c.status.phase]).sort()).toEqual(pods.map((p) => [`persistence-${p}`, "Bound"]));
  });

  it("forms ONE RabbitMQ cluster of all three nodes, seen alike from each (kubectl exec)", async () => {
    const expected = pods.map((pod) => `rabbit@${pod}.${name}-nodes.${namespace}.svc.cluster.local`).sort();
    for (const pod of pods) {
      const status = JSON.parse(await kubectl(["-n", namespace, "exec", pod, "-c", "rabbitmq", "--", "rabbitmqctl", "cluster_status", "--formatter", "json"])) as {
        running_nodes: string[];
        disk_nodes: string[];
      };
      expect(status.running_nodes.sort(), pod).toEqual(expected);
      expect(status.disk_nodes.sort(), pod).toEqual(expected);
    }
  });

  it("runs RabbitMQ as uid 999 with its data on the volume (kubectl exec)", async () => {
    expect((await kubectl(["-n", namespace, "exec", pods[0]!, "-c", "rabbitmq", "--", "id", "-u"])).trim()).toBe("999");
    const mnesia = await kubectl(["-n", namespace, "exec", pods[0]!, "-c", "rabbitmq", "--", "ls", "/var/lib/rabbitmq/mnesia"]);
    expect(mnesia).toContain(`rabbit@${pods[0]}.${name}-nodes.${namespace}.svc.cluster.local`);
  });

  it("logs to stdout (kubectl logs)", async () => {
    const logs = await kubectl(["-n", namespace, "logs", pods[0]!, "-c", "rabbitmq"]);
    expect(logs).toContain("Server startup complete");
  });

  it("serves the management API through kubectl port-forward on 127.0.0.1", async () => {
    const forward = await portForward(namespace, `pod/${pods[1]}`, 15672, join(logDir, "port-forward.log"));
    try {
      const { username, password } = deployed.context.defaultUser;
      const response = await fetch(`http://127.0.0.1:${forward.localPort}/api/nodes`, {
        headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` },
        signal: AbortSignal.timeout(15_000),
      });
      expect(response.status).toBe(200);
      const nodes = (await response.json()) as { name: string; running: boolean; type: string }[];
      expect(nodes.map((n) => [n.running, n.type])).toEqual([
        [true, "disc"],
        [true, "disc"],
        [true, "disc"],
      ]);
    } finally {
      await forward.stop();
    }
  });
});

describe("the operator image", () => {
  const namespace = "e2e-operator-image";

  afterAll(async () => {
    await kubectl(["delete", "namespace", namespace, "--wait=false"]).catch(() => undefined);
  });

  it("runs Node.js 20 as a non-root user with the build output in place", async () => {
    await kubectl(["create", "namespace", namespace]);
    const script = "console.log(JSON.stringify({ version: process.version, uid: process.getuid(), dist: require('fs').existsSync('dist') }))";
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "node-check", namespace },
      spec: {
        restartPolicy: "Never",
        securityContext: { runAsNonRoot: true },
        containers: [
          {
            name: "node",
            image: e2e.operatorImage,
            imagePullPolicy: "Never",
            command: ["node", "-e", script],
            securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
          },
        ],
      },
    };
    await kubectl(["apply", "-f", "-"], { input: JSON.stringify(pod) });
    await waitFor(
      "the node-check pod to finish",
      async () => {
        const phase = (await kubectlJson<Pod>(["-n", namespace, "get", "pod", "node-check"])).status.phase;
        if (phase === "Failed") throw new Error(`node-check failed: ${await kubectl(["-n", namespace, "logs", "node-check"])}`);
        return phase === "Succeeded";
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    const report = JSON.parse(await kubectl(["-n", namespace, "logs", "node-check"])) as { version: string; uid: number; dist: boolean };
    expect(report.version).toMatch(/^v20\./);
    expect(report.uid).toBe(65532);
    expect(report.dist).toBe(true);
  });
});
