// A real RabbitMQ cluster of local rabbitmq-server processes (Debian 12's 3.10.8, or Debian 13's
// 4.0.5 with RABBIT_OPERATOR_RABBITMQ_SERIES=4.0: see rabbitmq-install.ts), for integration tests
// that need RabbitMQ but not Kubernetes.
//
// Each node has its own loopback ports, data dir, log and conf.d (rendered with the operator's own
// functions, then local overrides); all share one Erlang cookie and one epmd that the harness
// starts on a port of its own, so nothing else on the host (another test run, a system RabbitMQ)
// shares node names or ports with us, and nothing outlives stop().
//
// Formation: the first disc node bootstraps (it has no seeds, so it neither waits out discovery
// retries nor competes for the discovery lock); every other node starts once it is up and joins
// it. A ram node that finds no disc node would form a cluster of its own, as disc; a disc node
// that joins a node still booting can fail its schema check.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { API_VERSION, RabbitClusterSpec, withDefaults, type NodeType, type RabbitCluster } from "../operator/api/index.js";
import { ManagementClient, type ClusterNode, type ManagementClientOptions, type ManagementConnection } from "../operator/rabbitmq/management.js";
import { randomToken } from "../operator/resources/context.js";
import { managementUrl } from "../operator/resources/names.js";
import { renderDefaultUserConfig, renderEnabledPlugins, renderNodeType, renderOperatorDefaults } from "../operator/resources/rabbitmq-config.js";
import { sleep, systemClock } from "../operator/runtime/clock.js";
import { CommandError, isAlive, run, startProcess, type ManagedProcess } from "./exec.js";
import { claimRunDir, endLeftovers, ownedByThisRun } from "./leftovers.js";
import { RUN_DIR } from "./paths.js";
import { rabbitmqInstall } from "./rabbitmq-install.js";
import { freePort } from "./ports.js";

const CLI_TOOLS: readonly string[] = ["rabbitmqctl", "rabbitmq-queues", "rabbitmq-upgrade", "rabbitmq-diagnostics", "rabbitmq-streams", "rabbitmq-plugins"];

/** Every node process carries its cluster's directory (besides its run owner, see leftovers.ts). */
export const CLUSTER_DIR_ENV = "RABBIT_OPERATOR_RABBITMQ_DIR";

const DEFAULT_NODE_START_TIMEOUT_MS = 180_000;
/** A node stops cleanly in ~6 s (5 of them in RabbitMQ's own shutdown); SIGKILL after this. */
const STOP_GRACE_MS = 30_000;

export interface RabbitClusterOptions {
  /** Short name: [a-z0-9-]; the nodes are rabbit-<name>-<i>@localhost. */
  name: string;
  /** Disc nodes, at least 1. */
  disc: number;
  /** Ram nodes. */
  ram?: number;
  /** rabbitmq.conf lines for every node, loaded last so that they win. */
  additionalConfig?: string;
  /** How long one node may take to start. */
  nodeStartTimeoutMs?: number;
}

export interface LocalRabbitNode {
  /** Position in the cluster: disc nodes first. */
  readonly index: number;
  readonly nodeName: string;
  readonly type: NodeType;
  readonly amqpPort: number;
  readonly managementPort: number;
  readonly prometheusPort: number;
  readonly distPort: number;
  /** Config, data and log of the node. */
  readonly dir: string;
  /** RABBITMQ_MNESIA_BASE: the schema (disc nodes), message stores, quorum data. */
  readonly dataDir: string;
  /** Everything the node writes (console logging). */
  readonly logFile: string;
  /** Whether the node's process is running (not whether RabbitMQ in it is ready). */
  readonly running: boolean;
  readonly pid: number | undefined;
}

/** A node by position, by Erlang node name, or itself. */
export type NodeRef = LocalRabbitNode | number | string;

export interface AmqpUrlOptions {
  /** Node to connect to; the first running node by default. */
  node?: NodeRef;
  vhost?: string;
  /** The admin user by default. */
  username?: string;
  password?: string;
}

