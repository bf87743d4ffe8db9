// `npm run cluster:up|down|status -- [--profile control-plane|full] [--name NAME]`
// Starts, stops or describes a local cluster of one of the two profiles and prints its
// kubeconfig path. A cluster outlives this command; `cluster:down` stops it by its state file.
import { parseArgs } from "node:util";
import { controlPlaneStatus, startControlPlane, stopControlPlaneByName } from "./control-plane.js";

type Profile = "control-plane" | "full";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    profile: { type: "string", default: "full" },
    name: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

const usage = `usage: npm run cluster:<up|down|status> -- [--profile control-plane|full] [--name NAME]
  control-plane  etcd + kube-apiserver + kube-controller-manager on loopback (integration tier)
  full           a kind cluster on podman with our images loaded (e2e tier, demo)`;

const command = positionals[0];
const profile = values.profile as Profile;
if (values.help || !command || !["up", "down", "status"].includes(command) || !["control-plane", "full"].includes(profile)) {
  console.log(usage);
  process.exit(values.help ? 0 : 2);
}
const name = values.name ?? (profile === "full" ? "rabbit-operator" : "rabbit-operator-cp");

async function main(): Promise<number> {
  if (profile === "control-plane") {
    if (command === "up") {
      const existing = await controlPlaneStatus(name);
      if (existing?.processes.every((p) => p.running)) {
        console.log(`control plane ${name} is already running\nKUBECONFIG=${existing.kubeconfig}`);
        return 0;
      }
      if (existing) await stopControlPlaneByName(name);
      const started = Date.now();
      const cp = await startControlPlane({ name, outlivesThisProcess: true });
      console.log(`control plane ${name} ready in ${((Date.now() - started) / 1000).toFixed(1)} s\nKUBECONFIG=${cp.kubeconfig}`);
      return 0;
    }
    if (command === "down") {
      console.log((await stopControlPlaneByName(name)) ? `control plane ${name} stopped` : `no control plane named ${name}`);
      return 0;
    }
    const status = await controlPlaneStatus(name);
    if (!status) {
      console.log(`no control plane named ${name}`);
      return 1;
    }
    for (const p of status.processes) console.log(`${p.name.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${p.running ? "running" : "STOPPED"}  ${p.logFile}`);
    console.log(`KUBECONFIG=${status.kubeconfig}`);
    return status.processes.every((p) => p.running) ? 0 : 1;
  }
  const full = await import("./full-cluster.js");
  if (command === "up") {
    const started = Date.now();
    const cluster = await full.startFullCluster({ name });
    console.log(`cluster ${name} ready in ${((Date.now() - started) / 1000).toFixed(1)} s\nKUBECONFIG=${cluster.kubeconfig}`);
    return 0;
  }
  if (command === "down") {
    await full.stopFullCluster(name);
    console.log(`cluster ${name} deleted`);
    return 0;
  }
  const status = await full.fullClusterStatus(name);
  console.log(JSON.stringify(status, null, 2));
  return status.running ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
