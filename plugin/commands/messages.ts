// publish / consume: a few test messages through a port-forward to a Ready node's AMQP port,
// as the cluster's default user (or the user of --user-secret), for smoke checks.
import amqp from "amqplib";
import { PORTS } from "../../operator/rabbitmq/ports.js";
import { secretValue } from "../../operator/resources/secrets.js";
import { readyPod, requireCluster } from "../access.js";
import { PluginError } from "../errors.js";
import { render, serialize, type Column } from "../output.js";
import { forwardPort, type LocalForward } from "../port-forward.js";
import type { Session } from "../session.js";
import { defaultUser } from "./manage.js";

export interface AmqpOptions {
  vhost: string;
  /** A Secret with username and password keys (a User's credentials Secret) instead of the default user. */
  userSecret?: string;
}

export interface AmqpSession {
  connection: amqp.ChannelModel;
  description: string;
  close(): Promise<void>;
}

/** An AMQP connection to a Ready node of the RabbitCluster, through a port-forward; close() ends both. */
export async function connectAmqp(session: Session, name: string, options: AmqpOptions): Promise<AmqpSession> {
  const { kube } = session;
  const cluster = await requireCluster(kube, kube.namespace, name);
  const { username, password } = options.userSecret ? await userFromSecret(session, options.userSecret) : await defaultUser(session, name);
  const pod = (await readyPod(kube, cluster)).metadata!.name!;
  const forward: LocalForward = await forwardPort(kube.kubeConfig, kube.namespace, pod, PORTS.amqp);
  const url = `amqp://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${forward.address}:${forward.port}/${encodeURIComponent(options.vhost)}`;
  try {
    const connection = await amqp.connect(url);
    connection.on("error", () => undefined);
    return {
      connection,
      description: `vhost ${options.vhost} of RabbitCluster ${kube.namespace}/${name} as ${username}`,
      close: async () => {
        await connection.close().catch(() => undefined);
        await forward.close();
      },
    };
  } catch (error) {
    await forward.close();
    throw (
      forward.lastFailure() ??
      new PluginError(`connecting to vhost ${options.vhost} of RabbitCluster ${kube.namespace}/${name} as ${username}: ${amqpMessage(error)}`)
    );
  }
}

async function userFromSecret(session: Session, name: string): Promise<{ username: string; password: string }> {
  const secret = await session.kube.getSecret(session.kube.namespace, name);
  const username = secretValue(secret, "username");
  const password = secretValue(secret, "password");
  if (!username || !password) throw new PluginError(`Secret ${session.kube.namespace}/${name} has no username and password keys`);
  return { username, password };
}

/** amqplib's messages carry the server's reason ("ACCESS_REFUSED - Login was refused ..."). */
function amqpMessage(error: unknown): string {
  return error instanceof Error ? error.message.replace(/\s+/g, " ") : String(error);
}

export interface PublishOptions extends AmqpOptions {
  queue?: string;
  exchange?: string;
  routingKey?: string;
  count: number;
  body?: string;
}

export async function publish(session: Session, name: string, options: PublishOptions): Promise<void> {
  if ((options.queue === undefined) === (options.exchange === undefined)) {
    throw new PluginError("name a --queue, or an --exchange (with --routing-key)", undefined, 2);
  }
  const exchange = options.exchange ?? "";
  const routingKey = options.queue ?? options.routingKey ?? "";
  const amqpSession = await connectAmqp(session, name, options);
  try {
    const channel = await amqpSession.connection.createConfirmChannel();
    let returned = 0;
    channel.on("return", () => returned++);
    const sentAt = new Date(session.now()).toISOString();
    for (let i = 1; i <= options.count; i++) {
      const body = options.body ?? `kubectl-rabbit test message ${i}/${options.count} at ${sentAt}`;
      channel.publish(exchange, routingKey, Buffer.from(body), {
        persistent: true,
        mandatory: true,
        contentType: "text/plain",
        messageId: `kubectl-rabbit-${sentAt}-${i}`,
      });
    }
    await channel.waitForConfirms();
    // Returns arrive before the confirms of the same messages.
    await channel.close();
    const destination = options.queue !== undefined ? `queue ${options.queue}` : `exchange ${exchange} with routing key "${routingKey}"`;
    if (returned > 0) {
      throw new PluginError(`${returned} of ${options.count} messages to ${destination} in ${amqpSession.description} were unroutable (no queue took them)`);
    }
    const result = { published: options.count, confirmed: options.count, exchange, routingKey };
    session.stdout.write(
      session.format === "table"
        ? `published ${options.count} persistent messages to ${destination} in ${amqpSession.description}: all confirmed\n`
        : serialize(result, session.format),
    );
  } catch (error) {
    throw error instanceof PluginError ? error : new PluginError(`publishing in ${amqpSession.description}: ${amqpMessage(error)}`);
  } finally {
    await amqpSession.close();
  }
}

