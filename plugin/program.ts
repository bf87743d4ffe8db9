// The command line: every command, its arguments and options, and its help, in one commander
// program; main.ts runs it, complete.ts completes from it.
import { Command, InvalidArgumentError, Option } from "commander";
import type { TargetSelection } from "./access.js";
import type { LISTINGS } from "./commands/inspect.js";
import { LISTING_NAMES, list, listObjects, status } from "./commands/inspect.js";
import { logs, parseDuration } from "./commands/logs.js";
import { manage, secrets } from "./commands/manage.js";
import { consume, publish } from "./commands/messages.js";
import { purge } from "./commands/purge.js";
import { PluginError } from "./errors.js";
import { OUTPUT_FORMATS } from "./output.js";
import { BUILT_IN, UNDECLARED } from "./ownership.js";
import { openSession, type GlobalOptions, type Session, type SessionIo } from "./session.js";

export const PROGRAM_NAME = "kubectl rabbit";

const LISTING_SUMMARIES: Record<keyof typeof LISTINGS, string> = {
  queues: "queues: type, durability, messages ready and unacknowledged, consumers",
  vhosts: "virtual hosts",
  users: "users and their tags",
  permissions: "users' permissions in vhosts",
  policies: "policies",
  exchanges: "exchanges",
  bindings: "bindings",
};

function wholeNumber(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number)) throw new InvalidArgumentError("expected a whole number");
  return number;
}

function positiveNumber(value: string): number {
  const number = wholeNumber(value);
  if (number === 0) throw new InvalidArgumentError("expected a number above 0");
  return number;
}

function duration(value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof PluginError ? `${error.message}: ${error.hint}` : String(error));
  }
}

/**
 * purge's arguments: CLUSTER QUEUE, or QUEUE alone with --connection-secret (an external cluster).
 * commander cannot put an optional argument before a required one, so both are read here.
 */
export function purgeTarget(first: string, second: string | undefined, connectionSecret: string | undefined): { cluster?: string; queue: string } {
  if (connectionSecret) {
    if (second !== undefined) throw new PluginError("with --connection-secret name only the queue", "kubectl rabbit purge QUEUE --connection-secret SECRET", 2);
    return { queue: first };
  }
  if (second === undefined) throw new PluginError("name the cluster and the queue", "kubectl rabbit purge CLUSTER QUEUE", 2);
  return { cluster: first, queue: second };
}

