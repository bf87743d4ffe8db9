// The README's kubectl path, run as written: its install block (CRDs applied server-side, the
// operator rendered by `helm template` and applied, the examples applied and waited for), then
// its removal block. Two substitutions only, the ones a user without a registry makes too: the
// operator image in the helm template lines, and the RabbitMQ image in the example cluster.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parseAllDocuments, parseDocument } from "yaml";
import { GROUP, TOPOLOGY_KINDS } from "../../operator/api/index.js";
import { run } from "../../dev/exec.js";
import { HELM, ensureTool } from "../../dev/go-tools.js";
import { REPO_ROOT } from "../../dev/paths.js";
import { portForward } from "../../dev/port-forward.js";
import { printDiagnostics } from "./support/diagnostics.js";
import { kubectl, kubectlJson, kubectlPath } from "./support/kubectl.js";
import { localManagement, readCredentials, readyOf, type Resource } from "./support/rabbitmq.js";

const e2e = inject("e2eCluster");
/** The README's own names: the operator's namespace, and where the examples land (the current namespace). */
const OPERATOR_NAMESPACE = "rabbit-operator";
const NAMESPACE = "default";
const TOPOLOGY_PLURALS = TOPOLOGY_KINDS.map((k) => `${k.plural}.${GROUP}`).join(",");

