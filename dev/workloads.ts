// The classic RabbitMQ workloads (the tutorials' hello world, work queues, acknowledgements,
// durability, fair dispatch) with amqplib, as functions that report what they observed so that
// tests can assert on it. Every wait is bounded and every connection is closed.
//
// The queues are not declared here: the operator declares them in the tests that matter, so a
// workload only checks (passively, by default) that its queue exists.
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from "amqplib";
import { sleep, systemClock } from "../operator/runtime/clock.js";

export interface WorkloadOptions {
  /** Bound on every wait of the workload. */
  timeoutMs?: number;
  /** Declare the queue passively first, so that a missing queue fails clearly (default true). */
  checkQueue?: boolean;
}

const DEFAULT_TIMEOUT_MS = 15_000;
/**
 * How long a channel stays open after its last ack. Acks have no reply, and a quorum queue's
 * channel holds settlements back while earlier commands are in flight (RabbitMQ 3.10): a channel
 * closed at once loses them, and the messages come back, redelivered (seen: 16 of 50 after a
 * consume, 7 of 8 after a work queue's round trip).
 */
const ACK_SETTLE_MS = 500;

/** One message as a consumer saw it. */
export interface Delivery {
  consumer: string;
  content: string;
  redelivered: boolean;
  persistent: boolean;
}

// Hello world -------------------------------------------------------------------------------------

export interface HelloWorldResult {
  sent: string;
  received: Delivery[];
}

/** One producer sends one message through the default exchange; one consumer receives it. */
export async function helloWorld(url: string, queue: string, options: WorkloadOptions & { message?: string } = {}): Promise<HelloWorldResult> {
  const message = options.message ?? "Hello World!";
  return withSession(url, options, async (session) => {
    await session.checkQueue(queue);
    const consumer = await session.consumer("receiver", queue, { ack: false });
    const publisher = await session.publisher("sender");
    await publisher.send(queue, [message]);
    await session.waitFor(`"${message}" to arrive`, () => consumer.deliveries.length >= 1);
    return { sent: message, received: [...consumer.deliveries] };
  });
}

// Work queue ------------------------------------------------------------------------------------

export interface WorkQueueResult {
  tasks: string[];
  /** The tasks in the order they were delivered, with the worker that got each. */
  deliveries: Delivery[];
  byWorker: { "worker-1": string[]; "worker-2": string[] };
}

/**
 * Two workers consume with manual acks and no prefetch limit; a producer sends `tasks` persistent
 * tasks. RabbitMQ dispatches them round-robin: the workers alternate and each gets half.
 */
export async function workQueue(url: string, queue: string, options: WorkloadOptions & { tasks?: number } = {}): Promise<WorkQueueResult> {
  const taskCount = options.tasks ?? 6;
  const tasks = Array.from({ length: taskCount }, (_, i) => `task-${i + 1}`);
  return withSession(url, options, async (session) => {
    await session.checkQueue(queue);
    const deliveries: Delivery[] = [];
    const workers = await Promise.all(
      (["worker-1", "worker-2"] as const).map((name) =>
        session.consumer(name, queue, { ack: true, onDelivery: (delivery, ack) => (deliveries.push(delivery), ack()) }),
      ),
    );
    const publisher = await session.publisher("producer");
    await publisher.send(queue, tasks, { persistent: true });
    await session.waitFor(
      `${taskCount} tasks to be delivered`,
      () => deliveries.length >= taskCount,
      () => deliveries,
    );
    return {
      tasks,
      deliveries,
      byWorker: { "worker-1": workers[0]!.deliveries.map((d) => d.content), "worker-2": workers[1]!.deliveries.map((d) => d.content) },
    };
  });
}

// Manual acknowledgement and redelivery -----------------------------------------------------------

