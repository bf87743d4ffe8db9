// `npm test`'s test run: the tiers in two vitest processes side by side, unit + integration (a
// control plane and RabbitMQ processes on this machine) and e2e (a kind cluster). Each project of
// one vitest process runs after the other when its files may not run in parallel (vitest groups
// them in one sequential worker), and neither tier uses more than a part of the machine: side by
// side they take about as long as the longer one. Their JSON reports are merged into the one that
// .ci/run reads. With arguments, it is a plain `vitest run` with them.
import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";

const root = join(import.meta.dirname, "..");
const REPORT = join(root, ".cache", "test-results.json");
const REPORT_DIR = join(root, ".cache", "test-results");
const vitest = join(root, "node_modules", ".bin", "vitest");

interface Run {
  label: string;
  projects: string[];
}

const RUNS: Run[] = [
  { label: "unit+integration", projects: ["unit", "integration"] },
  { label: "e2e", projects: ["e2e"] },
];

/** The counts of vitest's JSON report (Jest's format) that are summed across runs. */
const COUNTS = [
  "numTotalTestSuites",
  "numPassedTestSuites",
  "numFailedTestSuites",
  "numPendingTestSuites",
  "numTotalTests",
  "numPassedTests",
  "numFailedTests",
  "numPendingTests",
  "numTodoTests",
] as const;

type Report = Partial<Record<(typeof COUNTS)[number], number>> & { success?: boolean; startTime?: number; testResults?: unknown[] };

interface Finished {
  run: Run;
  status: number;
  seconds: number;
  report?: Report;
}

function runVitest(args: string[], env: NodeJS.ProcessEnv, prefix?: string): { done: Promise<number>; stop: (signal: NodeJS.Signals) => void } {
  const child = spawn(vitest, ["run", ...args], { cwd: root, env, stdio: prefix ? ["ignore", "pipe", "pipe"] : "inherit" });
  if (prefix) {
    for (const [stream, out] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ] as const) {
      createInterface({ input: stream! }).on("line", (line) => out.write(`${prefix} ${line}\n`));
    }
  }
  const done = new Promise<number>((resolve) => {
    child.on("error", (error) => {
      console.error(`${prefix ?? "vitest"}: could not start vitest: ${error.message}`);
      resolve(1);
    });
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  return { done, stop: (signal) => child.kill(signal) };
}

async function readReport(path: string): Promise<Report | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as Report;
  } catch {
    return undefined;
  }
}

function merge(finished: Finished[]): Report {
  const merged: Report = { success: true, startTime: Math.min(...finished.map((f) => f.report?.startTime ?? Date.now())), testResults: [] };
  for (const { report, status } of finished) {
    // A run that wrote no report failed before or outside its tests: it counts as one failure.
    if (!report) {
      merged.numFailedTests = (merged.numFailedTests ?? 0) + 1;
      merged.success = false;
      continue;
    }
    for (const count of COUNTS) merged[count] = (merged[count] ?? 0) + (report[count] ?? 0);
    merged.success = merged.success && report.success === true && status === 0;
    merged.testResults!.push(...(report.testResults ?? []));
  }
  return merged;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.length > 0) return runVitest(args, process.env).done;

  await mkdir(REPORT_DIR, { recursive: true });
  const started = RUNS.map((run) => {
    const reportPath = join(REPORT_DIR, `${run.label}.json`);
    const begun = Date.now();
    const child = runVitest(
      run.projects.flatMap((project) => ["--project", project]),
      { ...process.env, VITEST_JSON_REPORT: reportPath },
      `[${run.label}]`,
    );
    const finished = child.done.then(async (status): Promise<Finished> => {
      const seconds = Math.round((Date.now() - begun) / 1000);
      console.log(`[${run.label}] finished in ${seconds} s with status ${status}`);
      const report = await readReport(reportPath);
      return { run, status, seconds, ...(report ? { report } : {}) };
    });
    return { child, finished };
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      for (const { child } of started) child.stop(signal);
    });
  }
  const finished = await Promise.all(started.map((s) => s.finished));
  await writeFile(REPORT, JSON.stringify(merge(finished)));
  console.log(`tiers: ${finished.map((f) => `${f.run.label} ${f.seconds} s (status ${f.status})`).join(", ")}`);
  return finished.some((f) => f.status !== 0) ? 1 : 0;
}

process.exitCode = await main();