export interface ClusterTimings {
  /** From the call to startRabbitCluster until every node answered and membership was verified. */
  startupMs: number;
  /** Per node: from its last launch until its management API answered. */
  nodeReadyMs: Record<string, number>;
}

export interface LocalRabbitCluster {
  readonly name: string;
  /** The RabbitMQ version the nodes run (dev/rabbitmq-install.ts). */
  readonly version: string;
  readonly dir: string;
  readonly nodes: readonly LocalRabbitNode[];
  readonly discNodes: readonly LocalRabbitNode[];
  readonly ramNodes: readonly LocalRabbitNode[];
  /** The default user (administrator), as the operator's default-user Secret would hold it. */
  readonly admin: { readonly username: string; readonly password: string };
  readonly epmdPort: number;
  readonly timings: ClusterTimings;
  node(ref: NodeRef): LocalRabbitNode;
  amqpUrl(options?: AmqpUrlOptions): string;
  managementUrl(node?: NodeRef): string;
  /** Connection info for the operator's management client. */
  connection(node?: NodeRef): ManagementConnection;
  management(node?: NodeRef, options?: ManagementClientOptions): ManagementClient;
  /** Runs rabbitmqctl against a node (`-n` is added) and returns its stdout. */
  rabbitmqctl(node: NodeRef, args: string[], options?: { timeoutMs?: number }): Promise<string>;
  /**
   * Runs one of RabbitMQ's CLI tools (`["rabbitmq-queues", "grow", ...]`) against a node (`-n` is
   * added), as the operator runs them in a node's pod; never throws for a non-zero exit.
   */
  cli(node: NodeRef, command: string[], options?: { timeoutMs?: number }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Waits until GET /api/nodes shows every node running with its type; returns what it showed. */
  verifyMembership(options?: { timeoutMs?: number }): Promise<ClusterNode[]>;
  /** Stops one node cleanly (SIGTERM, SIGKILL after a grace period). */
  stopNode(node: NodeRef): Promise<void>;
  /** Starts a stopped node with its data and waits until it answers. */
  startNode(node: NodeRef): Promise<void>;
  /**
   * Restarts every node: ram nodes stop first, then disc nodes one at a time with the first disc
   * node last; that node starts first, then the other disc nodes together, then the ram nodes.
   * Membership is verified at the end.
   */
  restartAll(): Promise<{ stopMs: number; startMs: number }>;
  /** The last lines of a node's log, colours removed. */
  logTail(node: NodeRef, lines?: number): string;
  /** Stops every node and epmd; removes the cluster's directory unless RABBIT_OPERATOR_KEEP_RUN_DIR is set. */
  stop(): Promise<void>;
}

export class RabbitNodeStartError extends Error {
  override readonly name = "RabbitNodeStartError";
  constructor(
    readonly nodeName: string,
    readonly logFile: string,
    problem: string,
    /** The first error lines of this start (usually the cause) and the last lines of the log. */
    readonly log: StartupLog,
  ) {
    const firstErrors = log.firstErrors.length > 0 ? `\n--- first errors of this start ---\n${log.firstErrors.join("\n")}` : "";
    super(`RabbitMQ node ${nodeName} did not start: ${problem}${firstErrors}\n--- last lines of ${logFile} ---\n${log.tail}`);
  }
}

export interface StartupLog {
  firstErrors: string[];
  tail: string;
}

interface NodeState extends LocalRabbitNode {
  process: ManagedProcess | undefined;
  /** Size of the log when the node was last launched: what follows is this start's output. */
  logOffset: number;
  env: NodeJS.ProcessEnv;
}

export async function startRabbitCluster(options: RabbitClusterOptions): Promise<LocalRabbitCluster> {
  const started = Date.now();
  const ram = options.ram ?? 0;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(options.name)) throw new Error(`cluster name must match [a-z0-9-]+: ${options.name}`);
  if (!Number.isInteger(options.disc) || options.disc < 1) throw new Error("a cluster needs at least one disc node");
  if (!Number.isInteger(ram) || ram < 0) throw new Error("ram must be a non-negative integer");
  const nodeStartTimeoutMs = options.nodeStartTimeoutMs ?? DEFAULT_NODE_START_TIMEOUT_MS;

