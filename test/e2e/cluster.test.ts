// The `full` profile end to end: a kind cluster with our node, RabbitMQ and operator images.
// Checks what the harness promises (the fence, the CRDs, DNS, the operator image). RabbitMQ in
// the cluster is the subject of rabbit-cluster-controller.test.ts and product.test.ts.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { run, waitFor } from "../../dev/exec.js";
import { fenceStatus, inspectKindNetwork } from "../../dev/host.js";
import { CRDS_DIR, EXAMPLES_DIR, ensureCrdsInstalled } from "./support/crds.js";
import { kubectl, kubectlFailure, kubectlJson } from "./support/kubectl.js";
import { ipv4InSubnet } from "./support/net.js";

const e2e = inject("e2eCluster");

interface Condition {
  type: string;
  status: string;
}
interface Pod {
  metadata: { name: string };
  status: { phase: string; conditions?: Condition[] };
}

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
