#!/usr/bin/env node
// rabbit-operator: runs the controllers in a Kubernetes cluster (in-cluster config) or against
// the cluster of a kubeconfig. See --help.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { addRabbitClusterController } from "./controllers/rabbit-cluster/index.js";
import { inClusterManagement } from "./controllers/rabbit-cluster/management-adapter.js";
import { DEFAULT_CONCURRENCY, DEFAULT_CONCURRENCY_PER_CLUSTER, addTopologyControllers } from "./controllers/topology/index.js";
import { createLogger, isLogLevel } from "./runtime/logger.js";
import { candidateIdentity } from "./runtime/leader-election.js";
import { Manager } from "./runtime/manager.js";

const HELP = `rabbit-operator: runs RabbitMQ clusters and their topology declared as Kubernetes objects.

Usage: rabbit-operator [flags]

Flags (each also read from the environment variable in brackets):
  --kubeconfig PATH            kubeconfig to use; default: in-cluster config, else $KUBECONFIG or ~/.kube/config [KUBECONFIG]
  --namespaces A,B             watch only these namespaces; default: all [RABBIT_OPERATOR_NAMESPACES]
  --leader-elect[=BOOL]        hold a Lease while reconciling, for several replicas; default false [RABBIT_OPERATOR_LEADER_ELECT]
  --leader-election-id NAME    name of the Lease (with --shards, prefix of the Leases); default rabbit-operator [RABBIT_OPERATOR_LEADER_ELECTION_ID]
  --leader-election-namespace NS  namespace of the Lease(s); default the pod's namespace [POD_NAMESPACE]
  --shards N                   instead of one leader, replicas share the work: RabbitClusters (each with the topology
                               declared in it) are spread over N shards, each held by one replica through a Lease and
                               taken over by the others when that replica dies; 0 (default) disables. Excludes
                               --leader-elect. N a few times the number of replicas spreads the work evenly [RABBIT_OPERATOR_SHARDS]
  --cluster-domain DOMAIN      DNS domain of the Kubernetes cluster; default cluster.local [RABBIT_OPERATOR_CLUSTER_DOMAIN]
  --topology-drift-period SECONDS  how often each RabbitMQ cluster's topology is listed (one request per kind) and
                               objects changed behind the operator's back are declared again; 0 disables;
                               default 30 [RABBIT_OPERATOR_TOPOLOGY_DRIFT_PERIOD]
  --topology-concurrency N     topology objects reconciled at once, per kind; default ${DEFAULT_CONCURRENCY} [RABBIT_OPERATOR_TOPOLOGY_CONCURRENCY]
  --topology-concurrency-per-cluster N  of those, at most N of one RabbitMQ cluster (clusters take turns, and a
                               slow one holds only N); default ${DEFAULT_CONCURRENCY_PER_CLUSTER} [RABBIT_OPERATOR_TOPOLOGY_CONCURRENCY_PER_CLUSTER]
  --metrics-port PORT          /metrics port, 0 to disable; default 8080 [RABBIT_OPERATOR_METRICS_PORT]
  --health-port PORT           /healthz and /readyz port, 0 to disable; default 8081 [RABBIT_OPERATOR_HEALTH_PORT]
  --log-level LEVEL            debug, info, warn, error; default info [RABBIT_OPERATOR_LOG_LEVEL]
  -h, --help                   this text

The operator reaches each RabbitCluster's management API through its client Service, so it runs
inside the Kubernetes cluster (the Helm chart installs it so); topology objects of an external
cluster reach it through the uri of their connection Secret. Logs are JSON lines on stderr.`;

function flag(value: string | undefined, env: string, fallback: string): string {
  return value ?? process.env[env] ?? fallback;
}

function parseBoolean(value: string, name: string): boolean {
  if (["true", "1", "yes", ""].includes(value)) return true;
  if (["false", "0", "no"].includes(value)) return false;
  throw new Error(`--${name} takes true or false, not ${JSON.stringify(value)}`);
}