export function buildProgram(io: SessionIo): Command {
  const program = new Command("kubectl rabbit")
    .description("Day-2 operations on RabbitMQ clusters run by rabbit-operator: through the API server and the management API, no exec into pods.")
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    .option("--context <name>", "kubeconfig context")
    .option("-n, --namespace <namespace>", "namespace (default: the context's)")
    .addOption(new Option("-o, --output <format>", "output format").choices(OUTPUT_FORMATS).default("table"))
    .showHelpAfterError("(add --help for usage)")
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();

  const withSession =
    <A extends unknown[]>(action: (session: Session, ...args: A) => Promise<void>) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const session = openSession(command.optsWithGlobals<GlobalOptions>(), io);
      await action(session, ...(args.slice(0, -1) as A));
    };
  const selection = (session: Session, cluster: string | undefined, options: { connectionSecret?: string }): TargetSelection => ({
    cluster,
    connectionSecret: options.connectionSecret,
    namespace: session.kube.namespace,
  });

  program
    .command("list")
    .summary("RabbitClusters, one line each")
    .description("RabbitClusters: disc and ram nodes running/desired, readiness, RabbitMQ version, conditions (those that do not hold as Type=Status(Reason))")
    .option("-A, --all-namespaces", "in every namespace")
    .action(withSession((session, options: { allNamespaces?: boolean }) => list(session, options)));

  program
    .command("status")
    .summary("a cluster's nodes and its quorum-critical queues")
    .description(
      "a cluster's nodes (type disc|ram, running, pod ready, memory, memory and disk alarms, partitions) and its quorum-critical queues: quorum queues and streams that stopping one more node would leave without a majority",
    )
    .argument("<cluster>", "RabbitCluster name")
    .action(withSession((session, cluster: string) => status(session, cluster)));

  for (const name of LISTING_NAMES) {
    program
      .command(name)
      .summary(LISTING_SUMMARIES[name])
      .description(
        `${LISTING_SUMMARIES[name]}, each with the resource that declares it (DECLARED BY: Kind/namespace/name, ${BUILT_IN} for RabbitMQ's own, ${UNDECLARED} for objects no resource declares)`,
      )
      .argument("[cluster]", "RabbitCluster name")
      .option("-p, --vhost <vhost>", "only this virtual host")
      .option("--connection-secret <secret>", "an external cluster, as topology objects name it (a Secret with uri, username, password)")
      .action(
        withSession((session, cluster: string | undefined, options: { vhost?: string; connectionSecret?: string }) =>
          listObjects(session, name, selection(session, cluster, options), options.vhost),
        ),
      );
  }

  program
    .command("purge")
    .description("remove a queue's ready messages (asks first): purge CLUSTER QUEUE, or purge QUEUE --connection-secret SECRET")
    .argument("<cluster>", "RabbitCluster name (or the queue, with --connection-secret)")
    .argument("[queue]", "queue name")
    .option("-p, --vhost <vhost>", "virtual host", "/")
    .option("--connection-secret <secret>", "an external cluster (then leave out the cluster)")
    .option("-y, --yes", "do not ask")
    .action(
      withSession((session, first: string, second: string | undefined, options: { vhost: string; yes?: boolean; connectionSecret?: string }) => {
        const { cluster, queue } = purgeTarget(first, second, options.connectionSecret);
        return purge(session, selection(session, cluster, options), queue, options);
      }),
    );

  program
    .command("manage")
    .summary("the management UI through a port-forward")
    .description("forward a local port to a Ready node's management UI until Ctrl-C and say how to log in (the password only with --show-password)")
    .argument("<cluster>", "RabbitCluster name")
    .option("--port <port>", "local port (default 15672, else any free one; 0: any free one)", wholeNumber)
    .option("--address <address>", "local address to listen on", "127.0.0.1")
    .option("--show-password", "print the default user's password too")
    .action(withSession((session, cluster: string, options: { port?: number; address: string; showPassword?: boolean }) => manage(session, cluster, options)));

  program
    .command("secrets")
    .description("the default user's username, password and connection string")
    .argument("<cluster>", "RabbitCluster name")
    .action(withSession((session, cluster: string) => secrets(session, cluster)));

  program
    .command("logs")
    .summary("every node's log, interleaved")
    .description("every node's log, each line prefixed with its pod: merged in time order, or with -f as the lines come")
    .argument("<cluster>", "RabbitCluster name")
    .option("-f, --follow", "keep printing new lines until Ctrl-C")
    .option("--tail <lines>", "only the last lines of each node (default with -f: 10)", wholeNumber)
    .option("--since <duration>", "only lines newer than this, e.g. 10m", duration)
    .option("--previous", "the logs of the nodes' previous containers (after a crash or restart)")
    .option("--timestamps", "print the kubelet's timestamp of each line")
    .action(
      withSession((session, cluster: string, options: { follow?: boolean; tail?: number; since?: number; timestamps?: boolean; previous?: boolean }) =>
        logs(session, cluster, options),
      ),
    );

  const amqpOptions = (command: Command) =>
    command
      .option("-p, --vhost <vhost>", "virtual host", "/")
      .option(
        "--user-secret <secret>",
        "log in as the user of this Secret (username, password keys; e.g. a User's credentials Secret) instead of the default user",
      );

  amqpOptions(
    program
      .command("publish")
      .summary("publish test messages")
      .description("publish persistent test messages with publisher confirms, through a port-forward to a Ready node (unroutable ones are an error)")
      .argument("<cluster>", "RabbitCluster name")
      .option("--queue <queue>", "to this queue (through the default exchange)")
      .option("--exchange <exchange>", "to this exchange")
      .option("--routing-key <key>", "routing key for --exchange", "")
      .option("--count <n>", "how many messages", positiveNumber, 1)
      .option("--body <text>", "message body (default: a numbered, timestamped text)"),
  ).action(
    withSession(
      (
        session,
        cluster: string,
        options: { vhost: string; userSecret?: string; queue?: string; exchange?: string; routingKey: string; count: number; body?: string },
      ) => publish(session, cluster, options),
    ),
  );

  amqpOptions(
    program
      .command("consume")
      .summary("consume test messages")
      .description("consume test messages from a queue through a port-forward to a Ready node, and acknowledge them (or put them back with --requeue)")
      .argument("<cluster>", "RabbitCluster name")
      .argument("<queue>", "queue name")
      .option("--count <n>", "at most this many messages", positiveNumber, 10)
      .option("--timeout <seconds>", "stop when no message came for this long", positiveNumber, 5)
      .option(
        "--requeue",
        "put the messages back instead of acknowledging them (they come back marked redelivered; a quorum queue counts the delivery against its delivery-limit)",
      ),
  ).action(
    withSession((session, cluster: string, queue: string, options: { vhost: string; userSecret?: string; count: number; timeout: number; requeue?: boolean }) =>
      consume(session, cluster, queue, options),
    ),
  );

  for (const command of program.commands) {
    command.showHelpAfterError("(add --help for usage)").configureOutput(program.configureOutput()).exitOverride();
  }
  return program;
}
