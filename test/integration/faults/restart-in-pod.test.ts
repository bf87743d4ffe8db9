// The operator's container restarted by the kubelet after a crash: the same pod name and, as the
// entry point of a container, pid 1 in every life. The new life must be a new candidate for the
// Lease, not the dead one renewing: it leads only once the dead life's Lease has run out, so that
// whatever the dead life left in flight has settled (an e2e kill test found the restarted
// container leading at once and finishing the work it was meant to leave half done).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DEFAULT_LEADER_ELECTION } from "../../../operator/runtime/index.js";
import { run, waitFor } from "../../../dev/exec.js";
import { createNamespace, installCrds, kubeClients, type KubeClients } from "../../../dev/kube.js";
import { OperatorProcess } from "./operator-process.js";

const POD_NAME = "rabbit-operator-5d8f7-x2k9q";
const LEASE = "rabbit-operator";
let clients: KubeClients;
let namespace: { name: string; remove(): Promise<void> };
let operator: OperatorProcess;
let logDir: string;

beforeAll(async () => {
  // A PID namespace needs root (CAP_SYS_ADMIN): say so at once rather than after a start timeout.
  await run("unshare", ["--pid", "--fork", "--mount-proc", "true"]).catch((error: unknown) => {
    throw new Error(`this test runs the operator as pid 1 of a PID namespace, which needs root: ${String(error)}`);
  });
  clients = kubeClients(inject("kubeconfig"));
  await installCrds(clients);
  namespace = await createNamespace(clients, "restart-in-pod");
  logDir = await mkdtemp(join(tmpdir(), "rabbit-operator-restart-in-pod-"));
  operator = new OperatorProcess({
    kubeconfig: inject("kubeconfig"),
    namespaces: [namespace.name],
    logFile: join(logDir, "operator.log"),
    args: ["--leader-elect", `--leader-election-namespace=${namespace.name}`],
    env: { POD_NAME, POD_NAMESPACE: namespace.name },
    pidOne: true,
  });
}, 60_000);

afterAll(async () => {
  await operator?.stop("SIGTERM");
  await namespace?.remove();
  if (logDir) await rm(logDir, { recursive: true, force: true });
}, 60_000);

async function holder(): Promise<string | undefined> {
  const lease = (await clients.objects.read({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: LEASE, namespace: namespace.name } })) as {
    spec?: { holderIdentity?: string };
  };
  return lease.spec?.holderIdentity;
}

/** The times (ms) at which lives logged a line with this message, in order. */
async function logged(message: string): Promise<{ at: number; line: Record<string, unknown> }[]> {
  return (await operator.logLines())
    .filter((line) => line.includes(`"msg":"${message}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .map((line) => ({ at: Date.parse(String(line.ts)), line }));
}

describe("the operator restarted in its pod after a crash, pid 1 in each life as in a container", () => {
  it("is a new candidate: it leads under another identity, only once the dead life's Lease has run out", async () => {
    await operator.start();
    const dead = await holder();
    expect(dead).toMatch(new RegExp(`^${POD_NAME}_`));
    expect(await operator.pidInItsNamespace()).toBe(1);

    await operator.stop("SIGKILL");
    const killedAt = Date.now();
    await operator.start({ waitForControllers: false });
    expect(await operator.pidInItsNamespace()).toBe(1);
    await waitFor("the restarted life to lead", async () => (await logged("started leading")).length === 2, { timeoutMs: 60_000, intervalMs: 100 });
    const ledAfterMs = (await logged("started leading"))[1]!.at - killedAt;
    console.log(`restarted life led ${ledAfterMs} ms after the kill (Lease ${DEFAULT_LEADER_ELECTION.leaseDurationMs} ms)`);

    const alive = await holder();
    expect(alive).toMatch(new RegExp(`^${POD_NAME}_`));
    expect(alive).not.toBe(dead);
    // It saw the dead life's Lease and waited it out: the full duration from when it first saw it,
    // less the time the dead life's last renewal was old at the kill (at most a retry period).
    expect((await logged("observed leader")).some((entry) => entry.line.holder === dead)).toBe(true);
    expect(ledAfterMs).toBeGreaterThanOrEqual(DEFAULT_LEADER_ELECTION.leaseDurationMs - DEFAULT_LEADER_ELECTION.retryPeriodMs);
  }, 120_000);
});