export interface RedeliveryResult {
  message: string;
  /** What the consumer that was killed saw before it died. */
  first: Delivery;
  /** What the other consumer got afterwards. */
  second: Delivery;
  /** Ready messages in the queue after the second consumer acked: 0 when the ack took. */
  messagesLeftAfterAck: number;
}

/**
 * A consumer takes a message with manual ack and dies (its connection closes) before acking; the
 * message goes back to the queue and is delivered to the other consumer, marked redelivered.
 */
export async function manualAckRedelivery(url: string, queue: string, options: WorkloadOptions = {}): Promise<RedeliveryResult> {
  const message = `redeliver-me-${Date.now()}`;
  return withSession(url, options, async (session) => {
    await session.checkQueue(queue);
    // The doomed consumer subscribes alone first so that the message surely goes to it.
    const doomed = await session.consumer("doomed", queue, { ack: true, ownConnection: true });
    const publisher = await session.publisher("producer");
    await publisher.send(queue, [message], { persistent: true });
    await session.waitFor("the first consumer to receive the message", () => doomed.deliveries.length >= 1);
    const survivor = await session.consumer("survivor", queue, { ack: true });
    await doomed.kill();
    await session.waitFor("the message to be redelivered to the second consumer", () => survivor.deliveries.length >= 1);
    survivor.ackAll();
    await survivor.closeChannel();
    return {
      message,
      first: doomed.deliveries[0]!,
      second: survivor.deliveries[0]!,
      messagesLeftAfterAck: await session.readyMessages(queue),
    };
  });
}

// Durability --------------------------------------------------------------------------------------

export interface PersistentPublishResult {
  messages: string[];
}

/** Publishes persistent messages with publisher confirms: when this returns, RabbitMQ has them on disk. */
export async function publishPersistent(
  url: string,
  queue: string,
  options: WorkloadOptions & { count?: number; prefix?: string } = {},
): Promise<PersistentPublishResult> {
  const prefix = options.prefix ?? "durable";
  const messages = Array.from({ length: options.count ?? 10 }, (_, i) => `${prefix}-${i + 1}`);
  return withSession(url, options, async (session) => {
    await session.checkQueue(queue);
    const publisher = await session.publisher("producer");
    await publisher.send(queue, messages, { persistent: true });
    return { messages };
  });
}

export interface ConfirmedPublishResult {
  /** Messages the broker confirmed (basic.ack): it promised to keep them. */
  confirmed: string[];
  /** Messages the broker refused (basic.nack). */
  nacked: string[];
  /** Messages sent whose fate is unknown: the connection broke before an answer. */
  unanswered: string[];
  /** Why publishing stopped early, if it did. */
  interruptedBy?: string;
}

/**
 * Publishes `count` persistent messages (or exactly `contents`, to publish again what was not
 * confirmed) one by one on a confirm channel, keeping at most `window`
 * unconfirmed, and records each broker answer. A broken connection ends the run without an
 * error: what was confirmed by then is the result. `onConfirmed` sees the running count, so a
 * test can break something mid-stream.
 */
