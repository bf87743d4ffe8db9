// Bad input, generated (fast-check): RabbitCluster and topology specs, valid and hostile (huge,
// unicode, control characters, regex metacharacters, path-like names, absurd numbers, random JSON
// arguments), applied to the real API server while the real operator process runs against a real
// RabbitMQ. Each spec is refused by the schema or a CEL rule with a readable message, or accepted
// and then reconciled (Ready) or reported (Ready=False with a reason and a message); the operator
// never dies. `npm test` tries FUZZ_SPECS (default 150) per run; `npm run test:faults` 3,000.
import type { KubernetesObject } from "@kubernetes/client-node";
import fc from "fast-check";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { API_VERSION } from "../../../operator/api/index.js";
import { waitFor } from "../../../dev/exec.js";
import { apiErrorMessage, apply, createNamespace, installCrds, kubeClients, type KubeClients, waitForNamespaceGone } from "../../../dev/kube.js";
import { useRabbitCluster } from "../../harness/rabbitmq/use-rabbit-cluster.js";
import { OperatorProcess } from "./operator-process.js";

const SPECS = Number(process.env.FUZZ_SPECS ?? 150);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 100_000);
/** Applied at once, then awaited together. */
const BATCH = 50;

const rabbit = useRabbitCluster({ name: "hostile", disc: 1 });
let clients: KubeClients;
let namespace: { name: string; remove(): Promise<void> };
let operator: OperatorProcess;
let logDir: string;

beforeAll(async () => {
  clients = kubeClients(inject("kubeconfig"));
  await installCrds(clients);
  namespace = await createNamespace(clients, "hostile");
  logDir = await mkdtemp(join(tmpdir(), "rabbit-operator-hostile-"));
  await clients.core.createNamespacedSecret({
    namespace: namespace.name,
    body: { metadata: { name: "rabbit" }, stringData: { uri: rabbit.managementUrl(), username: rabbit.admin.username, password: rabbit.admin.password } },
  });
  operator = new OperatorProcess({ kubeconfig: inject("kubeconfig"), namespaces: [namespace.name], logFile: join(logDir, "operator.log") });
  await operator.start();
}, 120_000);

afterAll(async () => {
  if (namespace) {
    await namespace.remove();
    await waitForNamespaceGone(clients, namespace.name, 180_000).catch((error: unknown) => console.warn(String(error)));
  }
  await operator?.stop("SIGTERM");
  if (logDir) await rm(logDir, { recursive: true, force: true });
}, 240_000);

// Strings users (or attackers) may write: unicode, control characters, regex and path syntax,
// URL escapes, RabbitMQ's reserved prefix, the empty string, very long ones.
const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "/",
    "..",
    "../../etc/passwd",
    "%2F",
    "%",
    "a/b",
    "*",
    ".*",
    "(",
    "[",
    "\\",
    "amq.gen-x",
    "",
    " ",
    "\u0000",
    "\n",
    "😀",
    "a".repeat(255),
    "a".repeat(256),
    "é/%/?#&",
  ),
  fc.string({ minLength: 250, maxLength: 5_000 }),
);
const absurdNumber = fc.oneof(fc.integer(), fc.constantFrom(-1, 0, 2 ** 31, 2 ** 53, -(2 ** 63), 1e308), fc.double());
const jsonArguments = fc.dictionary(
  fc.oneof(fc.constantFrom("x-max-length", "x-message-ttl", "x-queue-mode", "x-dead-letter-exchange", "x-max-priority", "x-expires"), hostileString),
  fc.oneof(absurdNumber, hostileString, fc.jsonValue({ maxDepth: 2 })),
  { maxKeys: 4 },
);
const reference = { connectionSecret: { name: "rabbit" } };

