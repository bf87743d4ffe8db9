// The `control-plane` profile: etcd, kube-apiserver and kube-controller-manager (garbage
// collector and namespace controller) as local processes on loopback. What controller-runtime's
// envtest does, plus the controllers that deletions need. Ready in a few seconds when warm.
import { readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { sleep, systemClock } from "../operator/runtime/clock.js";
import { ensureDebianPackages } from "./debian.js";
import { isAlive, startProcess, stopProcessGroup, waitFor, type ManagedProcess } from "./exec.js";
import { ETCD, KUBERNETES, ensureTool } from "./go-tools.js";
import { claimRunDir, endLeftovers, ownedByThisRun } from "./leftovers.js";
import { ensurePki, type ControlPlanePki } from "./pki.js";
import { freePort } from "./ports.js";
import { RUN_DIR } from "./paths.js";
import { writeKubeconfig } from "./kubeconfig.js";

export interface ControlPlane {
  name: string;
  dir: string;
  kubeconfig: string;
  server: string;
  processes: ManagedProcess[];
  /**
   * Stops and starts kube-apiserver on the same port and storage (for watch-resilience tests),
   * down for `downMs` in between (0 by default).
   */
  restartApiServer(options?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  name?: string;
  /** Garbage collection and namespace deletion; on by default. */
  controllerManager?: boolean;
  /**
   * For `npm run cluster:up`: the control plane is meant to outlive this process. Otherwise it is
   * this run's, and a later run ends it if this one dies without stopping it (leftovers.ts).
   */
  outlivesThisProcess?: boolean;
}

/** SIGTERM to SIGKILL when stopping; none of the three needs longer to shut down cleanly. */
const STOP_GRACE_MS = 5_000;

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const name = options.name ?? `control-plane-${process.pid}`;
  const dir = join(RUN_DIR, name);
  await ensureDebianPackages(["openssl"]);
  const [etcdBin, apiserverBin, kcmBin] = await Promise.all([
    ensureTool(ETCD),
    ensureTool(KUBERNETES, "kube-apiserver"),
    ensureTool(KUBERNETES, "kube-controller-manager"),
  ]);
  const owned = !options.outlivesThisProcess;
  if (owned) await endLeftovers();
  const pki = await ensurePki(join(dir, "pki"));
  if (owned) await claimRunDir(dir);
  const env = owned ? { ...process.env, ...ownedByThisRun() } : process.env;
  const [etcdPort, etcdPeerPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const processes: ManagedProcess[] = [];
  // All at once and briefly: vitest gives a global teardown 10 s by default, and a teardown cut
  // short leaves the rest running (etcd last, in the order it was).
  const stopAll = async () => {
    await Promise.all(processes.map((p) => p.stop(STOP_GRACE_MS)));
    if (!process.env.RABBIT_OPERATOR_KEEP_RUN_DIR) await rm(dir, { recursive: true, force: true });
  };

  try {
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    processes.push(
      startProcess(
        "etcd",
        etcdBin,
        [
          `--data-dir=${join(dir, "etcd")}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=default=${peerUrl}`,
          "--name=default",
          "--unsafe-no-fsync",
          "--log-level=warn",
        ],
        { logFile: join(dir, "logs", "etcd.log"), env },
      ),
    );
    await waitFor("etcd", async () => (await fetch(`${etcdUrl}/health`)).ok, { timeoutMs: 30_000 });

    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = join(dir, "kubeconfig");
    await writeKubeconfig(kubeconfig, { name, server, caCert: pki.caCert, clientCert: pki.adminCert, clientKey: pki.adminKey });
    const startApiServer = () =>
      startProcess("kube-apiserver", apiserverBin, apiServerArgs(pki, apiPort, etcdUrl), { logFile: join(dir, "logs", "kube-apiserver.log"), env });
    let apiserver = startApiServer();
    processes.push(apiserver);
    await waitForApiServer(server, pki, apiserver);

    if (options.controllerManager !== false) {
      processes.push(
        startProcess(
          "kube-controller-manager",
          kcmBin,
          [
            `--kubeconfig=${kubeconfig}`,
            "--controllers=namespace,garbagecollector",
            "--leader-elect=false",
            "--secure-port=0",
            "--use-service-account-credentials=false",
            `--root-ca-file=${pki.caCert}`,
            `--service-account-private-key-file=${pki.serviceAccountKey}`,
          ],
          { logFile: join(dir, "logs", "kube-controller-manager.log"), env },
        ),
      );
    }

    await writeState(dir, { profile: "control-plane", name, kubeconfig, server, processes });
    return {
      name,
      dir,
      kubeconfig,
      server,
      processes,
      async restartApiServer({ downMs = 0 } = {}) {
        await apiserver.stop();
        if (downMs > 0) await sleep(systemClock, downMs);
        apiserver = startApiServer();
        processes[processes.findIndex((p) => p.name === "kube-apiserver")] = apiserver;
        await writeState(dir, { profile: "control-plane", name, kubeconfig, server, processes });
        await waitForApiServer(server, pki, apiserver);
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function apiServerArgs(pki: ControlPlanePki, port: number, etcdUrl: string): string[] {
  return [
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${port}`,
    `--etcd-servers=${etcdUrl}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    "--service-cluster-ip-range=10.0.0.0/24",
    "--authorization-mode=RBAC",
    "--allow-privileged=true",
    "--endpoint-reconciler-type=none",
  ];
}

async function waitForApiServer(server: string, pki: ControlPlanePki, process: ManagedProcess) {
  const [ca, cert, key] = await Promise.all([readFile(pki.caCert), readFile(pki.adminCert), readFile(pki.adminKey)]);
  let exited = false;
  void process.exited.then(() => (exited = true));
  await waitFor(
    "kube-apiserver /readyz",
    async () => {
      if (exited) throw new Error(`kube-apiserver exited; see ${process.logFile}`);
      return (await httpsStatus(`${server}/readyz`, { ca, cert, key })) === 200;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

function httpsStatus(url: string, tls: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

interface ControlPlaneState {
  profile: "control-plane";
  name: string;
  kubeconfig: string;
  server: string;
  processes: { name: string; pid: number; logFile: string }[];
}

async function writeState(dir: string, state: Omit<ControlPlaneState, "processes"> & { processes: ManagedProcess[] }) {
  const processes = state.processes.map(({ name, pid, logFile }) => ({ name, pid, logFile }));
  await writeFile(join(dir, "state.json"), JSON.stringify({ ...state, processes }, null, 2));
}

async function readState(name: string): Promise<ControlPlaneState | undefined> {
  try {
    return JSON.parse(await readFile(join(RUN_DIR, name, "state.json"), "utf8")) as ControlPlaneState;
  } catch {
    return undefined;
  }
}

export interface ControlPlaneStatus {
  name: string;
  kubeconfig: string;
  server: string;
  processes: { name: string; pid: number; running: boolean; logFile: string }[];
}

/** What a control plane started by another process (the CLI) is doing, from its state file. */
export async function controlPlaneStatus(name: string): Promise<ControlPlaneStatus | undefined> {
  const state = await readState(name);
  if (!state) return undefined;
  return { ...state, processes: state.processes.map((p) => ({ ...p, running: isAlive(p.pid) })) };
}

/** Stops a control plane started by another process and removes its directory. */
export async function stopControlPlaneByName(name: string): Promise<boolean> {
  const state = await readState(name);
  if (!state) return false;
  await Promise.all(state.processes.map((p) => stopProcessGroup(p.pid, STOP_GRACE_MS)));
  await rm(join(RUN_DIR, name), { recursive: true, force: true });
  return true;
}