export async function publishConfirmed(
  url: string,
  queue: string,
  options: WorkloadOptions & { count: number; prefix?: string; window?: number; onConfirmed?: (confirmed: number) => void; contents?: readonly string[] },
): Promise<ConfirmedPublishResult> {
  const prefix = options.prefix ?? "confirmed";
  const window = options.window ?? 100;
  const connection = await connect(url, {
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    clientProperties: { connection_name: "workload confirmed publisher" },
  });
  const result: ConfirmedPublishResult = { confirmed: [], nacked: [], unanswered: [] };
  const pending = new Set<string>();
  let broken: string | undefined;
  let closing = false;
  const breakWith = (error: unknown) => {
    if (!closing) broken ??= error instanceof Error ? error.message : String(error);
  };
  connection.on("error", breakWith);
  connection.on("close", () => breakWith("connection closed"));
  try {
    const channel = await connection.createConfirmChannel();
    channel.on("error", breakWith);
    channel.on("close", () => breakWith("channel closed"));
    let wake: (() => void) | undefined;
    const settle = () => {
      wake?.();
      wake = undefined;
    };
    const contents = options.contents ?? Array.from({ length: options.count }, (_, i) => `${prefix}-${i + 1}`);
    for (const content of contents) {
      if (broken) break;
      pending.add(content);
      channel.sendToQueue(queue, Buffer.from(content), { persistent: true }, (error) => {
        // amqplib answers every outstanding publish with an error when the channel closes.
        if (!pending.delete(content)) return;
        if (error === null || error === undefined) {
          result.confirmed.push(content);
          options.onConfirmed?.(result.confirmed.length);
        } else if (broken) {
          result.unanswered.push(content);
        } else {
          result.nacked.push(content);
        }
        settle();
      });
      while (pending.size >= window && !broken) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          // Re-check now and then: a close may come without any confirm callback.
          setTimeout(resolve, 200);
        });
      }
    }
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    while (pending.size > 0 && !broken && Date.now() < deadline) await sleep(systemClock, 20);
  } catch (error) {
    breakWith(error);
  } finally {
    result.unanswered.push(...pending);
    pending.clear();
    closing = true;
    await connection.close().catch(() => undefined);
  }
  if (broken) result.interruptedBy = broken;
  return result;
}

export interface PersistentConsumeResult {
  received: Delivery[];
  missing: string[];
  unexpected: string[];
  /** Ready messages left once everything received was acked. */
  messagesLeft: number;
}

/**
 * Consumes until every expected message has arrived (or the wait runs out), acks them and
 * reports what was missing or unexpected. Run after publishPersistent and a restart.
 */
export async function consumeAndVerify(
  url: string,
  queue: string,
  expected: readonly string[],
  options: WorkloadOptions = {},
): Promise<PersistentConsumeResult> {
  return withSession(url, options, async (session) => {
    await session.checkQueue(queue);
    // Sets, not scans: this runs every 20 ms over tens of thousands of messages.
    const seen = new Set<string>();
    const consumer = await session.consumer("verifier", queue, { ack: true, onDelivery: (delivery, ack) => (seen.add(delivery.content), ack()) });
    const allThere = () => expected.every((content) => seen.has(content));
    try {
      await session.waitFor(`${expected.length} messages`, allThere);
    } catch (error) {
      // A timeout is reported below as missing messages, which says more; a broker's error is not.
      if (!(error instanceof WaitTimeout)) throw error;
    }
    await consumer.closeChannel();
    const wanted = new Set(expected);
    return {
      received: [...consumer.deliveries],
      missing: expected.filter((content) => !seen.has(content)),
      unexpected: consumer.deliveries.map((d) => d.content).filter((content) => !wanted.has(content)),
      messagesLeft: await session.readyMessages(queue),
    };
  });
}

// Fair dispatch ---------------------------------------------------------------------------------

export interface FairDispatchResult {
  /** Messages the busy consumer got while it held its first message unacked. */
  busyWhileHolding: string[];
  /** Messages the quick consumer got meanwhile: all the others. */
  quickWhileBusyHeld: string[];
  /** After the busy consumer acked, two more messages: it gets its share again. */
  busyAfterAck: string[];
  quickAfterAck: string[];
}

/**
 * Two consumers with prefetch=1: the busy one takes a message and holds it; while it does, every
 * other message goes to the quick one (which acks at once), none to the busy one. Once the busy
 * one acks, it receives messages again.
 */
