// Small pieces the benchmarks share.

/** Runs work over items with at most `parallelism` in flight, in order of the items. */
export async function inParallel<T>(items: readonly T[], parallelism: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallelism }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** count per second over ms, one decimal. */
export const perSecond = (count: number, ms: number) => Math.round((count * 10_000) / ms) / 10;
/** ms as seconds, one decimal. */
export const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** The sum of a Prometheus metric's samples whose labels include `labels` (text exposition format). */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const sampleLabels = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => sampleLabels[key] === value)) sum += Number(match[3]);
  }
  return sum;
}
