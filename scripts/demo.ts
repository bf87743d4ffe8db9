// `npm run demo [-- --kubeconfig FILE]`: the whole product in one command. Without a kubeconfig it
// brings up the embedded local cluster (kind on podman with our images); with one it uses that
// cluster. Then: the operator installed with the Helm chart, examples/rabbit-cluster.yaml and
// examples/topology.yaml applied, visible progress until everything is Ready, a work-queue round
// trip through the cluster's Service, and how to reach the management UI and tear down.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { V1Secret } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { GROUP, type Condition } from "../operator/api/common.js";
import { ALL_KINDS, TOPOLOGY_KINDS } from "../operator/api/kinds.js";
import { secretValue } from "../operator/resources/secrets.js";
import { sleep, systemClock } from "../operator/runtime/clock.js";
import { run } from "../dev/exec.js";
import { startFullCluster } from "../dev/full-cluster.js";
import { HELM, KUBERNETES, ensureTool } from "../dev/go-tools.js";
import { installOperatorChart } from "../dev/operator-chart.js";
import { REPO_ROOT } from "../dev/paths.js";
import { portForward } from "../dev/port-forward.js";
import { workQueue } from "../dev/workloads.js";

const HELP = `npm run demo [-- options]

  --kubeconfig FILE      install into this cluster; default: the embedded local cluster (started if needed)
  --cluster-name NAME    name of the embedded cluster; default rabbit-operator (npm run cluster:up's)
  --namespace NS         namespace of the demo objects; default rabbit-demo
  --operator-image REF   operator image; default: the locally built one (embedded), the chart's (else)
  --rabbitmq-image REF   RabbitMQ image of the cluster; default: the locally built 3.10 (embedded),
                         examples/rabbit-cluster.yaml's (else)
  --timeout-minutes N    how long to wait for Ready; default 15`;

/** The embedded cluster's name unless --cluster-name says otherwise: the one npm run cluster:up starts. */
const EMBEDDED_CLUSTER = "rabbit-operator";

const OPTIONS = {
  kubeconfig: { type: "string" },
  "cluster-name": { type: "string", default: EMBEDDED_CLUSTER },
  namespace: { type: "string", default: "rabbit-demo" },
  "operator-image": { type: "string" },
  "rabbitmq-image": { type: "string" },
  "timeout-minutes": { type: "string", default: "15" },
  help: { type: "boolean", short: "h" },
} as const;

/** A mistake on the command line: one line saying what is wrong, exit code 2, no stack trace. */
class UsageError extends Error {}

function parseOptions() {
  try {
    return parseArgs({ options: OPTIONS }).values;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    const problem = unknown ? `unknown option '${unknown[1]}'` : message.replace(/\.$/, "");
    throw new UsageError(`${problem}; see npm run demo -- --help`);
  }
}