export async function fairDispatch(url: string, queue: string, options: WorkloadOptions & { messages?: number } = {}): Promise<FairDispatchResult> {
  const total = options.messages ?? 6;
  return withSession(url, options, async (session) => {
    await session.checkQueue(queue);
    const busy = await session.consumer("busy", queue, { ack: true, prefetch: 1 });
    const publisher = await session.publisher("producer");
    await publisher.send(queue, ["hold-me"], { persistent: true });
    await session.waitFor("the busy consumer to take its message", () => busy.deliveries.length >= 1);

    const quick = await session.consumer("quick", queue, { ack: true, prefetch: 1, onDelivery: (_delivery, ack) => ack() });
    const rest = Array.from({ length: total - 1 }, (_, i) => `work-${i + 1}`);
    await publisher.send(queue, rest, { persistent: true });
    await session.waitFor(`the quick consumer to process ${rest.length} messages`, () => quick.deliveries.length >= rest.length);
    // Give RabbitMQ the chance to do wrong: a delivery to the busy consumer would arrive by now.
    await sleep(systemClock, 300);
    const busyWhileHolding = busy.deliveries.map((d) => d.content);
    const quickWhileBusyHeld = quick.deliveries.map((d) => d.content);

    // Now both hold their next delivery: the busy consumer's ack and the publishes travel on
    // different channels, so RabbitMQ may see either first. If it sees the publish first, the
    // quick consumer takes one message and, holding it, is full; the other must wait for the
    // busy consumer's ack. Either way each consumer gets exactly one.
    quick.onDelivery(() => undefined);
    busy.onDelivery(() => undefined);
    busy.ackAll();
    const after = ["after-ack-1", "after-ack-2"];
    await publisher.send(queue, after, { persistent: true });
    await session.waitFor("the two messages after the ack", () => busy.deliveries.length + quick.deliveries.length >= 1 + rest.length + after.length);
    busy.ackAll();
    quick.ackAll();
    return {
      busyWhileHolding,
      quickWhileBusyHeld,
      busyAfterAck: busy.deliveries.slice(busyWhileHolding.length).map((d) => d.content),
      quickAfterAck: quick.deliveries.slice(quickWhileBusyHeld.length).map((d) => d.content),
    };
  });
}

// Stream replay ---------------------------------------------------------------------------------

export interface StreamReadResult {
  /** What each reader got, in order. */
  byReader: Record<string, string[]>;
}

/**
 * Readers of a stream, each from its first offset (a stream keeps what was published for every
 * reader, unlike a queue): each reads until it has every expected message or the time is up.
 * Streams need manual acks and a prefetch limit on the consuming channel.
 */
export async function readStream(
  url: string,
  stream: string,
  expected: readonly string[],
  options: WorkloadOptions & { readers?: number } = {},
): Promise<StreamReadResult> {
  const wanted = new Set(expected);
  return withSession(url, options, async (session) => {
    await session.checkQueue(stream);
    const readers = await Promise.all(
      Array.from({ length: options.readers ?? 2 }, (_, i) =>
        session.consumer(`reader-${i + 1}`, stream, {
          ack: true,
          prefetch: 500,
          ownConnection: true,
          arguments: { "x-stream-offset": "first" },
          onDelivery: (_delivery, ack) => ack(),
        }),
      ),
    );
    const complete = (reader: (typeof readers)[number]) => new Set(reader.deliveries.map((d) => d.content).filter((c) => wanted.has(c))).size === wanted.size;
    try {
      await session.waitFor(`every reader to read ${expected.length} messages`, () => readers.every(complete));
    } catch (error) {
      // A timeout is reported as what each reader got, which says more; a broker's error is not.
      if (!(error instanceof WaitTimeout)) throw error;
    }
    return { byReader: Object.fromEntries(readers.map((reader, i) => [`reader-${i + 1}`, reader.deliveries.map((d) => d.content)])) };
  });
}

// Routing ---------------------------------------------------------------------------------------

export interface RoutedMessage {
  exchange: string;
  routingKey: string;
  content: string;
  /** Message headers, for a headers exchange. */
  headers?: Record<string, string>;
}

/**
 * Publishes each message to its exchange, persistent, and waits for the broker's confirms. No
 * mandatory flag: where a message goes (a queue, another exchange, an alternate exchange, nowhere)
 * is the topology's business, and drainQueues shows it.
 */
