// `npm run demo` as a user runs it, both ways: into the e2e cluster with --kubeconfig, and with
// the embedded local cluster it starts itself. Its output must say every object is Ready and the
// round trip delivered; then the teardown commands it printed, run as printed, must leave nothing:
// no object on a finalizer, nothing of the topology in RabbitMQ, the namespaces gone, the operator
// uninstalled (and the embedded cluster deleted). And its command line: --help, bad options.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { GROUP, TOPOLOGY_KINDS } from "../../operator/api/index.js";
import { CommandError, run } from "../../dev/exec.js";
import { fullClusterNames, stopFullCluster } from "../../dev/full-cluster.js";
import { HELM, ensureTool } from "../../dev/go-tools.js";
import { REPO_ROOT } from "../../dev/paths.js";
import { portForward } from "../../dev/port-forward.js";
import { printDiagnostics } from "./support/diagnostics.js";
import { kubectlOn } from "./support/kubectl.js";
import { localManagement, readCredentials, readyOf, type Resource } from "./support/rabbitmq.js";

const e2e = inject("e2eCluster");
/** Where the demo installs the operator (a fixed name: it is what its teardown uninstalls). */
const OPERATOR_NAMESPACE = "rabbit-operator";
/** examples/rabbit-cluster.yaml */
const CLUSTER = "demo";
const TOPOLOGY_PLURALS = TOPOLOGY_KINDS.map((k) => `${k.plural}.${GROUP}`).join(",");
const EMBEDDED_CLUSTER = `e2e-demo-${process.pid}`;

/** `npm run demo -- args` from the repository, as a user types it. */
async function demo(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run("npm", ["run", "--silent", "demo", "--", ...args], { cwd: REPO_ROOT, timeoutMs });
    return { code: 0, stdout, stderr };
  } catch (error) {
    if (error instanceof CommandError && error.exitCode !== null) return { code: error.exitCode, stdout: error.stdout, stderr: error.stderr };
    throw error;
  }
}

/**
 * The commands the demo printed under "Tear down", and the environment lines it printed for them
 * (export KUBECONFIG, the aliases of the kubectl and helm it used), as a user copies them.
 */
function teardownOf(output: string): { kubeconfig: string; prelude: string[]; commands: string[] } {
  const lines = output.split("\n");
  const prelude = lines.map((l) => l.trim()).filter((l) => l.startsWith("export KUBECONFIG=") || l.startsWith("alias "));
  const kubeconfig = prelude.find((l) => l.startsWith("export KUBECONFIG="))?.slice("export KUBECONFIG=".length);
  const start = lines.findIndex((l) => l.startsWith("Tear down"));
  if (start < 0 || !kubeconfig) throw new Error(`the demo printed no teardown or no KUBECONFIG:\n${output}`);
  const commands = lines
    .slice(start + 1)
    .filter((l) => l.startsWith("  "))
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l.length > 0);
  return { kubeconfig, prelude, commands };
}

let logDir: string;

beforeAll(async () => {
  logDir = await mkdtemp(join(tmpdir(), "rabbit-operator-e2e-demo-"));
});

afterAll(async () => {
  // What a failed test left in the e2e cluster: the topology while the operator runs, then the rest.
  const { kubectl } = kubectlOn(inject("kubeconfig"));
  await kubectl(["-n", "e2e-demo", "delete", TOPOLOGY_PLURALS, "--all", "--timeout=120s"], { timeoutMs: 150_000 }).catch(() => undefined);
  await kubectl(["delete", "namespace", "e2e-demo", "--ignore-not-found", "--timeout=300s"], { timeoutMs: 320_000 }).catch(() => undefined);
  const env = { ...process.env, KUBECONFIG: inject("kubeconfig") };
  await run(await ensureTool(HELM), ["uninstall", "rabbit-operator", "-n", OPERATOR_NAMESPACE, "--wait", "--ignore-not-found"], {
    env,
    timeoutMs: 150_000,
  }).catch(() => undefined);
  await kubectl(["delete", "namespace", OPERATOR_NAMESPACE, "--ignore-not-found", "--timeout=120s"], { timeoutMs: 150_000 }).catch(() => undefined);
  if ((await fullClusterNames()).includes(EMBEDDED_CLUSTER)) await stopFullCluster(EMBEDDED_CLUSTER);
  await rm(logDir, { recursive: true, force: true });
}, 900_000);