/** The shell blocks of the README's "### kubectl" section, in order. */
async function readmeKubectlBlocks(): Promise<string[][]> {
  const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.split(/^### kubectl$/m)[1]?.split(/^#{2,3} /m)[0];
  if (!section) throw new Error("README.md has no ### kubectl section");
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) =>
    match[1]!
      .split("\n")
      .map((line) => line.replace(/\s+#.*$/, "").trim())
      .filter((line) => line !== "" && !line.startsWith("#")),
  );
}

/** The operator image this run built, in the helm template lines; it exists only on the kind node. */
function withOperatorImage(command: string): string {
  const colon = e2e.operatorImage.lastIndexOf(":");
  const image = `--set image.repository=${e2e.operatorImage.slice(0, colon)} --set image.tag=${e2e.operatorImage.slice(colon + 1)} --set image.pullPolicy=Never`;
  return command.replace(/^helm template (\S+) (\S+)/, `helm template $1 $2 ${image}`);
}

interface Example {
  kind: string;
  metadata: { name: string };
  spec: { name?: string; vhost?: string; type?: string; image?: string };
}

let workDir: string;
let shell: (command: string) => Promise<string>;
let examples: Example[];

beforeAll(async () => {
  // A copy of what the commands read, with the example cluster on the RabbitMQ image built here.
  workDir = await mkdtemp(join(tmpdir(), "rabbit-operator-e2e-kubectl-"));
  for (const dir of ["crds", "charts", "examples"]) await cp(join(REPO_ROOT, dir), join(workDir, dir), { recursive: true });
  const clusterFile = join(workDir, "examples", "rabbit-cluster.yaml");
  const cluster = parseDocument(await readFile(clusterFile, "utf8"));
  cluster.setIn(["spec", "image"], e2e.rabbitmqImage);
  await writeFile(clusterFile, cluster.toString());
  examples = parseAllDocuments(await readFile(join(workDir, "examples", "topology.yaml"), "utf8"))
    .map((doc) => doc.toJSON() as Example | null)
    .filter((doc): doc is Example => Boolean(doc?.kind));

  const [kubectlBinary, helmBinary] = await Promise.all([kubectlPath(), ensureTool(HELM)]);
  const env = { ...process.env, KUBECONFIG: inject("kubeconfig") };
  shell = async (command) => {
    const script = ["set -eo pipefail", `kubectl() { ${kubectlBinary} "$@"; }`, `helm() { ${helmBinary} "$@"; }`, command].join("\n");
    const { stdout, stderr } = await run("bash", ["-c", script], { cwd: workDir, env, timeoutMs: 1_200_000 });
    return stdout + stderr;
  };
}, 600_000);

afterAll(async () => {
  // Whatever a failed test left: the topology while the operator still runs, then the rest.
  await kubectl(["-n", NAMESPACE, "delete", TOPOLOGY_PLURALS, "--all", "--timeout=120s"], { timeoutMs: 150_000 }).catch(() => undefined);
  await kubectl(["-n", NAMESPACE, "delete", `rabbitclusters.${GROUP}`, "--all", "--timeout=180s"], { timeoutMs: 200_000 }).catch(() => undefined);
  await kubectl(["delete", "namespace", OPERATOR_NAMESPACE, "--ignore-not-found", "--timeout=120s"], { timeoutMs: 150_000 }).catch(() => undefined);
  await kubectl(["delete", "clusterroles,clusterrolebindings", "-l", "app.kubernetes.io/instance=rabbit-operator", "--ignore-not-found"]).catch(
    () => undefined,
  );
  await rm(workDir, { recursive: true, force: true });
}, 600_000);

describe("the README's kubectl path", () => {
  it("installs with kubectl apply of crds/, helm template and the examples, all Ready and in RabbitMQ; its removal block leaves nothing", async () => {
    const [install, removal] = await readmeKubectlBlocks();
    expect(install?.length, "the install block").toBeGreaterThan(0);
    expect(removal?.length, "the removal block").toBeGreaterThan(0);
    expect(install!.some((c) => c.startsWith("helm template "))).toBe(true);
    try {
      const started = Date.now();
      const outputs = new Map<string, string>();
      for (const command of install!) outputs.set(command, await shell(withOperatorImage(command)));
      // What its last line shows: every object of ours, each by its kind and name.
      const listing = outputs.get(install!.at(-1)!)!;
      expect(install!.at(-1)).toMatch(/^kubectl get /);
      for (const example of [...examples, { kind: "RabbitCluster", metadata: { name: "demo" } }])
        expect(listing, example.kind).toContain(`${example.kind.toLowerCase()}.${GROUP}/${example.metadata.name} `);
      console.log(`README kubectl install block: everything Ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

      const objects = await kubectlJson<{ items: Resource[] }>(["-n", NAMESPACE, "get", `rabbitclusters.${GROUP},${TOPOLOGY_PLURALS}`]);
      expect(objects.items).toHaveLength(examples.length + 1);
      expect(objects.items.filter((o) => !readyOf(o)).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
      // The operator runs from the rendered chart with the image given, under its own ServiceAccount.
      const deployment = await kubectlJson<{ spec: { template: { spec: { serviceAccountName: string; containers: { image: string }[] } } } }>([
        "-n",
        OPERATOR_NAMESPACE,
        "get",
        "deployment",
        "rabbit-operator",
      ]);
      expect(deployment.spec.template.spec.containers[0]!.image).toBe(e2e.operatorImage);
      expect(deployment.spec.template.spec.serviceAccountName).toBe("rabbit-operator");

      // RabbitMQ has the examples' queues, each of its declared type, in its vhost.
      const admin = await readCredentials(NAMESPACE, "demo-default-user");
      const management = await portForward(inject("kubeconfig"), NAMESPACE, "pod/demo-disc-0", 15672, join(workDir, "management.log"));
      const declaredQueues = examples
        .filter((e) => e.kind === "Queue")
        .map((q) => `${q.spec.vhost ?? "/"}/${q.spec.name ?? q.metadata.name} ${q.spec.type ?? "classic"}`)
        .sort();
      try {
        const client = localManagement(admin, management.localPort);
        const queues = (await client.listQueueDefinitions()).map((q) => `${q.vhost}/${q.name} ${q.type}`).sort();
        expect(queues).toEqual(declaredQueues);

        for (const command of removal!.filter((c) => c.includes("examples/topology.yaml"))) await shell(command);
        expect(await client.listQueueDefinitions()).toEqual([]);
        expect((await client.listVhosts()).map((v) => v.name)).toEqual(["/"]);
        expect((await client.listUsers()).map((u) => u.name)).toEqual([admin.username]);
      } finally {
        await management.stop();
      }

      const removing = Date.now();
      for (const command of removal!.filter((c) => !c.includes("examples/topology.yaml"))) await shell(withOperatorImage(command));
      console.log(`README kubectl removal block (after the topology): ${((Date.now() - removing) / 1000).toFixed(1)} s`);
    } catch (error) {
      await printDiagnostics([NAMESPACE, OPERATOR_NAMESPACE]).catch(() => undefined);
      throw error;
    }
    const left = await kubectlJson<{ items: Resource[] }>(["-n", NAMESPACE, "get", `rabbitclusters.${GROUP},${TOPOLOGY_PLURALS}`]);
    expect(left.items.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    expect(await kubectl(["-n", NAMESPACE, "get", "statefulsets,pods,pvc,secrets", "-l", "app.kubernetes.io/instance=demo", "-o", "name"])).toBe("");
    expect(await kubectl(["get", "namespace", OPERATOR_NAMESPACE, "--ignore-not-found", "-o", "name"])).toBe("");
    expect((await kubectl(["get", "clusterroles,clusterrolebindings", "-l", "app.kubernetes.io/instance=rabbit-operator", "-o", "name"])).trim()).toBe("");
  }, 1_800_000);
});