export async function publishRouted(url: string, messages: readonly RoutedMessage[], options: WorkloadOptions = {}): Promise<void> {
  await withSession(url, options, async (session) => {
    const publisher = await session.publisher("router");
    await publisher.publish(messages);
  });
}

/** Takes every ready message off each queue (basic.get, acked): what each held, in order. */
export async function drainQueues(url: string, queues: readonly string[], options: WorkloadOptions = {}): Promise<Record<string, string[]>> {
  return withSession(url, options, async (session) => {
    const drained: Record<string, string[]> = {};
    for (const queue of queues) {
      await session.checkQueue(queue);
      drained[queue] = await session.drain(queue);
    }
    return drained;
  });
}

// Plumbing ------------------------------------------------------------------------------------------

interface ConsumerOptions {
  /** Manual acknowledgement (true) or automatic (false). */
  ack: boolean;
  prefetch?: number;
  /** A connection of its own, so that kill() closes it without touching the others. */
  ownConnection?: boolean;
  /** basic.consume arguments, e.g. a stream's x-stream-offset. */
  arguments?: Record<string, unknown>;
  onDelivery?: (delivery: Delivery, ack: () => void) => void;
}

interface Consumer {
  readonly deliveries: Delivery[];
  onDelivery(handler: (delivery: Delivery, ack: () => void) => void): void;
  /** Acks every delivery not acked yet. */
  ackAll(): void;
  closeChannel(): Promise<void>;
  /** Closes the consumer's connection without acking: a consumer that died mid-message. */
  kill(): Promise<void>;
}

interface Publisher {
  /** Sends to the queue through the default exchange and waits for the broker's confirms. */
  send(queue: string, contents: readonly string[], options?: { persistent?: boolean }): Promise<void>;
  /** Sends persistent messages to their exchanges and waits for the broker's confirms. */
  publish(messages: readonly RoutedMessage[]): Promise<void>;
}

interface Session {
  checkQueue(queue: string): Promise<void>;
  consumer(name: string, queue: string, options: ConsumerOptions): Promise<Consumer>;
  publisher(name: string): Promise<Publisher>;
  readyMessages(queue: string): Promise<number>;
  /** basic.get until the queue is empty, acking each message. */
  drain(queue: string): Promise<string[]>;
  waitFor(what: string, condition: () => boolean, observed?: () => unknown): Promise<void>;
}

