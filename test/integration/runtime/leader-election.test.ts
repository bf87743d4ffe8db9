// Leader election between real processes: two candidates campaign for one Lease; the leader is
// SIGKILLed (no release, as in a crash) and the other takes over once the Lease has not been
// renewed for its duration; a leader stopped with SIGTERM releases the Lease for an immediate
// takeover.
import { CoordinationV1Api } from "@kubernetes/client-node";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { REPO_ROOT } from "../../../dev/paths.js";
import { createNamespace, eventually, loadKubeConfig, uniqueName } from "./helpers.js";

const kubeconfigPath = inject("kubeconfig");
const kubeConfig = loadKubeConfig(kubeconfigPath);
const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
const LEASE_DURATION_MS = 4_000;
const RENEW_DEADLINE_MS = 3_000;
const RETRY_PERIOD_MS = 500;

interface Candidate {
  identity: string;
  process: ChildProcess;
  lines: Array<{ event: string; identity: string; at: number; holder?: string }>;
  exited: Promise<number | null>;
}

let namespace: Awaited<ReturnType<typeof createNamespace>>;
const candidates: Candidate[] = [];

beforeAll(async () => {
  namespace = await createNamespace(kubeConfig, "election");
});
afterEach(async () => {
  // Everything started is stopped, whatever the test did.
  for (const candidate of candidates.splice(0)) {
    if (candidate.process.exitCode === null && candidate.process.signalCode === null) candidate.process.kill("SIGKILL");
    await candidate.exited;
  }
});
afterAll(async () => {
  await namespace?.remove();
});

function startCandidate(identity: string, leaseName: string): Candidate {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "leader-election-child.ts")], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      LEASE_KUBECONFIG: kubeconfigPath,
      LEASE_NAMESPACE: namespace.name,
      LEASE_NAME: leaseName,
      LEASE_IDENTITY: identity,
      LEASE_DURATION_MS: String(LEASE_DURATION_MS),
      LEASE_RENEW_DEADLINE_MS: String(RENEW_DEADLINE_MS),
      LEASE_RETRY_PERIOD_MS: String(RETRY_PERIOD_MS),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const candidate: Candidate = {
    identity,
    process: child,
    lines: [],
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
  };
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      candidate.lines.push(JSON.parse(line));
    } catch {
      // Not one of ours.
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => process.stderr.write(`[${identity}] ${chunk}`));
  candidates.push(candidate);
  return candidate;
}

const hasEvent = (candidate: Candidate, event: string) => candidate.lines.some((line) => line.event === event);
const eventTime = (candidate: Candidate, event: string) => candidate.lines.find((line) => line.event === event)?.at;

describe("leader election across processes", () => {
  it("hands over within the lease duration when the leader process is killed", async () => {
    const leaseName = uniqueName("lease");
    const first = startCandidate("candidate-a", leaseName);
    await eventually("a leads", () => hasEvent(first, "started-leading"), 30_000);
    const second = startCandidate("candidate-b", leaseName);
    await eventually("b sees a as leader", () => second.lines.some((line) => line.event === "observed-leader" && line.holder === "candidate-a"), 30_000);
    // b keeps waiting while a renews.
    await new Promise((resolve) => setTimeout(resolve, LEASE_DURATION_MS + 1_000));
    expect(hasEvent(second, "started-leading")).toBe(false);

    const killedAt = Date.now();
    first.process.kill("SIGKILL");
    await eventually("b leads", () => hasEvent(second, "started-leading"), LEASE_DURATION_MS + 10_000);
    const takeoverMs = eventTime(second, "started-leading")! - killedAt;
    console.log(JSON.stringify({ takeoverMs, leaseDurationMs: LEASE_DURATION_MS, retryPeriodMs: RETRY_PERIOD_MS }));
    // It waited for the Lease to expire: b last saw it renewed about a retry period (plus the
    // time of a renewal, slack for a loaded machine) before the kill; and it took over within the
    // lease duration plus two retry periods and some slack.
    expect(takeoverMs).toBeGreaterThanOrEqual(LEASE_DURATION_MS - RETRY_PERIOD_MS - 1_000);
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_DURATION_MS + 2 * RETRY_PERIOD_MS + 1_500);

    const lease = await coordination.readNamespacedLease({ name: leaseName, namespace: namespace.name });
    expect(lease.spec?.holderIdentity).toBe("candidate-b");
    expect(lease.spec?.leaseTransitions).toBe(1);
  });

  it("hands over at once when the leader stops gracefully and releases the Lease", async () => {
    const leaseName = uniqueName("lease");
    const first = startCandidate("candidate-c", leaseName);
    await eventually("c leads", () => hasEvent(first, "started-leading"), 30_000);
    const second = startCandidate("candidate-d", leaseName);
    await eventually("d sees c as leader", () => second.lines.some((line) => line.event === "observed-leader" && line.holder === "candidate-c"), 30_000);

    const stoppedAt = Date.now();
    first.process.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(first.lines.map((line) => line.event)).toEqual(expect.arrayContaining(["stopped-leading", "exited"]));
    await eventually("d leads", () => hasEvent(second, "started-leading"), LEASE_DURATION_MS + 10_000);
    const takeoverMs = eventTime(second, "started-leading")! - stoppedAt;
    console.log(JSON.stringify({ gracefulTakeoverMs: takeoverMs }));
    // Released: d need not wait for the lease duration, only for its next retry.
    expect(takeoverMs).toBeLessThan(LEASE_DURATION_MS - RETRY_PERIOD_MS);
  });

  it("has exactly one leader at a time among three candidates", async () => {
    const leaseName = uniqueName("lease");
    const group = ["e", "f", "g"].map((id) => startCandidate(`candidate-${id}`, leaseName));
    await eventually("someone leads", () => group.some((c) => hasEvent(c, "started-leading")), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 2 * LEASE_DURATION_MS));
    expect(group.filter((c) => hasEvent(c, "started-leading"))).toHaveLength(1);
  });
});
