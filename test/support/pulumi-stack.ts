// What the Pulumi tests of both tiers read from a stack and its cluster: the topology objects it
// made, whether they are Ready, the resources of its state, and which steps of an update took longest.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { EngineEvent } from "@pulumi/pulumi/automation/index.js";
import { API_VERSION, TOPOLOGY_KINDS, type Condition } from "../../operator/api/index.js";
import type { KubeClients } from "../../dev/kube.js";

/** A resource of a stack's exported state. */
export interface StateResource {
  urn: string;
  type: string;
  dependencies?: string[];
}

export interface TopologyObject extends KubernetesObject {
  status?: { conditions?: Condition[]; observedGeneration?: number };
}

/** Every topology object of a namespace, each with its kind set. */
export async function topologyObjects(clients: KubeClients, namespace: string): Promise<TopologyObject[]> {
  const lists = await Promise.all(TOPOLOGY_KINDS.map((kind) => clients.objects.list<TopologyObject>(API_VERSION, kind.kind, namespace)));
  return lists.flatMap((list, index) => list.items.map((item) => ({ ...item, kind: TOPOLOGY_KINDS[index]!.kind })));
}

export function readyOf(object: TopologyObject): string | undefined {
  return object.status?.conditions?.find((condition) => condition.type === "Ready")?.status;
}

/** The Kubernetes objects whose step took longest, from the engine's events (timestamps in whole seconds). */
export function slowestSteps(events: readonly EngineEvent[], count: number): string {
  const started = new Map<string, number>();
  const took: [string, string, number][] = [];
  for (const event of events) {
    const pre = event.resourcePreEvent?.metadata;
    if (pre) started.set(pre.urn, event.timestamp);
    const done = event.resOutputsEvent?.metadata;
    // Kubernetes objects only: a component's step lasts as long as its children's.
    if (done && started.has(done.urn) && done.type.startsWith("kubernetes:")) {
      took.push([done.op, `${done.type.split(":").slice(-1)[0]} ${done.urn.split("::").at(-1)}`, event.timestamp - started.get(done.urn)!]);
    }
  }
  return took
    .sort((a, b) => b[2] - a[2])
    .slice(0, count)
    .map(([op, what, seconds]) => `  ${String(seconds).padStart(3)} s  ${op} ${what}`)
    .join("\n");
}

/** The kinds of change in a preview's or update's summary other than "same" and those allowed. */
export function changesBesides(summary: Record<string, number | undefined> | undefined, ...allowed: string[]): string[] {
  return Object.keys(summary ?? {}).filter((change) => change !== "same" && !allowed.includes(change));
}