const topologySpec = fc.oneof(
  fc.record({
    kind: fc.constant("Vhost"),
    spec: fc.record(
      {
        name: hostileString,
        tags: fc.array(hostileString, { maxLength: 3 }),
        limits: fc.record({ connections: absurdNumber, queues: absurdNumber }, { requiredKeys: [] }),
      },
      { requiredKeys: ["name"] },
    ),
  }),
  fc.record({
    kind: fc.constant("Queue"),
    spec: fc.record(
      {
        name: hostileString,
        vhost: fc.oneof(fc.constant("/"), hostileString),
        type: fc.oneof(fc.constantFrom("classic", "quorum", "stream"), hostileString),
        durable: fc.boolean(),
        autoDelete: fc.boolean(),
        arguments: jsonArguments,
      },
      { requiredKeys: ["name"] },
    ),
  }),
  fc.record({
    kind: fc.constant("Exchange"),
    spec: fc.record(
      {
        name: hostileString,
        vhost: fc.oneof(fc.constant("/"), hostileString),
        type: fc.oneof(fc.constantFrom("direct", "fanout", "topic", "headers"), hostileString),
        arguments: jsonArguments,
      },
      { requiredKeys: ["name"] },
    ),
  }),
  fc.record({
    kind: fc.constant("Binding"),
    spec: fc.record(
      {
        vhost: fc.constant("/"),
        source: fc.oneof(fc.constant("amq.direct"), hostileString),
        destination: hostileString,
        destinationType: fc.oneof(fc.constantFrom("queue", "exchange"), hostileString),
        routingKey: hostileString,
        arguments: jsonArguments,
      },
      { requiredKeys: ["source", "destination"] },
    ),
  }),
  fc.record({
    kind: fc.constant("Policy"),
    spec: fc.record(
      {
        name: hostileString,
        vhost: fc.constant("/"),
        pattern: hostileString,
        applyTo: fc.oneof(fc.constantFrom("queues", "exchanges", "all"), hostileString),
        priority: absurdNumber,
        definition: jsonArguments,
      },
      { requiredKeys: ["name", "pattern", "definition"] },
    ),
  }),
);

const clusterSpec = fc.record({
  kind: fc.constant("RabbitCluster"),
  spec: fc.record(
    {
      image: fc.oneof(fc.constant("localhost/rabbit-operator/rabbitmq:3.10.8"), fc.constant("rabbitmq:4.2-management"), hostileString),
      nodes: fc.record({ disc: absurdNumber, ram: absurdNumber }, { requiredKeys: [] }),
      persistence: fc.record({ storage: fc.oneof(fc.constantFrom("1Gi", "0", "-1Gi", "1e400"), hostileString) }, { requiredKeys: [] }),
      rabbitmq: fc.record(
        {
          additionalConfig: fc.oneof(fc.constant("consumer_timeout = 3600000"), hostileString),
          additionalPlugins: fc.array(fc.oneof(fc.constant("rabbitmq_shovel"), hostileString), { maxLength: 3 }),
          advancedConfig: hostileString,
        },
        { requiredKeys: [] },
      ),
      policies: fc.array(fc.record({ name: hostileString, pattern: hostileString, definition: jsonArguments }), { maxLength: 2 }),
      terminationGracePeriodSeconds: absurdNumber,
    },
    { requiredKeys: ["image"] },
  ),
});

type Outcome = { object: string; class: "refused" | "ready" | "reported"; reason: string; message: string };

interface StoredCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

interface Stored {
  metadata: { name: string; generation?: number };
  status?: { conditions?: StoredCondition[] };
}

function readyOf(stored: Stored): StoredCondition | undefined {
  return stored.status?.conditions?.find((c) => c.type === "Ready" && c.observedGeneration === stored.metadata.generation);
}