describe("npm run demo", () => {
  it("--help prints every option and exits 0", async () => {
    const { code, stdout } = await demo(["--help"]);
    expect(code).toBe(0);
    for (const option of ["--kubeconfig", "--cluster-name", "--namespace", "--operator-image", "--rabbitmq-image", "--timeout-minutes"])
      expect(stdout).toContain(option);
  });

  it("refuses an unknown option or a bad value with one line saying what is wrong, exit code 2", async () => {
    const unknown = await demo(["--kubeconfg", "x"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe("demo: unknown option '--kubeconfg'; see npm run demo -- --help");
    const bad = await demo(["--kubeconfig", "/nonexistent", "--timeout-minutes", "soon"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe("demo: --timeout-minutes takes a positive number, not soon");
    const missing = join(logDir, "no-such-kubeconfig");
    expect(await demo(["--kubeconfig", missing])).toMatchObject({ code: 2, stderr: `demo: --kubeconfig ${missing}: no such file\n` });
  });

  const variants = [
    {
      title: "--kubeconfig: installs into a cluster that exists",
      namespace: "e2e-demo",
      args: () => [
        "--kubeconfig",
        inject("kubeconfig"),
        "--namespace",
        "e2e-demo",
        "--operator-image",
        e2e.operatorImage,
        "--rabbitmq-image",
        e2e.rabbitmqImage,
      ],
      embedded: false,
    },
    // As a user types it: the default namespace, rabbit-demo.
    { title: "embedded: starts its own local cluster", namespace: "rabbit-demo", args: () => ["--cluster-name", EMBEDDED_CLUSTER], embedded: true },
  ];
  for (const variant of variants) {
    it(`${variant.title}; every object Ready, the round trip delivered; its printed teardown leaves nothing`, async () => {
      const started = Date.now();
      const { code, stdout, stderr } = await demo(variant.args(), 1_800_000);
      console.log(`npm run demo (${variant.title}): exit ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s\n${stdout}${stderr}`);
      expect(code).toBe(0);
      const { kubeconfig, prelude, commands } = teardownOf(stdout);
      const { kubectl, kubectlJson: json } = kubectlOn(kubeconfig);
      const namespace = variant.namespace;
      try {
        const topologyCount = (await readFile(join(REPO_ROOT, "examples", "topology.yaml"), "utf8")).match(/^kind: /gm)!.length;
        expect(stdout).toContain(`RabbitCluster ${CLUSTER}: Ready; topology ${topologyCount}/${topologyCount} Ready`);
        expect(stdout).toContain("delivered 10/10: worker-1 got 5, worker-2 got 5 (round-robin)");
        // What it printed agrees with the cluster.
        const objects = await json<{ items: Resource[] }>(["-n", namespace, "get", `rabbitclusters.${GROUP},${TOPOLOGY_PLURALS}`]);
        expect(objects.items.length).toBe(topologyCount + 1);
        expect(objects.items.filter((o) => !readyOf(o)).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);

        const shell = (command: string) =>
          run("bash", ["-ec", ["shopt -s expand_aliases", ...prelude, command].join("\n")], { cwd: REPO_ROOT, timeoutMs: 600_000 });
        const clusterDeletion = commands.findIndex((c) => c.includes(`delete rabbitclusters.${GROUP}`));
        expect(clusterDeletion, commands.join("\n")).toBeGreaterThan(0);
        const topologyDeletion = Date.now();
        for (const command of commands.slice(0, clusterDeletion)) await shell(command);
        console.log(`topology deleted in ${((Date.now() - topologyDeletion) / 1000).toFixed(1)} s`);

        // The topology is gone from Kubernetes (no object held by a finalizer) and from RabbitMQ:
        // what is left is what the cluster itself brings (the default vhost and user, the built-in
        // exchanges, the RabbitCluster's own policies).
        const left = await json<{ items: Resource[] }>(["-n", namespace, "get", TOPOLOGY_PLURALS]);
        expect(left.items.map((o) => `${o.kind}/${o.metadata.name} finalizers=${o.metadata.finalizers?.join(",") ?? ""}`)).toEqual([]);
        const admin = await readCredentials(namespace, `${CLUSTER}-default-user`, kubeconfig);
        const management = await portForward(kubeconfig, namespace, `pod/${CLUSTER}-disc-0`, 15672, join(logDir, `management-${namespace}.log`));
        try {
          const client = localManagement(admin, management.localPort);
          expect((await client.listVhosts()).map((v) => v.name)).toEqual(["/"]);
          expect((await client.listUsers()).map((u) => u.name)).toEqual([admin.username]);
          expect((await client.listPermissions()).map((p) => `${p.user}@${p.vhost}`)).toEqual([`${admin.username}@/`]);
          expect(await client.listQueueDefinitions()).toEqual([]);
          expect((await client.listExchanges()).map((e) => e.name).filter((name) => name !== "" && !name.startsWith("amq."))).toEqual([]);
          expect((await client.listPolicies()).map((p) => p.name)).toEqual(["limit-backlog"]);
        } finally {
          await management.stop();
        }

        const tearingDown = Date.now();
        for (const command of commands.slice(clusterDeletion)) await shell(command);
        console.log(
          `cluster, namespaces and operator${variant.embedded ? " and the embedded cluster" : ""} removed in ${((Date.now() - tearingDown) / 1000).toFixed(1)} s`,
        );
      } catch (error) {
        if (!variant.embedded || (await fullClusterNames()).includes(EMBEDDED_CLUSTER))
          await printDiagnostics([namespace, OPERATOR_NAMESPACE], kubeconfig).catch(() => undefined);
        throw error;
      }
      if (variant.embedded) {
        expect(await fullClusterNames()).not.toContain(EMBEDDED_CLUSTER);
        return;
      }
      expect(await kubectl(["get", "namespace", namespace, OPERATOR_NAMESPACE, "--ignore-not-found", "-o", "name"])).toBe("");
      expect((await kubectl(["get", "clusterroles,clusterrolebindings", "-l", "app.kubernetes.io/instance=rabbit-operator", "-o", "name"])).trim()).toBe("");
    }, 2_400_000);
  }
});
