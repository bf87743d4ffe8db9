// purge: empties a queue of its ready messages, after a confirmation unless --yes. In a
// RabbitCluster it asks and purges over AMQP, which counts exactly (the queue.declare and
// queue.purge replies carry the count); the management API's counts lag by its statistics
// interval, so an external cluster (management API only) is told RabbitMQ's last count.
import { createInterface } from "node:readline";
import { openTarget, type TargetSelection } from "../access.js";
import { PluginError } from "../errors.js";
import { serialize } from "../output.js";
import type { Session } from "../session.js";
import { connectAmqp, type AmqpSession } from "./messages.js";

export interface PurgeOptions {
  vhost: string;
  yes?: boolean;
}

export async function purge(session: Session, selection: TargetSelection, queue: string, options: PurgeOptions): Promise<void> {
  const target = await openTarget(session.kube, selection);
  const where = `queue ${queue} in vhost ${options.vhost} of ${target.description}`;
  try {
    const found = await target.call(`reading ${where}`, (m) => m.getQueue(options.vhost, queue));
    if (!found) {
      throw new PluginError(
        `there is no ${where}`,
        `kubectl rabbit queues ${selection.cluster ?? `--connection-secret ${selection.connectionSecret}`} -n ${selection.namespace} lists them`,
      );
    }
    if (selection.cluster && !selection.connectionSecret && !found.exclusive) {
      const amqp = await connectAmqp(session, selection.cluster, { vhost: options.vhost }).catch((error: unknown) => {
        // The default user may have no permissions in a vhost made by hand: the management API still purges.
        session.stderr.write(`note: counting over AMQP failed (${error instanceof Error ? error.message : String(error)}); using the management API's count\n`);
        return undefined;
      });
      if (amqp) {
        try {
          await purgeOverAmqp(session, amqp, selection.cluster, queue, where, options);
        } finally {
          await amqp.close();
        }
        return;
      }
    }
    const ready = found.messagesReady ?? 0;
    await confirmOrStop(session, `Purge ${where} (${ready} ready messages at RabbitMQ's last count)? [y/N] `, options);
    const existed = await target.call(`purging ${where}`, (m) => m.purgeQueue(options.vhost, queue));
    if (!existed) throw new PluginError(`${where} was deleted before it could be purged`);
    report(session, `purged ${where} (${ready} ready messages at RabbitMQ's last count)`, {
      queue,
      vhost: options.vhost,
      cluster: target.description,
      messagesReadyLastCounted: ready,
    });
  } finally {
    await target.close();
  }
}

async function purgeOverAmqp(session: Session, amqp: AmqpSession, cluster: string, queue: string, where: string, options: PurgeOptions): Promise<void> {
  const channel = await amqp.connection.createChannel();
  const { messageCount } = await channel.checkQueue(queue);
  await confirmOrStop(session, `Purge ${where} (${messageCount} ready messages)? [y/N] `, options);
  const purged = (await channel.purgeQueue(queue)).messageCount;
  report(session, `purged ${where}: ${purged} messages`, {
    queue,
    vhost: options.vhost,
    cluster: `RabbitCluster ${session.kube.namespace}/${cluster}`,
    messagesPurged: purged,
  });
}

function report(session: Session, line: string, result: Record<string, unknown>): void {
  session.stdout.write(session.format === "table" ? `${line}\n` : serialize({ ...result, purged: true }, session.format));
}

async function confirmOrStop(session: Session, question: string, options: PurgeOptions): Promise<void> {
  if (options.yes || (await confirm(session, question))) return;
  throw new PluginError("not purged", "answer y, or pass --yes");
}

/** Asks on stderr and reads one line from stdin; no answer (stdin closed, Ctrl-C) is a no. */
async function confirm(session: Session, question: string): Promise<boolean> {
  session.stderr.write(question);
  const lines = createInterface({ input: session.stdin, terminal: false });
  const answer = async () => {
    for await (const line of lines) return /^\s*y(es)?\s*$/i.test(line);
    return false;
  };
  try {
    return await Promise.race([answer(), session.interrupted.then(() => false)]);
  } finally {
    lines.close();
  }
}