describe("generated specs, valid and hostile", () => {
  it(`${SPECS} of them: each refused with a readable message, or Ready, or Ready=False with a reason; the operator never dies`, async () => {
    console.log(`hostile input: seed ${SEED}, ${SPECS} specs`);
    const specs = fc.sample(fc.oneof({ arbitrary: topologySpec, weight: 4 }, { arbitrary: clusterSpec, weight: 1 }), { numRuns: SPECS, seed: SEED });
    const outcomes: Outcome[] = [];
    for (let start = 0; start < specs.length; start += BATCH) {
      const accepted: string[] = [];
      await Promise.all(
        specs.slice(start, start + BATCH).map(async ({ kind, spec }, offset) => {
          const name = `h-${start + offset}`;
          const body = { ...spec, ...(kind === "RabbitCluster" ? {} : { rabbitmqClusterReference: reference }) };
          try {
            await apply(clients, { apiVersion: API_VERSION, kind, metadata: { name, namespace: namespace.name }, spec: body } as KubernetesObject);
            accepted.push(`${kind}/${name}`);
          } catch (error) {
            outcomes.push({ object: `${kind}/${name}`, class: "refused", reason: "Invalid", message: apiErrorMessage(error) });
          }
        }),
      );
      // Every accepted object gets a Ready condition for its generation, with a reason and a message.
      try {
        await waitFor(
          `${accepted.length} accepted objects to get a Ready condition`,
          async () => {
            const conditions = await Promise.all(accepted.map((id) => readCondition(id)));
            return conditions.every((c) => c !== undefined);
          },
          { timeoutMs: 120_000, intervalMs: 500 },
        );
      } catch (error) {
        const log = await operator.logLines();
        for (const id of accepted) {
          if (await readCondition(id)) continue;
          const stored = (await read(id)) as Stored & { spec?: unknown };
          const name = id.split("/")[1]!;
          const lines = log.filter((line) => line.includes(`/${name}"`) || line.includes(`/${name}\\`)).slice(-3);
          console.error(
            `no Ready condition: ${id} spec ${JSON.stringify(stored.spec).slice(0, 400)} status ${JSON.stringify(stored.status)}\n  ${lines.join("\n  ")}`,
          );
        }
        throw new Error(`${String(error)} (seed ${SEED}; the objects are listed above)`);
      }
      for (const id of accepted) {
        const ready = (await readCondition(id))!;
        outcomes.push({ object: id, class: ready.status === "True" ? "ready" : "reported", reason: ready.reason ?? "", message: ready.message ?? "" });
      }
      expect(operator.running, "the operator process is alive").toBe(true);
    }

    const summary = new Map<string, number>();
    for (const outcome of outcomes) {
      const key = `${outcome.class} ${outcome.object.split("/")[0]} ${outcome.reason}`;
      summary.set(key, (summary.get(key) ?? 0) + 1);
    }
    console.log(
      `seed ${SEED}, ${outcomes.length} specs:\n${[...summary]
        .sort()
        .map(([key, count]) => `  ${count}\t${key}`)
        .join("\n")}`,
    );
    expect(outcomes).toHaveLength(SPECS);
    for (const outcome of outcomes) {
      expect(outcome.reason, outcome.object).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(outcome.message.length, `${outcome.object}: ${outcome.message}`).toBeGreaterThan(10);
      expect(outcome.message, outcome.object).not.toMatch(/\[object Object\]|undefined|TypeError|ReferenceError/);
    }
    // Refusals name the field at fault, as the API server's schema and CEL messages do; a body it
    // cannot even decode (DEL or a C1 control character, which JSON leaves raw and a server-side apply's
    // YAML does not) is refused with the YAML decoder's reason, as kubectl apply would see it.
    for (const refused of outcomes.filter((o) => o.class === "refused"))
      expect(refused.message, refused.object).toMatch(/spec|metadata|control characters are not allowed/);
    expect(outcomes.some((o) => o.class === "refused")).toBe(true);
    expect(outcomes.some((o) => o.class !== "refused")).toBe(true);

    // One life: never restarted, never crashed; nothing thrown past the reconcilers.
    const log = await operator.logLines();
    expect(log.filter((line) => line.includes('"controller started"')).length).toBeGreaterThan(0);
    expect(log.filter((line) => !line.startsWith("{"))).toEqual([]);
    expect(log.filter((line) => /uncaught|unhandled/i.test(line))).toEqual([]);
  }, 1_800_000);
});

async function read(id: string): Promise<Stored> {
  const [kind, name] = id.split("/") as [string, string];
  return (await clients.objects.read({ apiVersion: API_VERSION, kind, metadata: { name, namespace: namespace.name } })) as unknown as Stored;
}

async function readCondition(id: string): Promise<StoredCondition | undefined> {
  return readyOf(await read(id));
}