function parsePort(value: string, name: string): number | undefined {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--${name} takes a port number, not ${JSON.stringify(value)}`);
  return port === 0 ? undefined : port;
}

function parseCount(value: string, name: string, minimum: number): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < minimum) throw new Error(`--${name} takes a whole number >= ${minimum}, not ${JSON.stringify(value)}`);
  return count;
}

function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

function podNamespace(): string | undefined {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync("/var/run/secrets/kubernetes.io/serviceaccount/namespace", "utf8").trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: "string" },
      namespaces: { type: "string" },
      "leader-elect": { type: "string" },
      "leader-election-id": { type: "string" },
      "leader-election-namespace": { type: "string" },
      shards: { type: "string" },
      "cluster-domain": { type: "string" },
      "topology-drift-period": { type: "string" },
      "topology-concurrency": { type: "string" },
      "topology-concurrency-per-cluster": { type: "string" },
      "metrics-port": { type: "string" },
      "health-port": { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    // `--leader-elect` alone means true.
    args: process.argv.slice(2).map((arg) => (arg === "--leader-elect" ? "--leader-elect=true" : arg)),
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const logLevel = flag(values["log-level"], "RABBIT_OPERATOR_LOG_LEVEL", "info");
  if (!isLogLevel(logLevel)) throw new Error(`--log-level takes debug, info, warn or error, not ${JSON.stringify(logLevel)}`);
  const logger = createLogger({ level: logLevel });
  const namespaces = flag(values.namespaces, "RABBIT_OPERATOR_NAMESPACES", "")
    .split(",")
    .map((ns) => ns.trim())
    .filter(Boolean);
  const leaderElect = parseBoolean(flag(values["leader-elect"], "RABBIT_OPERATOR_LEADER_ELECT", "false"), "leader-elect");
  const clusterDomain = flag(values["cluster-domain"], "RABBIT_OPERATOR_CLUSTER_DOMAIN", "cluster.local");
  const driftPeriodSeconds = parseCount(flag(values["topology-drift-period"], "RABBIT_OPERATOR_TOPOLOGY_DRIFT_PERIOD", "30"), "topology-drift-period", 0);
  const topologyConcurrency = parseCount(
    flag(values["topology-concurrency"], "RABBIT_OPERATOR_TOPOLOGY_CONCURRENCY", String(DEFAULT_CONCURRENCY)),
    "topology-concurrency",
    1,
  );
  const topologyConcurrencyPerCluster = parseCount(
    flag(values["topology-concurrency-per-cluster"], "RABBIT_OPERATOR_TOPOLOGY_CONCURRENCY_PER_CLUSTER", String(DEFAULT_CONCURRENCY_PER_CLUSTER)),
    "topology-concurrency-per-cluster",
    1,
  );
  const shards = parseCount(flag(values.shards, "RABBIT_OPERATOR_SHARDS", "0"), "shards", 0);
  if (shards > 0 && leaderElect) throw new Error("--shards and --leader-elect exclude each other: with shards every replica works, on the shards it holds");
  const kubeConfig = loadKubeConfig(values.kubeconfig);

  let leaderElection: ConstructorParameters<typeof Manager>[0]["leaderElection"] = false;
  let sharding: ConstructorParameters<typeof Manager>[0]["sharding"];
  if (leaderElect || shards > 0) {
    const namespace = values["leader-election-namespace"] ?? podNamespace();
    if (!namespace) throw new Error(`${leaderElect ? "--leader-elect" : "--shards"} needs --leader-election-namespace outside a pod`);
    const name = flag(values["leader-election-id"], "RABBIT_OPERATOR_LEADER_ELECTION_ID", "rabbit-operator");
    const identity = candidateIdentity(process.env.POD_NAME || undefined);
    if (leaderElect) leaderElection = { namespace, name, identity, releaseOnStop: true };
    else sharding = { namespace, name, identity, shards };
  }

  const manager = new Manager({
    kubeConfig,
    namespaces,
    leaderElection,
    sharding,
    metricsPort: parsePort(flag(values["metrics-port"], "RABBIT_OPERATOR_METRICS_PORT", "8080"), "metrics-port"),
    healthPort: parsePort(flag(values["health-port"], "RABBIT_OPERATOR_HEALTH_PORT", "8081"), "health-port"),
    logger,
  });
  addRabbitClusterController(manager, { kubeConfig, clusterDomain, management: inClusterManagement(clusterDomain) });
  addTopologyControllers(manager, {
    clusterDomain,
    driftPeriodMs: driftPeriodSeconds * 1000,
    maxConcurrentReconciles: topologyConcurrency,
    maxConcurrentPerCluster: topologyConcurrencyPerCluster,
    watchedNamespaces: namespaces,
  });
  logger.info("starting", {
    version: process.env.npm_package_version,
    namespaces: namespaces.length ? namespaces : "all",
    leaderElect,
    shards: shards || undefined,
    clusterDomain,
  });
  await manager.run();
}

main().catch((error: unknown) => {
  console.error(JSON.stringify({ level: "error", msg: "rabbit-operator failed", error: error instanceof Error ? error.message : String(error) }));
  process.exit(1);
});