const OPERATOR_NAMESPACE = "rabbit-operator";
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s`;
const say = (message: string) => console.log(`[${elapsed()}] ${message}`);

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  status?: { conditions?: Condition[] };
}

async function readManifests(file: string): Promise<Manifest[]> {
  return parseAllDocuments(await readFile(join(REPO_ROOT, "examples", file), "utf8"))
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

function readyOf(object: Manifest): { ready: boolean; detail: string } {
  const ready = object.status?.conditions?.find((c) => c.type === "Ready");
  return {
    ready: ready?.status === "True",
    detail: ready ? `${ready.reason ?? ""}${ready.status === "True" ? "" : `: ${ready.message ?? ""}`}` : "no status yet",
  };
}

async function main(): Promise<void> {
  const values = parseOptions();
  if (values.help) {
    console.log(HELP);
    return;
  }
  const namespace = values.namespace;
  const timeoutMs = Number(values["timeout-minutes"]) * 60_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout-minutes takes a positive number, not ${values["timeout-minutes"]}`);
  if (values.kubeconfig !== undefined && !existsSync(values.kubeconfig)) throw new UsageError(`--kubeconfig ${values.kubeconfig}: no such file`);
  if (values.kubeconfig !== undefined && values["cluster-name"] !== EMBEDDED_CLUSTER)
    throw new UsageError("--cluster-name names the embedded cluster; it does not go with --kubeconfig");
  const clusterName = values["cluster-name"];

  let kubeconfig = values.kubeconfig;
  let operatorImage = values["operator-image"];
  let rabbitmqImage = values["rabbitmq-image"];
  const embedded = kubeconfig === undefined;
  if (embedded) {
    say("starting the embedded local cluster (kind on podman, fenced; images built here; first run takes a while)");
    const cluster = await startFullCluster({ name: clusterName, images: ["rabbitmq", "operator"] });
    kubeconfig = cluster.kubeconfig;
    operatorImage ??= cluster.images.operator;
    rabbitmqImage ??= cluster.images.rabbitmq;
    say(`cluster ${cluster.name} is up`);
  }
  const kubectlBinary = await ensureTool(KUBERNETES, "kubectl");
  const kubectl = async (args: string[], input?: string) =>
    (await run(kubectlBinary, [`--kubeconfig=${kubeconfig}`, ...args], { input, timeoutMs: 120_000 })).stdout;

  say(`installing the operator with the Helm chart into namespace ${OPERATOR_NAMESPACE}`);
  await installOperatorChart({
    kubeconfig: kubeconfig!,
    release: "rabbit-operator",
    namespace: OPERATOR_NAMESPACE,
    image: operatorImage,
    // A locally built image exists only on the kind node.
    pullPolicy: embedded && !values["operator-image"] ? "Never" : undefined,
  });
  say("operator running");

  await kubectl(["create", "namespace", namespace]).catch(() => undefined);
  const clusterManifests = await readManifests("rabbit-cluster.yaml");
  const topology = await readManifests("topology.yaml");
  const rabbitCluster = clusterManifests.find((m) => m.kind === "RabbitCluster")!;
  if (rabbitmqImage) rabbitCluster.spec = { ...rabbitCluster.spec, image: rabbitmqImage };
  say(
    `applying examples/rabbit-cluster.yaml (${rabbitCluster.metadata.name}: 3 disc + 2 ram, image ${String(rabbitCluster.spec?.image)}) and examples/topology.yaml (${topology.length} objects) in ${namespace}`,
  );
  await kubectl(["apply", "-n", namespace, "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: [...clusterManifests, ...topology] }));

  // Progress: a line whenever what we see changes.
  // Qualified names: a bare `bindings` is core/v1 Binding, which cannot be listed.
  const kinds = ALL_KINDS.map((k) => `${k.plural}.${GROUP}`).join(",");
  let lastLine = "";
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = JSON.parse(await kubectl(["get", "-n", namespace, kinds, "-o", "json"])) as { items: Manifest[] };
    const cluster = list.items.find((o) => o.kind === "RabbitCluster" && o.metadata.name === rabbitCluster.metadata.name);
    const topologyObjects = list.items.filter((o) => o.kind !== "RabbitCluster");
    const readyTopology = topologyObjects.filter((o) => readyOf(o).ready);
    const clusterState = cluster ? readyOf(cluster) : { ready: false, detail: "not created yet" };
    const line = `RabbitCluster ${rabbitCluster.metadata.name}: ${clusterState.ready ? "Ready" : clusterState.detail}; topology ${readyTopology.length}/${topologyObjects.length} Ready`;
    if (line !== lastLine) say(line);
    lastLine = line;
    if (clusterState.ready && topologyObjects.length === topology.length && readyTopology.length === topologyObjects.length) break;
    if (Date.now() > deadline) {
      const waiting = topologyObjects.filter((o) => !readyOf(o).ready).map((o) => `  ${o.kind}/${o.metadata.name}: ${readyOf(o).detail}`);
      throw new Error(
        `not Ready after ${values["timeout-minutes"]} minutes:\n  ${line}\n${waiting.join("\n")}\nsee: kubectl -n ${namespace} describe rabbitcluster ${rabbitCluster.metadata.name}`,
      );
    }
    await sleep(systemClock, 3000);
  }

  // The round trip as an application would do it: the operator-generated credentials of the
  // orders-app User, the orders vhost, the quorum queue orders.tasks, through the client Service.
  const secret = JSON.parse(await kubectl(["get", "secret", "-n", namespace, "orders-app-user-credentials", "-o", "json"])) as V1Secret;
  const decode = (key: string) => {
    const value = secretValue(secret, key);
    if (value === undefined) throw new Error(`Secret ${namespace}/orders-app-user-credentials has no ${key}`);
    return value;
  };
  const logDir = await mkdtemp(join(tmpdir(), "rabbit-operator-demo-"));
  const forward = await portForward(kubeconfig!, namespace, `service/${rabbitCluster.metadata.name}`, 5672, join(logDir, "port-forward.log"));
  try {
    const url = `amqp://${encodeURIComponent(decode("username"))}:${encodeURIComponent(decode("password"))}@127.0.0.1:${forward.localPort}/orders`;
    say(`work-queue round trip: 10 tasks to orders.tasks as ${decode("username")}, two workers`);
    const result = await workQueue(url, "orders.tasks", { tasks: 10 });
    say(
      `delivered ${result.deliveries.length}/10: worker-1 got ${result.byWorker["worker-1"].length}, worker-2 got ${result.byWorker["worker-2"].length} (round-robin)`,
    );
  } finally {
    await forward.stop();
    await rm(logDir, { recursive: true, force: true });
  }

  const name = rabbitCluster.metadata.name;
  // The binaries this demo used (built from pinned Go modules): they need nothing else installed.
  const helmBinary = await ensureTool(HELM);
  console.log(`
Done in ${elapsed().trim()}. The cluster and its topology are Ready.

Management UI (user and password from the default-user Secret):
  export KUBECONFIG=${kubeconfig}
  alias kubectl=${kubectlBinary} helm=${helmBinary}
  kubectl -n ${namespace} get secret ${name}-default-user -o jsonpath='{.data.username}' | base64 -d; echo
  kubectl -n ${namespace} get secret ${name}-default-user -o jsonpath='{.data.password}' | base64 -d; echo
  kubectl -n ${namespace} port-forward service/${name} 15672:15672    # then http://127.0.0.1:15672

Look around:
  kubectl -n ${namespace} get rabbitmq      # the category of all our kinds
  kubectl -n ${namespace} exec ${name}-disc-0 -c rabbitmq -- rabbitmqctl cluster_status

Tear down (topology first, while the operator runs to remove it from RabbitMQ; the vhost last:
deleting a vhost takes the operator's permissions in it before its queues are gone; then the
cluster, before its namespace, which would otherwise wait out the pods' grace period):
  kubectl -n ${namespace} delete ${TOPOLOGY_KINDS.filter((k) => k.kind !== "Vhost")
    .map((k) => `${k.plural}.${GROUP}`)
    .join(",")} --all
  kubectl -n ${namespace} delete vhosts.${GROUP} --all
  kubectl -n ${namespace} delete rabbitclusters.${GROUP} --all --cascade=foreground   # waits until its pods are gone
  kubectl delete namespace ${namespace}
  helm uninstall rabbit-operator -n ${OPERATOR_NAMESPACE} --wait
  kubectl delete namespace ${OPERATOR_NAMESPACE}${embedded ? `\n  npm run cluster:down${clusterName === EMBEDDED_CLUSTER ? "" : ` -- --name ${clusterName}`}      # the embedded cluster itself` : ""}`);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`demo: ${error.message}`);
    process.exitCode = 2;
    return;
  }
  console.error(`demo failed after ${elapsed().trim()}: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
