// logs: every node's log, each line prefixed with its pod; without -f the lines of all nodes
// merged in time order (by the timestamps the kubelet adds), with -f as they come.
import { PassThrough } from "node:stream";
import { createInterface } from "node:readline";
import { Log, type LogOptions } from "@kubernetes/client-node";
import { clusterPods, requireCluster } from "../access.js";
import { PluginError, kubernetesFailure } from "../errors.js";
import type { Session } from "../session.js";

export const RABBITMQ_CONTAINER = "rabbitmq";

export interface LogsOptions {
  follow?: boolean;
  tail?: number;
  /** Seconds. */
  since?: number;
  timestamps?: boolean;
  previous?: boolean;
}

export interface LogLine {
  pod: string;
  /** The kubelet's RFC 3339 timestamp with its fraction padded to 9 digits: sorts as text. */
  time: string;
  text: string;
}

/** "2026-12-04T00:40:12.1234Z line" from the kubelet (timestamps=true). */
export function parseLogLine(pod: string, line: string): LogLine {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z (.*)$/s.exec(line);
  if (!match) return { pod, time: "", text: line };
  return { pod, time: `${match[1]}.${(match[2] ?? "").padEnd(9, "0")}Z`, text: match[3]! };
}

/** Lines of several pods in time order; a pod's own lines keep their order. */
export function interleave(lines: readonly LogLine[]): LogLine[] {
  return lines
    .map((line, index) => ({ line, index }))
    .sort((a, b) => (a.line.time < b.line.time ? -1 : a.line.time > b.line.time ? 1 : a.index - b.index))
    .map(({ line }) => line);
}

export function formatLogLine(line: LogLine, width: number, timestamps: boolean): string {
  return `${`[${line.pod}]`.padEnd(width + 2)} ${timestamps && line.time ? `${line.time} ` : ""}${line.text}\n`;
}

/** "30s", "10m", "2h" as seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)(s|m|h)$/.exec(value.trim());
  if (!match) throw new PluginError(`invalid duration "${value}"`, "use a number followed by s, m or h, e.g. 10m", 2);
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as "s" | "m" | "h"];
}

export async function logs(session: Session, name: string, options: LogsOptions): Promise<void> {
  const { kube } = session;
  const cluster = await requireCluster(kube, kube.namespace, name);
  const pods = (await clusterPods(kube, cluster)).map((pod) => pod.metadata!.name!).filter(Boolean);
  if (pods.length === 0) throw new PluginError(`RabbitCluster ${kube.namespace}/${name} has no pods`, `kubectl rabbit status ${name} -n ${kube.namespace}`);
  const width = Math.max(...pods.map((pod) => pod.length));
  const logOptions: LogOptions = {
    follow: options.follow ?? false,
    timestamps: true,
    ...(options.tail !== undefined ? { tailLines: options.tail } : options.follow ? { tailLines: 10 } : {}),
    ...(options.since !== undefined ? { sinceSeconds: options.since } : {}),
    ...(options.previous ? { previous: true } : {}),
  };
  const log = new Log(kube.kubeConfig);
  const collected: LogLine[] = [];
  // A pod without a log (still starting, or never started) must not hide the others' logs.
  const opened = await Promise.allSettled(
    pods.map(async (pod) => {
      const stream = new PassThrough();
      const ended = new Promise<void>((resolve) => stream.on("end", resolve).on("close", resolve));
      const lines = createInterface({ input: stream });
      lines.on("line", (raw) => {
        const line = parseLogLine(pod, raw);
        if (options.follow) session.stdout.write(formatLogLine(line, width, options.timestamps ?? false));
        else collected.push(line);
      });
      try {
        const controller = await log.log(kube.namespace, pod, RABBITMQ_CONTAINER, stream, logOptions);
        return { controller, ended };
      } catch (error) {
        throw kubernetesFailure(error, `reading the log of pod ${kube.namespace}/${pod}`, `get pods/log in namespace ${kube.namespace}`);
      }
    }),
  );
  const streams = opened.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const failures = opened.flatMap((result) => (result.status === "rejected" ? [result.reason as Error] : []));
  for (const failure of failures) session.stderr.write(`warning: ${failure.message}\n`);
  if (streams.length === 0) throw failures[0] ?? new PluginError(`no log of RabbitCluster ${kube.namespace}/${name} could be read`);
  const allEnded = Promise.all(streams.map((s) => s.ended));
  if (options.follow) await Promise.race([allEnded, session.interrupted]);
  else await allEnded;
  for (const { controller } of streams) controller.abort();
  for (const line of interleave(collected)) session.stdout.write(formatLogLine(line, width, options.timestamps ?? false));
}
