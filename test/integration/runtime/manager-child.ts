// A whole operator process for the shutdown test: a Manager with leader election and one slow
// controller, run until SIGTERM. Prints one JSON line per reconcile start and end on stdout.
import { KubeConfig, type V1ConfigMap } from "@kubernetes/client-node";
import { Manager, RESOURCES, createLogger } from "../../../operator/runtime/index.js";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const emit = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, at: Date.now(), ...fields })}\n`);
};

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(env("MANAGER_KUBECONFIG"));
const namespace = env("MANAGER_NAMESPACE");
const manager = new Manager({
  kubeConfig,
  namespaces: [namespace],
  leaderElection: { namespace, name: env("MANAGER_LEASE"), identity: "manager-child" },
  logger: createLogger({ level: "warn" }),
});
const slow = manager.informer<V1ConfigMap>(RESOURCES.ConfigMap, { labelSelector: "slow=yes" });
manager.addController({
  name: "slow",
  for: slow,
  reconciler: {
    async reconcile({ key, signal }) {
      emit("reconcile-started", { key });
      // Work that does not check the signal: shutdown must wait for it.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      emit("reconcile-finished", { key, aborted: signal.aborted });
    },
  },
});
await manager.run();
emit("exited");