/** Runs a workload with connections it opens on demand and always closes. */
async function withSession<T>(url: string, options: WorkloadOptions, body: (session: Session) => Promise<T>): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const connections: ChannelModel[] = [];
  const errors: Error[] = [];
  let shared: ChannelModel | undefined;

  const open = async (name: string): Promise<ChannelModel> => {
    const connection = await connect(url, { timeout: timeoutMs, clientProperties: { connection_name: `workload ${name}` } });
    // An 'error' event without a listener would throw out of amqplib's socket handling.
    connection.on("error", (error: Error) => errors.push(error));
    connections.push(connection);
    return connection;
  };
  const sharedConnection = async () => (shared ??= await open("shared"));
  // Every close waits out ACK_SETTLE_MS after the session's last ack.
  let lastAckAt = 0;
  const acked = () => void (lastAckAt = Date.now());
  const settleAcks = async () => {
    const wait = lastAckAt + ACK_SETTLE_MS - Date.now();
    if (wait > 0) await sleep(systemClock, wait);
  };
  const channel = async (connection: ChannelModel): Promise<Channel> => {
    const created = await connection.createChannel();
    created.on("error", (error: Error) => errors.push(error));
    return created;
  };

  const session: Session = {
    async checkQueue(queue) {
      if (options.checkQueue === false) return;
      const probe = await channel(await sharedConnection());
      try {
        await probe.checkQueue(queue);
      } catch (error) {
        throw new Error(`queue ${queue} does not exist or cannot be used: ${error instanceof Error ? error.message : String(error)}`);
      }
      await probe.close();
    },

    async consumer(name, queue, consumerOptions) {
      const connection = consumerOptions.ownConnection ? await open(name) : await sharedConnection();
      const consuming = await channel(connection);
      if (consumerOptions.prefetch !== undefined) await consuming.prefetch(consumerOptions.prefetch);
      const deliveries: Delivery[] = [];
      const unacked: ConsumeMessage[] = [];
      let handler = consumerOptions.onDelivery;
      const ackOne = (message: ConsumeMessage) => () => {
        const index = unacked.indexOf(message);
        if (index >= 0) {
          unacked.splice(index, 1);
          consuming.ack(message);
          acked();
        }
      };
      await consuming.consume(
        queue,
        (message) => {
          // null: the server cancelled the consumer (queue deleted).
          if (message === null) return;
          const delivery: Delivery = {
            consumer: name,
            content: message.content.toString(),
            redelivered: message.fields.redelivered,
            persistent: message.properties.deliveryMode === 2,
          };
          deliveries.push(delivery);
          if (consumerOptions.ack) unacked.push(message);
          handler?.(delivery, ackOne(message));
        },
        { noAck: !consumerOptions.ack, ...(consumerOptions.arguments ? { arguments: consumerOptions.arguments } : {}) },
      );
      return {
        deliveries,
        onDelivery(next) {
          handler = next;
        },
        ackAll() {
          for (const message of [...unacked]) ackOne(message)();
        },
        async closeChannel() {
          await settleAcks();
          await consuming.close();
        },
        async kill() {
          await connection.close();
          connections.splice(connections.indexOf(connection), 1);
        },
      };
    },

    async publisher(name) {
      const connection = await open(name);
      const confirming: ConfirmChannel = await connection.createConfirmChannel();
      confirming.on("error", (error: Error) => errors.push(error));
      return {
        async send(queue, contents, sendOptions = {}) {
          for (const content of contents) confirming.sendToQueue(queue, Buffer.from(content), { persistent: sendOptions.persistent ?? false });
          await withTimeout(confirming.waitForConfirms(), timeoutMs, `confirms for ${contents.length} messages to ${queue}`);
        },
        async publish(messages) {
          for (const message of messages) {
            confirming.publish(message.exchange, message.routingKey, Buffer.from(message.content), {
              persistent: true,
              ...(message.headers ? { headers: message.headers } : {}),
            });
          }
          await withTimeout(confirming.waitForConfirms(), timeoutMs, `confirms for ${messages.length} routed messages`);
        },
      };
    },

    async readyMessages(queue) {
      const probe = await channel(await sharedConnection());
      const { messageCount } = await probe.checkQueue(queue);
      await probe.close();
      return messageCount;
    },

    async drain(queue) {
      const getting = await channel(await sharedConnection());
      const contents: string[] = [];
      for (;;) {
        const message = await getting.get(queue, { noAck: false });
        if (message === false) break;
        contents.push(message.content.toString());
        getting.ack(message);
        acked();
      }
      await settleAcks();
      await getting.close();
      return contents;
    },

    async waitFor(what, condition, observed) {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (errors.length > 0) throw new Error(`while waiting for ${what}: ${errors.map((e) => e.message).join("; ")}`);
        if (Date.now() > deadline) {
          const detail = observed ? `; observed: ${JSON.stringify(observed())}` : "";
          throw new WaitTimeout(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
        }
        await sleep(systemClock, 20);
      }
    },
  };

  try {
    return await body(session);
  } finally {
    await settleAcks();
    await Promise.all(
      connections.map((connection) =>
        connection.close().catch(() => {
          // Already closed by the broker or by kill().
        }),
      ),
    );
  }
}

/** A bounded wait ran out (as opposed to an error the broker or the connection reported). */
class WaitTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
