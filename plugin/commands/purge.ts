// purge: empties a queue of its ready messages, after a confirmation unless --yes.
import { createInterface } from "node:readline";
import { openTarget, type TargetSelection } from "../access.js";
import { PluginError } from "../errors.js";
import { serialize } from "../output.js";
import type { Session } from "../session.js";

export async function purge(session: Session, selection: TargetSelection, queue: string, options: { vhost: string; yes?: boolean }): Promise<void> {
  const target = await openTarget(session.kube, selection);
  try {
    const where = `queue ${queue} in vhost ${options.vhost} of ${target.description}`;
    const before = await target.call(`reading ${where}`, (m) => m.getQueue(options.vhost, queue));
    if (!before) {
      throw new PluginError(
        `there is no ${where}`,
        `kubectl rabbit queues ${selection.cluster ?? `--connection-secret ${selection.connectionSecret}`} -n ${selection.namespace} lists them`,
      );
    }
    const ready = before.messagesReady ?? 0;
    // RabbitMQ counts a queue's messages for its statistics every few seconds: the count may lag.
    if (!options.yes && !(await confirm(session, `Purge ${where} (${ready} ready messages at RabbitMQ's last count)? [y/N] `))) {
      throw new PluginError("not purged", "answer y, or pass --yes");
    }
    await target.call(`purging ${where}`, (m) => m.purgeQueue(options.vhost, queue));
    const result = { queue, vhost: options.vhost, cluster: target.description, messagesReadyLastCounted: ready, purged: true };
    session.stdout.write(
      session.format === "table" ? `purged ${where} (${ready} ready messages at RabbitMQ's last count)\n` : serialize(result, session.format),
    );
  } finally {
    await target.close();
  }
}

/** Asks on stderr and reads one line from stdin; no answer (stdin closed) is a no. */
async function confirm(session: Session, question: string): Promise<boolean> {
  session.stderr.write(question);
  const lines = createInterface({ input: session.stdin, terminal: false });
  try {
    for await (const line of lines) return /^\s*y(es)?\s*$/i.test(line);
    return false;
  } finally {
    lines.close();
  }
}
