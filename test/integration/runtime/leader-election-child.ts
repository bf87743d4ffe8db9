// A candidate in the leader election test, run as its own process: it campaigns for the Lease
// named in its environment and prints one JSON line per transition on stdout. SIGTERM stops it
// gracefully (releasing the Lease); the test SIGKILLs it to play a crashed leader.
import { KubeConfig } from "@kubernetes/client-node";
import { LeaderElector, createLogger, makeClients } from "../../../operator/runtime/index.js";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const identity = env("LEASE_IDENTITY");
const emit = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, identity, at: Date.now(), ...fields })}\n`);
};

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(env("LEASE_KUBECONFIG"));
const stop = new AbortController();
process.once("SIGTERM", () => stop.abort());

const elector = new LeaderElector(makeClients(kubeConfig).coordination, {
  namespace: env("LEASE_NAMESPACE"),
  name: env("LEASE_NAME"),
  identity,
  leaseDurationMs: Number(env("LEASE_DURATION_MS")),
  renewDeadlineMs: Number(env("LEASE_RENEW_DEADLINE_MS")),
  retryPeriodMs: Number(env("LEASE_RETRY_PERIOD_MS")),
  logger: createLogger({ level: "warn" }),
  callbacks: {
    onStartedLeading: () => emit("started-leading"),
    onStoppedLeading: () => emit("stopped-leading"),
    onNewLeader: (holder) => emit("observed-leader", { holder }),
  },
});

emit("campaigning");
await elector.run(stop.signal);
emit("exited");
