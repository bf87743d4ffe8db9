// Events against the real API server: one Event object per distinct event; repeats within the
// aggregation window are not written again but counted into the Event's series.
import { CoreV1Api, EventsV1Api, type EventsV1Event, type V1ConfigMap } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { KubeEventRecorder, makeClients, setCondition } from "../../../operator/runtime/index.js";
import { FakeClock } from "../../unit/runtime/fake-clock.js";
import { createNamespace, loadKubeConfig, writeRecorder } from "./helpers.js";

const kubeConfig = loadKubeConfig(inject("kubeconfig"));
const eventsApi = kubeConfig.makeApiClient(EventsV1Api);
let namespace: Awaited<ReturnType<typeof createNamespace>>;
let subject: V1ConfigMap;

beforeAll(async () => {
  namespace = await createNamespace(kubeConfig, "events");
  subject = await kubeConfig.makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace: namespace.name, body: { metadata: { name: "subject" } } });
});
afterAll(async () => {
  await namespace?.remove();
});

async function eventsAbout(uid: string): Promise<EventsV1Event[]> {
  const list = await eventsApi.listNamespacedEvent({ namespace: namespace.name, fieldSelector: `regarding.uid=${uid}` });
  return list.items;
}

describe("KubeEventRecorder", () => {
  it("writes an event once; identical repeats only bump the series, at most once per interval", async () => {
    const recorder = writeRecorder();
    const clock = new FakeClock(Date.now());
    const events = new KubeEventRecorder(makeClients(kubeConfig, { middleware: [recorder.middleware] }), {
      clock,
      reportingInstance: "test-instance",
      seriesUpdateIntervalMs: 60_000,
    });
    await events.event(subject, "Warning", "ScaleDownRefused", "would lose quorum");
    await events.event(subject, "Warning", "ScaleDownRefused", "would lose quorum");
    await events.event(subject, "Warning", "ScaleDownRefused", "would lose quorum");
    expect(recorder.writes.map((w) => w.method)).toEqual(["POST"]);

    clock.advance(61_000);
    await events.event(subject, "Warning", "ScaleDownRefused", "would lose quorum");
    expect(recorder.writes.map((w) => w.method)).toEqual(["POST", "PATCH"]);

    await events.event(subject, "Normal", "ScaledDown", "ram 3 -> 1");
    expect(recorder.writes.map((w) => w.method)).toEqual(["POST", "PATCH", "POST"]);

    const stored = await eventsAbout(subject.metadata!.uid!);
    expect(stored).toHaveLength(2);
    const refused = stored.find((event) => event.reason === "ScaleDownRefused")!;
    expect(refused).toMatchObject({
      type: "Warning",
      note: "would lose quorum",
      action: "ScaleDownRefused",
      reportingController: "rabbit-operator",
      reportingInstance: "test-instance",
    });
    expect(refused.series?.count).toBe(4);
    expect(refused.regarding).toMatchObject({ kind: "ConfigMap", name: "subject", namespace: namespace.name, uid: subject.metadata!.uid });
  });

  it("emitted on condition transitions only, a steady state writes no event", async () => {
    const recorder = writeRecorder();
    const clock = new FakeClock(Date.now());
    const events = new KubeEventRecorder(makeClients(kubeConfig, { middleware: [recorder.middleware] }), { clock });
    let conditions = undefined as ReturnType<typeof setCondition>["conditions"] | undefined;
    const observations: Array<"True" | "False"> = ["False", "False", "True", "True", "True", "False", "False"];
    for (const status of observations) {
      // Observations 11 minutes apart: beyond the aggregation window, each event stands alone.
      clock.advance(11 * 60_000);
      const result = setCondition(conditions, { type: "Ready", status, reason: status === "True" ? "AllNodesRunning" : "NodesDown", message: "" }, clock.now());
      conditions = result.conditions;
      if (result.transitioned) await events.event(subject, status === "True" ? "Normal" : "Warning", `Ready${status}`, `Ready is ${status}`);
    }
    // Three transitions (new False, False->True, True->False) out of seven observations.
    expect(recorder.writes.map((w) => w.method)).toEqual(["POST", "POST", "POST"]);
  });

  it("never rejects: a failed write is logged and forgotten", async () => {
    const events = new KubeEventRecorder(makeClients(kubeConfig));
    await expect(
      events.event({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "no-such-namespace-here" } }, "Normal", "Test", ""),
    ).resolves.toBeUndefined();
  });
});