export interface ConsumeOptions extends AmqpOptions {
  count: number;
  /** Seconds to wait for the next message before giving up. */
  timeout: number;
  /** Put the messages back instead of acknowledging them. */
  requeue?: boolean;
}

export interface ConsumedMessage {
  body: string;
  exchange: string;
  routingKey: string;
  redelivered: boolean;
  messageId?: string;
}

const MESSAGE_COLUMNS: Column<ConsumedMessage>[] = [
  { header: "EXCHANGE", cell: (m) => (m.exchange === "" ? "(default)" : m.exchange) },
  { header: "ROUTING KEY", cell: (m) => m.routingKey },
  { header: "REDELIVERED", cell: (m) => m.redelivered },
  { header: "BODY", cell: (m) => (m.body.length > 100 ? `${m.body.slice(0, 97)}...` : m.body) },
];

export async function consume(session: Session, name: string, queue: string, options: ConsumeOptions): Promise<void> {
  const amqpSession = await connectAmqp(session, name, options);
  try {
    const channel = await amqpSession.connection.createChannel();
    await channel.checkQueue(queue).catch((error: unknown) => {
      throw new PluginError(`there is no queue ${queue} in ${amqpSession.description}: ${amqpMessage(error)}`);
    });
    const channelForReading = await amqpSession.connection.createChannel();
    await channelForReading.prefetch(options.count);
    const received: amqp.ConsumeMessage[] = [];
    let consumerTag: string | undefined;
    await new Promise<void>((resolve, reject) => {
      let timer = setTimeout(resolve, options.timeout * 1000);
      channelForReading
        .consume(queue, (message) => {
          if (!message) return resolve();
          received.push(message);
          clearTimeout(timer);
          if (received.length >= options.count) return resolve();
          timer = setTimeout(resolve, options.timeout * 1000);
        })
        .then(({ consumerTag: tag }) => (consumerTag = tag), reject);
      void session.interrupted.then(() => resolve());
    });
    // No more deliveries before settling: a refilled prefetch window would be returned on close,
    // each message marked redelivered (and counted against a quorum queue's delivery-limit).
    if (consumerTag) await channelForReading.cancel(consumerTag);
    for (const message of received) {
      if (options.requeue) channelForReading.nack(message, false, true);
      else channelForReading.ack(message);
    }
    await channelForReading.close();
    const messages: ConsumedMessage[] = received.map((m) => ({
      body: m.content.toString("utf8"),
      exchange: m.fields.exchange,
      routingKey: m.fields.routingKey,
      redelivered: m.fields.redelivered,
      ...(typeof m.properties.messageId === "string" ? { messageId: m.properties.messageId } : {}),
    }));
    if (session.format === "table") {
      session.stderr.write(
        `${messages.length} message(s) from queue ${queue} in ${amqpSession.description}, ${options.requeue ? "requeued" : "acknowledged"}\n`,
      );
      if (messages.length > 0) session.stdout.write(render("table", MESSAGE_COLUMNS, messages));
    } else {
      session.stdout.write(serialize(messages, session.format));
    }
  } catch (error) {
    throw error instanceof PluginError ? error : new PluginError(`consuming from queue ${queue} in ${amqpSession.description}: ${amqpMessage(error)}`);
  } finally {
    await amqpSession.close();
  }
}
