// Where the operator's CPU time and memory go, from what `BENCH_PROFILE_DIR=... npm run
// bench:scale` leaves in that directory: each .cpuprofile (V8's format, one per operator life)
// summed by function and by package; the newest .heapsnapshot summed by constructor.
//
//   npx tsx bench/profile-summary.ts /tmp/prof [--top 25]
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a script comes from: a package under node_modules, node itself, or this project. */
function packageOf(url: string): string {
  if (!url) return "(native / V8)";
  if (url.startsWith("node:")) return "node:" + url.slice(5).split("/")[0];
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1]!;
  const own = /\/(dist\/)?(operator\/[^/]+)/.exec(url);
  return own ? own[2]! : url;
}

function top(map: Map<string, number>, count: number): [string, number][] {
  return [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
}

async function summarizeCpu(file: string, count: number): Promise<void> {
  const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // Self time per node from the samples and their time deltas (microseconds).
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === "(idle)") {
      idle += us;
      continue;
    }
    total += us;
    const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|dist)\//, "$1/")}:${frame.lineNumber + 1}` : "";
    const name = `${frame.functionName || "(anonymous)"} ${where}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const pkg = frame.functionName.startsWith("(") ? frame.functionName : packageOf(frame.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%`;
  console.log(`\n${file}: ${(total / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle`);
  console.log("  by package (self time)");
  for (const [name, us] of top(byPackage, count)) console.log(`  ${ms(us)}  ${name}`);
  console.log("  by function (self time)");
  for (const [name, us] of top(byFunction, count)) console.log(`  ${ms(us)}  ${name}`);
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

async function summarizeHeap(file: string, count: number): Promise<void> {
  const heap = JSON.parse(await readFile(file, "utf8")) as HeapSnapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((field) => fields.indexOf(field)) as [number, number, number];
  const bySelf = new Map<string, number>();
  const counts = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < heap.nodes.length; i += fields.length) {
    const type = types[heap.nodes[i + typeAt]!]!;
    // Objects by constructor; strings, arrays, code and the rest by their V8 type.
    const key = type === "object" || type === "closure" ? `${type} ${heap.strings[heap.nodes[i + nameAt]!]}` : `(${type})`;
    const size = heap.nodes[i + sizeAt]!;
    total += size;
    bySelf.set(key, (bySelf.get(key) ?? 0) + size);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  console.log(`\n${file}: ${(total / 2 ** 20).toFixed(1)} MiB of live objects (self sizes)`);
  for (const [name, size] of top(bySelf, count))
    console.log(`  ${(size / 2 ** 20).toFixed(1).padStart(7)} MiB ${String(counts.get(name)).padStart(9)} objects  ${name}`);
}

async function main(): Promise<void> {
  const [dir, ...rest] = process.argv.slice(2);
  if (!dir) throw new Error("usage: tsx bench/profile-summary.ts DIR [--top N]");
  const count = rest[0] === "--top" ? Number(rest[1]) : 25;
  const files = await readdir(dir);
  for (const file of files.filter((name) => name.endsWith(".cpuprofile")).sort()) await summarizeCpu(join(dir, file), count);
  const snapshots = files.filter((name) => name.endsWith(".heapsnapshot"));
  const newest = (await Promise.all(snapshots.map(async (name) => ({ name, at: (await stat(join(dir, name))).mtimeMs })))).sort((a, b) => b.at - a.at)[0];
  if (newest) await summarizeHeap(join(dir, newest.name), count);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
