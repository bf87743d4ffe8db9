// Rendering of RabbitMQ's configuration files (rabbitmq.conf fragments in conf.d, enabled_plugins).
// Pure functions: the builders put the results into a ConfigMap and hash what needs a restart.
import type { NodeType, RabbitCluster } from "../api/index.js";
import { PORTS } from "../rabbitmq/ports.js";
import { clusterNames, nodeName } from "./names.js";

/** Plugins every node runs; spec.rabbitmq.additionalPlugins come on top. */
export const REQUIRED_PLUGINS = ["rabbitmq_management", "rabbitmq_prometheus"] as const;

export const TLS_MOUNT = "/etc/rabbitmq-tls";

/** conf.d/10-operator-defaults.conf: what every node of every cluster needs. */
export function renderOperatorDefaults(cluster: RabbitCluster): string {
  const lines = [
    "# Written by rabbit-operator. Overridden by spec.rabbitmq.additionalConfig (90-additional.conf).",
    "cluster_formation.peer_discovery_backend = classic_config",
    // A fresh node that cannot reach a seed keeps trying for a while before it starts alone.
    "cluster_formation.discovery_retry_limit = 60",
    "cluster_formation.discovery_retry_interval = 1000",
    // The side of a partition without a majority pauses instead of diverging.
    "cluster_partition_handling = pause_minority",
    `listeners.tcp.default = ${PORTS.amqp}`,
    `management.tcp.port = ${PORTS.management}`,
    `prometheus.tcp.port = ${PORTS.prometheus}`,
    "loopback_users = none",
    "log.console = true",
    "log.file = false",
    "disk_free_limit.absolute = 1GB",
  ];
  if (cluster.spec.tls) {
    lines.push(
      `listeners.ssl.default = ${PORTS.amqps}`,
      `ssl_options.certfile = ${TLS_MOUNT}/tls.crt`,
      `ssl_options.keyfile = ${TLS_MOUNT}/tls.key`,
      `management.ssl.port = ${PORTS.managementTls}`,
      `management.ssl.certfile = ${TLS_MOUNT}/tls.crt`,
      `management.ssl.keyfile = ${TLS_MOUNT}/tls.key`,
    );
    if (cluster.spec.tls.caSecretName) {
      lines.push(
        `ssl_options.cacertfile = ${TLS_MOUNT}/ca.crt`,
        "ssl_options.verify = verify_peer",
        "ssl_options.fail_if_no_peer_cert = false",
        `management.ssl.cacertfile = ${TLS_MOUNT}/ca.crt`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** The ConfigMap key of conf.d/11-peers.conf. */
export const PEERS_KEY = "peers.conf";

const SEEDING_MARKER = "# Seeding: the first disc node starts the cluster alone; the others join it.";

/**
 * conf.d/11-peers.conf: the disc nodes a fresh node joins. Ram nodes are left out so that a
 * joining node always seeds from a node that keeps the schema on disk. This file changes on
 * scaling; running nodes do not read it again, so it is not part of the restart hash.
 *
 * While a new cluster is first formed (`seeding`), it names the first disc node only. That node
 * then finds no peer and starts the cluster at once, where with the full list it would try the
 * others (held back until it runs) for a minute before starting alone. Once it runs, the full
 * list comes back: a first disc node that later boots without its data must join the others,
 * not start a second cluster.
 */
export function renderPeers(cluster: RabbitCluster, clusterDomain: string, seeding = false): string {
  const lines = ["# Written by rabbit-operator: the disc nodes, seeds for nodes that join."];
  if (seeding) lines.push(SEEDING_MARKER);
  const seeds = seeding ? 1 : cluster.spec.nodes.disc;
  for (let ordinal = 0; ordinal < seeds; ordinal++) {
    lines.push(`cluster_formation.classic_config.nodes.${ordinal + 1} = ${nodeName(cluster, "disc", ordinal, clusterDomain)}`);
  }
  return lines.join("\n") + "\n";
}

/** Whether a peers.conf is the one renderPeers writes while the cluster is first formed. */
export function isSeedingPeers(peers: string | undefined): boolean {
  return peers?.split("\n").includes(SEEDING_MARKER) ?? false;
}

/** conf.d/20-node-type.conf, different for each StatefulSet. */
export function renderNodeType(type: NodeType): string {
  return `cluster_formation.node_type = ${type}\n`;
}

/** conf.d/90-additional.conf: the user's lines, last so that they win. */
export function renderAdditionalConfig(cluster: RabbitCluster): string {
  const extra = cluster.spec.rabbitmq?.additionalConfig ?? "";
  return extra.endsWith("\n") || extra === "" ? extra : `${extra}\n`;
}

/** conf.d/11-default-user.conf, kept in the default-user Secret. */
export function renderDefaultUserConfig(username: string, password: string): string {
  return `default_user = ${username}\ndefault_pass = ${password}\n`;
}

export function enabledPlugins(cluster: RabbitCluster): string[] {
  return [...new Set([...REQUIRED_PLUGINS, ...(cluster.spec.rabbitmq?.additionalPlugins ?? [])])];
}

/** The enabled_plugins file: an Erlang list term. */
export function renderEnabledPlugins(cluster: RabbitCluster): string {
  return `[${enabledPlugins(cluster).join(",")}].\n`;
}

/** Names of the conf.d files a node of the given type loads, in load order, with their source. */
export type ConfDFile = { path: string } & ({ configMapKey: string } | { secret: string; secretKey: string });

export function confDFiles(cluster: RabbitCluster, type: NodeType): ConfDFile[] {
  const names = clusterNames(cluster);
  return [
    { path: "10-operator-defaults.conf", configMapKey: "operator-defaults.conf" },
    { path: "11-peers.conf", configMapKey: PEERS_KEY },
    { path: "12-default-user.conf", secret: names.defaultUser, secretKey: "default_user.conf" },
    { path: "20-node-type.conf", configMapKey: `node-type-${type}.conf` },
    { path: "90-additional.conf", configMapKey: "additional.conf" },
  ];
}

/**
 * Checks additionalConfig line by line for the cuttlefish `key = value` form, so that a typo
 * becomes a condition on the RabbitCluster instead of nodes that crash on boot.
 */
export function invalidConfigLines(config: string): string[] {
  return config
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#") && !/^[A-Za-z0-9_.$-]+\s*=\s*\S.*$/.test(line));
}
