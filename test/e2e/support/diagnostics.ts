// What a failed e2e test leaves to read, printed because CI keeps only the output: every pod of
// the namespaces it used, one line each, and for each pod that is not Ready or has restarted its
// containers' last log lines (the previous container's too), then the namespaces' latest Events.
// A pod the operator replaces takes its logs along: this runs when the test fails, before the
// next test changes anything.
import { inject } from "vitest";
import { kubectlOn } from "./kubectl.js";

interface PodStatus {
  metadata: { name: string; creationTimestamp?: string; deletionTimestamp?: string };
  status: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      name: string;
      ready: boolean;
      restartCount: number;
      state?: Record<string, { reason?: string; exitCode?: number; startedAt?: string } | undefined>;
    }[];
  };
}

const LOG_LINES = 60;
const EVENTS = 25;

/** kubeconfig: the e2e cluster unless another is named (the demo's embedded one). */
export async function printDiagnostics(namespaces: readonly string[], kubeconfig: string = inject("kubeconfig")): Promise<void> {
  const { kubectl, kubectlJson } = kubectlOn(kubeconfig);
  const out: string[] = [];
  for (const namespace of namespaces) {
    const pods = await kubectlJson<{ items: PodStatus[] }>(["-n", namespace, "get", "pods"]).catch((error: unknown) => ({
      items: [],
      error: String(error).split("\n")[0],
    }));
    out.push(`=== namespace ${namespace}: ${"error" in pods ? `pods not listed: ${pods.error}` : `${pods.items.length} pod(s)`}`);
    for (const pod of pods.items) {
      const ready = pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
      const containers = pod.status.containerStatuses ?? [];
      const restarts = containers.reduce((sum, c) => sum + c.restartCount, 0);
      const states = containers
        .map((c) => `${c.name}:${Object.keys(c.state ?? {})[0] ?? "?"}${c.state?.waiting?.reason ? `(${c.state.waiting.reason})` : ""}`)
        .join(",");
      out.push(
        `pod ${pod.metadata.name}: ${pod.status.phase ?? "?"}, ready ${ready}, restarts ${restarts}, created ${pod.metadata.creationTimestamp ?? "?"}${pod.metadata.deletionTimestamp ? ", terminating" : ""}, ${states}`,
      );
      if (ready && restarts === 0) continue;
      const logs = (args: string[]) =>
        kubectl(["-n", namespace, "logs", pod.metadata.name, `--tail=${LOG_LINES}`, ...args]).catch(
          (error: unknown) => `(no logs: ${String(error).split("\n")[0]})`,
        );
      out.push(`--- ${pod.metadata.name}, last ${LOG_LINES} lines:`, (await logs(["--all-containers"])).trimEnd());
      // Per container: --previous fails for the whole pod when one container (an init container) has no earlier instance.
      for (const container of containers.filter((c) => c.restartCount > 0)) {
        out.push(
          `--- ${pod.metadata.name}/${container.name}, previous container, last ${LOG_LINES} lines:`,
          (await logs(["-c", container.name, "--previous"])).trimEnd(),
        );
      }
    }
    const events = await kubectl(["-n", namespace, "get", "events", "--sort-by=.lastTimestamp"]).catch(
      (error: unknown) => `(no events: ${String(error).split("\n")[0]})`,
    );
    out.push(`--- latest Events in ${namespace}:`, ...events.trimEnd().split("\n").slice(-EVENTS));
  }
  console.log(out.join("\n"));
}