  const install = await rabbitmqInstall(RUN_DIR);
  const command = (program: string, args: string[]) => install.command(program, args);
  await endLeftovers();

  const dir = join(RUN_DIR, `rabbitmq-${options.name}-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  const home = join(dir, "home");
  await mkdir(home, { recursive: true });
  await claimRunDir(dir);
  // The CLI tools and the nodes read the cookie from $HOME; Erlang refuses a cookie others can read.
  const cookieFile = join(home, ".erlang.cookie");
  await writeFile(cookieFile, randomToken(64));
  await chmod(cookieFile, 0o400);
  // An empty env file so that /etc/rabbitmq/rabbitmq-env.conf cannot change our nodes.
  const envFile = join(dir, "rabbitmq-env.conf");
  await writeFile(envFile, "");

  const admin = { username: "admin", password: randomToken(24) };
  const types: NodeType[] = [...Array<NodeType>(options.disc).fill("disc"), ...Array<NodeType>(ram).fill("ram")];
  const ports = await distinctFreePorts(1 + 4 * types.length);
  const epmdPort = ports[0]!;
  const commonEnv: NodeJS.ProcessEnv = {
    ...inheritedEnv(),
    HOME: home,
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: "127.0.0.1",
    RABBITMQ_CONF_ENV_FILE: envFile,
    ...install.env,
    ...ownedByThisRun(),
    [CLUSTER_DIR_ENV]: dir,
  };
  // The CLI picks its own distribution port; the default fixed range (35672-35682) would be
  // shared with every other RabbitMQ CLI call on the host.
  const cliEnv: NodeJS.ProcessEnv = { ...commonEnv, RABBITMQ_CTL_DIST_PORT_MIN: "0", RABBITMQ_CTL_DIST_PORT_MAX: "0" };

  const operatorView = operatorCluster(options.name, options.disc, ram);
  const nodeNameAt = (index: number) => `rabbit-${options.name}-${index}@localhost`;
  const discNames = types.flatMap((type, index) => (type === "disc" ? [nodeNameAt(index)] : []));

  const nodes: NodeState[] = [];
  for (const [index, type] of types.entries()) {
    const nodeName = nodeNameAt(index);
    const nodeDir = join(dir, "nodes", `${index}-${type}`);
    const [amqpPort, managementPort, prometheusPort, distPort] = ports.slice(1 + 4 * index, 5 + 4 * index) as [number, number, number, number];
    // The bootstrap node gets no seeds at all. With itself as its only seed it would still take
    // classic_config's global lock on itself, which a joining node holds while it waits for the
    // bootstrap node: both would wait out every retry (two minutes) and form two clusters.
    const seeds = index === 0 ? [] : discNames;
    await writeNodeConfig(nodeDir, {
      operatorDefaults: renderOperatorDefaults(operatorView),
      seeds,
      defaultUser: renderDefaultUserConfig(admin.username, admin.password),
      nodeType: renderNodeType(type),
      local: localNodeConfig({ amqpPort, managementPort, prometheusPort }),
      additional: options.additionalConfig ?? "",
      enabledPlugins: renderEnabledPlugins(operatorView),
    });
    const dataDir = join(nodeDir, "data");
    const state: NodeState = {
      index,
      nodeName,
      type,
      amqpPort,
      managementPort,
      prometheusPort,
      distPort,
      dir: nodeDir,
      dataDir,
      logFile: join(nodeDir, "node.log"),
      process: undefined,
      logOffset: 0,
      get running() {
        return this.process !== undefined && isAlive(this.process.pid);
      },
      get pid() {
        return this.process?.pid;
      },
      env: {
        ...commonEnv,
        RABBITMQ_NODENAME: nodeName,
        RABBITMQ_USE_LONGNAME: "false",
        RABBITMQ_CONFIG_FILE: join(nodeDir, "rabbitmq.conf"),
        RABBITMQ_CONFIG_FILES: join(nodeDir, "conf.d"),
        RABBITMQ_ADVANCED_CONFIG_FILE: join(nodeDir, "advanced.config"),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(nodeDir, "enabled_plugins"),
        RABBITMQ_MNESIA_BASE: dataDir,
        RABBITMQ_LOG_BASE: join(nodeDir, "log"),
        RABBITMQ_DIST_PORT: String(distPort),
        // A VM that dies writes its crash dump here, not into whatever directory ran the tests.
        ERL_CRASH_DUMP: join(nodeDir, "erl_crash.dump"),
        // Several VMs share two cores: schedulers bound to cores would fight over them.
        RABBITMQ_SCHEDULER_BIND_TYPE: "u",
        // Inter-node traffic stays on loopback like everything else.
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}",
      },
    };
    nodes.push(state);
  }

  const epmd = startProcess("epmd", "epmd", ["-port", String(epmdPort), "-address", "127.0.0.1"], {
    logFile: join(dir, "epmd.log"),
    env: commonEnv,
  });
  track(epmd);
  let stopped = false;
  const timings: ClusterTimings = { startupMs: 0, nodeReadyMs: {} };

  const find = (ref: NodeRef): NodeState => {
    const node =
      typeof ref === "number" ? nodes[ref] : typeof ref === "string" ? nodes.find((n) => n.nodeName === ref) : nodes.find((n) => n.nodeName === ref.nodeName);
    if (!node) throw new Error(`no node ${typeof ref === "object" ? ref.nodeName : ref} in cluster ${options.name}`);
    return node;
  };
  const firstRunning = (): NodeState => nodes.find((n) => n.running) ?? nodes[0]!;
  const connection = (ref?: NodeRef): ManagementConnection => {
    const node = ref === undefined ? firstRunning() : find(ref);
    return { url: managementUrl("127.0.0.1", node.managementPort), username: admin.username, password: admin.password };
  };

  const launch = (node: NodeState) => {
    if (stopped) throw new Error(`cluster ${options.name} is stopped`);
    if (node.running) return;
    node.logOffset = fileSize(node.logFile);
    const server = command("rabbitmq-server", []);
    node.process = startProcess(node.nodeName, server.file, server.args, { logFile: node.logFile, env: node.env });
    track(node.process);
  };

  const waitUntilReady = async (node: NodeState, launchedAt: number) => {
    const managed = node.process;
    if (!managed) throw new Error(`${node.nodeName} was not launched`);
    const probe = new ManagementClient(connection(node), { timeoutMs: 2_000, retry: { maxAttempts: 1 } });
    const deadline = launchedAt + nodeStartTimeoutMs;
    let exitCode: number | null | undefined;
    void managed.exited.then((code) => (exitCode = code));
    let lastProblem = "no answer yet";
    for (;;) {
      if (exitCode !== undefined) throw startError(node, `its process exited with code ${exitCode}`);
      try {
        // The management API answers the admin only once the node has joined: the users table
        // comes from the cluster. It answers before the node has booted, though: the AMQP
        // listeners start last, once the rabbit application runs. A vhost created before then is
        // not started on this node (3.10's start_on_all_nodes skips booting nodes) and refuses
        // connections through it ("vhost is down"): ready means the admin is let in and the AMQP
        // port accepts connections. The port itself, not the port-listener health check: that
        // reads the cluster's listener table, and CI once saw a booted ram node missing from it
        // for 3 minutes (its listener served all along).
        await probe.overview();
        if (!(await acceptsTcp(node.amqpPort))) throw new Error(`the AMQP port ${node.amqpPort} does not accept connections`);
        timings.nodeReadyMs[node.nodeName] = Date.now() - launchedAt;
        return;
      } catch (error) {
        lastProblem = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() > deadline) throw startError(node, `not ready within ${nodeStartTimeoutMs} ms; last: ${lastProblem}`);
      await sleep(systemClock, 250);
    }
  };

  const launchAndWait = async (node: NodeState) => {
    const launchedAt = Date.now();
    launch(node);
    await waitUntilReady(node, launchedAt);
  };

  const stopNodeProcess = async (node: NodeState, graceMs = STOP_GRACE_MS) => {
    const managed = node.process;
    if (!managed) return;
    await managed.stop(graceMs);
    untrack(managed);
  };

  const verifyMembership = async ({ timeoutMs = 60_000 } = {}): Promise<ClusterNode[]> => {
    const deadline = Date.now() + timeoutMs;
    let seen: ClusterNode[] = [];
    let lastError: unknown;
    for (;;) {
      try {
        seen = await new ManagementClient(connection(), { timeoutMs: 5_000 }).listNodes();
        const problems = membershipProblems(nodes, seen);
        if (problems.length === 0) return seen;
        lastError = new Error(problems.join("; "));
      } catch (error) {
        lastError = error;
      }
      if (Date.now() > deadline) {
        const detail = lastError instanceof Error ? lastError.message : String(lastError);
        throw new Error(
          `cluster ${options.name} is not one cluster of the expected nodes after ${timeoutMs} ms: ${detail}\nGET /api/nodes: ${JSON.stringify(seen)}`,
        );
      }
      await sleep(systemClock, 500);
    }
  };

  const stopEverything = async (graceMs = STOP_GRACE_MS) => {
    await Promise.all(nodes.map((node) => stopNodeProcess(node, graceMs)));
    await epmd.stop(5_000);
    untrack(epmd);
  };

  const startError = (node: NodeState, problem: string) =>
    new RabbitNodeStartError(node.nodeName, node.logFile, problem, {
      firstErrors: firstErrorLines(node.logFile, node.logOffset, 12),
      tail: logTail(node.logFile, 30),
    });

  try {
    await waitForTcp("epmd", epmdPort, 10_000);
    const discNodes = nodes.filter((n) => n.type === "disc");
    const ramNodes = nodes.filter((n) => n.type === "ram");
    // The first disc node alone, then everyone else: a node that joins while the first one is
    // still booting can see its tables before the feature-flag migrations (seen under load:
    // schema_integrity_check_failed, table_attributes_mismatch on rabbit_user and rabbit_vhost).
    // The operator's init container holds pods back the same way.
    await launchAndWait(discNodes[0]!);
    await Promise.all([...discNodes.slice(1), ...ramNodes].map((node) => launchAndWait(node)));
    await verifyMembership();
  } catch (error) {
    await stopEverything(5_000);
    throw error;
  }
  timings.startupMs = Date.now() - started;

  const cluster: LocalRabbitCluster = {
    name: options.name,
    version: install.version,
    dir,
    nodes,
    discNodes: nodes.filter((n) => n.type === "disc"),
    ramNodes: nodes.filter((n) => n.type === "ram"),
    admin,
    epmdPort,
    timings,
    node: find,
    amqpUrl(urlOptions: AmqpUrlOptions = {}) {
      const node = urlOptions.node === undefined ? firstRunning() : find(urlOptions.node);
      const username = encodeURIComponent(urlOptions.username ?? admin.username);
      const password = encodeURIComponent(urlOptions.password ?? admin.password);
      return `amqp://${username}:${password}@127.0.0.1:${node.amqpPort}/${encodeURIComponent(urlOptions.vhost ?? "/")}`;
    },
    managementUrl: (ref) => connection(ref).url,
    connection,
    management: (ref, clientOptions) => new ManagementClient(connection(ref), clientOptions),
    async rabbitmqctl(ref, args, { timeoutMs = 60_000 } = {}) {
      if (stopped) throw new Error(`cluster ${options.name} is stopped`);
      const ctl = command("rabbitmqctl", ["-n", find(ref).nodeName, ...args]);
      const { stdout } = await run(ctl.file, ctl.args, { env: cliEnv, timeoutMs });
      return stdout;
    },
    async cli(ref, [tool, ...args], { timeoutMs = 60_000 } = {}) {
      if (stopped) throw new Error(`cluster ${options.name} is stopped`);
      if (!tool || !CLI_TOOLS.includes(tool)) throw new Error(`not one of RabbitMQ's CLI tools: ${tool}`);
      try {
        const cli = command(tool, ["-n", find(ref).nodeName, ...args]);
        return { exitCode: 0, ...(await run(cli.file, cli.args, { env: cliEnv, timeoutMs })) };
      } catch (error) {
        if (error instanceof CommandError && error.exitCode !== null) return { exitCode: error.exitCode, stdout: error.stdout, stderr: error.stderr };
        throw error;
      }
    },
    verifyMembership,
    stopNode: (ref) => stopNodeProcess(find(ref)),
    startNode: (ref) => launchAndWait(find(ref)),
    async restartAll() {
      const stopStarted = Date.now();
      const [bootstrap, ...otherDisc] = nodes.filter((n) => n.type === "disc");
      const ramNodes = nodes.filter((n) => n.type === "ram");
      await Promise.all(ramNodes.map((node) => stopNodeProcess(node)));
      // Disc nodes go down one at a time, the bootstrap node last: the last disc node down has the
      // newest tables and boots without waiting for anyone. Disc nodes that boot together wait
      // for each other's tables, and RabbitMQ 3.10 then sometimes crashes one of them while it
      // syncs feature flags with a peer that is itself still booting (incompatible_feature_flags,
      // {badmap,undefined}); seen here in one restart of two.
      for (const node of [...otherDisc].reverse()) await stopNodeProcess(node);
      await stopNodeProcess(bootstrap!);
      const startStarted = Date.now();
      await launchAndWait(bootstrap!);
      await Promise.all(otherDisc.map(launchAndWait));
      await Promise.all(ramNodes.map(launchAndWait));
      await verifyMembership();
      return { stopMs: startStarted - stopStarted, startMs: Date.now() - startStarted };
    },
    logTail: (ref, lines = 40) => logTail(find(ref).logFile, lines),
    async stop() {
      if (stopped) return;
      stopped = true;
      const keep = Boolean(process.env.RABBIT_OPERATOR_KEEP_RUN_DIR);
      // Without a kept directory the data goes away: a clean shutdown (6 s a node) buys nothing.
      await stopEverything(keep ? STOP_GRACE_MS : 0);
      if (!keep) await rm(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** What GET /api/nodes should show and does not: missing members, wrong types, nodes not running, strangers. */
export function membershipProblems(expected: readonly Pick<LocalRabbitNode, "nodeName" | "type">[], seen: readonly ClusterNode[]): string[] {
  const problems: string[] = [];
  for (const node of expected) {
    const member = seen.find((m) => m.name === node.nodeName);
    if (!member) problems.push(`${node.nodeName} is not a member`);
    else if (member.type !== node.type) problems.push(`${node.nodeName} is ${member.type}, expected ${node.type}`);
    else if (!member.running) problems.push(`${node.nodeName} is not running`);
  }
  for (const member of seen) {
    if (!expected.some((node) => node.nodeName === member.name)) problems.push(`unexpected member ${member.name}`);
  }
  return problems;
}

// Configuration ---------------------------------------------------------------------------------

/** The RabbitCluster the operator would render these nodes' configuration from. */
function operatorCluster(name: string, disc: number, ram: number): RabbitCluster {
  return {
    apiVersion: API_VERSION,
    kind: "RabbitCluster",
    metadata: { name, namespace: "local" },
    spec: withDefaults<RabbitCluster["spec"]>(RabbitClusterSpec, { nodes: { disc, ram } }),
  };
}

function localNodeConfig(ports: { amqpPort: number; managementPort: number; prometheusPort: number }): string {
  return (
    [
      "# Written by the test harness: several nodes share one host, each on its own loopback ports.",
      `listeners.tcp.default = 127.0.0.1:${ports.amqpPort}`,
      "management.tcp.ip = 127.0.0.1",
      `management.tcp.port = ${ports.managementPort}`,
      "prometheus.tcp.ip = 127.0.0.1",
      `prometheus.tcp.port = ${ports.prometheusPort}`,
      // A joining node looks for its seed twice a second (the operator's 1 s costs up to a second
      // per node here), for up to two minutes.
      "cluster_formation.discovery_retry_interval = 500",
      "cluster_formation.discovery_retry_limit = 240",
      // Disc nodes that restart together wait for each other's tables: check every 5 s, give up
      // after 5 minutes (RabbitMQ's default is 10 tries of 30 s).
      "mnesia_table_loading_retry_timeout = 5000",
      "mnesia_table_loading_retry_limit = 60",
    ].join("\n") + "\n"
  );
}

interface NodeConfigFiles {
  operatorDefaults: string;
  seeds: string[];
  defaultUser: string;
  nodeType: string;
  local: string;
  additional: string;
  enabledPlugins: string;
}

/** conf.d in the operator's order (10 defaults, 11 peers, 12 user, 20 type, 90 additional) plus 50 local. */
async function writeNodeConfig(nodeDir: string, files: NodeConfigFiles): Promise<void> {
  const confD = join(nodeDir, "conf.d");
  await mkdir(confD, { recursive: true });
  const peers = ["# The disc nodes a fresh node joins.", ...files.seeds.map((seed, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${seed}`)];
  await Promise.all([
    // RabbitMQ would read /etc/rabbitmq/rabbitmq.conf without an explicit main file.
    writeFile(join(nodeDir, "rabbitmq.conf"), "# Everything is in conf.d.\n"),
    writeFile(join(confD, "10-operator-defaults.conf"), files.operatorDefaults),
    writeFile(join(confD, "11-peers.conf"), peers.join("\n") + "\n"),
    writeFile(join(confD, "12-default-user.conf"), files.defaultUser),
    writeFile(join(confD, "20-node-type.conf"), files.nodeType),
    writeFile(join(confD, "50-local-node.conf"), files.local),
    writeFile(join(confD, "90-additional.conf"), files.additional),
    writeFile(join(nodeDir, "enabled_plugins"), files.enabledPlugins),
  ]);
}

/** Our environment without RabbitMQ or Erlang settings that would leak into the nodes. */
function inheritedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("RABBITMQ_") || key.startsWith("ERL_") || key === "NOTIFY_SOCKET") continue;
    env[key] = value;
  }
  return env;
}

// Processes -------------------------------------------------------------------------------------

const running = new Set<ManagedProcess>();
let exitHookInstalled = false;

/** If the test process exits without stop() (a crash, process.exit), its nodes go with it. */
function track(managed: ManagedProcess) {
  running.add(managed);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const leftover of running) {
      try {
        process.kill(-leftover.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  });
}

function untrack(managed: ManagedProcess) {
  running.delete(managed);
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** One connection attempt to a loopback port. */
function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function waitForTcp(what: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await acceptsTcp(port))) {
    if (Date.now() > deadline) throw new Error(`${what} does not accept connections on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(systemClock, 100);
  }
}

/** The last lines of a log, read from its end (logs grow to megabytes in long tests). */
export function logTail(file: string, lines: number): string {
  const size = fileSize(file);
  const text = readRange(file, Math.max(0, size - 64 * 1024), size);
  if (text === undefined) return "(no log)";
  return text
    .split("\n")
    .slice(-lines - 1)
    .join("\n")
    .trimEnd();
}

/**
 * The first `[error]` lines written since `from`: RabbitMQ logs the cause of a failed boot first
 * ("Conf file attempted to set unknown variable") and then pages of crash reports.
 */
export function firstErrorLines(file: string, from: number, count: number): string[] {
  const text = readRange(file, from, Math.min(fileSize(file), from + 1024 * 1024));
  if (text === undefined) return [];
  return text
    .split("\n")
    .filter((line) => line.includes("[error]") && line.replace(/^.*\[error\] <[^>]*>/, "").trim() !== "")
    .slice(0, count);
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Bytes [start, end) of a file as text without terminal colours; undefined when unreadable. */
function readRange(file: string, start: number, end: number): string | undefined {
  try {
    const buffer = Buffer.alloc(Math.max(0, end - start));
    const fd = openSync(file, "r");
    try {
      readSync(fd, buffer, 0, buffer.length, start);
    } finally {
      closeSync(fd);
    }
    // eslint-disable-next-line no-control-regex
    return buffer.toString("utf8").replace(/\u001b\[[0-9;]*m/g, "");
  } catch {
    return undefined;
  }
}
