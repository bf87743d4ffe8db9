// `npm test`'s test run: the tiers in two lanes side by side. One lane runs unit + integration (a
// control plane and RabbitMQ processes on this machine), then the RabbitCluster controller e2e
// suite on RabbitMQ 4.0 (a kind cluster of its own); the other runs the whole e2e tier on
// RabbitMQ 3.10 (a kind cluster), then the product e2e suite on 4.0 (another one) and the
// management client and CLI operations integration files on local 4.0 nodes. Vitest itself would run the projects one after the other (files that may not run in
// parallel share one sequential worker), and none of them uses more than a part of the machine.
// Each run has its own JSON report; they are merged into the one .ci/run reads. With arguments,
// it is a plain `vitest run` with them.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";

const root = join(import.meta.dirname, "..");
const REPORT = join(root, ".cache", "test-results.json");
const REPORT_DIR = join(root, ".cache", "test-results");
const vitest = join(root, "node_modules", ".bin", "vitest");

interface Run {
  label: string;
  projects: string[];
  /** All of the projects' files unless given. */
  files?: string[];
  /** Files left out (another lane runs them). */
  exclude?: string[];
  env?: Record<string, string>;
}

const SHARDING_TEST = "test/integration/faults/sharding.test.ts";

/** The lanes run side by side; the runs of a lane one after the other. */
const LANES: Run[][] = [
  [
    // The sharding test (three operator processes) runs in the other lane, on 4.0: it tests the
    // operator's replicas, not RabbitMQ's version, and this lane is the longer one.
    { label: "unit+integration", projects: ["unit", "integration"], exclude: [SHARDING_TEST] },
    {
      label: "e2e rabbitmq 4.0 controller",
      projects: ["e2e"],
      files: ["test/e2e/rabbit-cluster-controller.test.ts"],
      env: { RABBIT_OPERATOR_RABBITMQ_SERIES: "4.0" },
    },
  ],
  [
    // The operator-kill tests of the controller suite run once, on 4.0 in the other lane: this lane
    // was the longer by some 5 minutes (stop 25's CI: 2692 s against 2506 s).
    { label: "e2e rabbitmq 3.10", projects: ["e2e"], env: { RABBIT_OPERATOR_RABBITMQ_SERIES: "3.10", E2E_OPERATOR_KILL_TESTS: "skip" } },
    // Here rather than after the controller suite: the lanes then end within minutes of each other.
    { label: "e2e rabbitmq 4.0 product", projects: ["e2e"], files: ["test/e2e/product.test.ts"], env: { RABBIT_OPERATOR_RABBITMQ_SERIES: "4.0" } },
    // The management client and the CLI operations against local 4.0 nodes (dev/rabbitmq-install.ts),
    // and the sharded operator's replicas.
    {
      label: "integration rabbitmq 4.0",
      projects: ["integration"],
      files: ["test/integration/rabbitmq/management.test.ts", "test/integration/rabbitmq/cluster-operations.test.ts", SHARDING_TEST],
      env: { RABBIT_OPERATOR_RABBITMQ_SERIES: "4.0" },
    },
  ],
];

/** Settings that point a run at one given cluster or image: two lanes would share them. */
const SHARED_TARGETS = ["RABBIT_OPERATOR_TEST_KUBECONFIG", "RABBIT_OPERATOR_RABBITMQ_IMAGE"];

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
  for (const { run, report, status } of finished) {
    for (const count of COUNTS) merged[count] = (merged[count] ?? 0) + (report?.[count] ?? 0);
    // A run that failed outside its tests (no report, a global setup that threw) counts as one failure.
    if (status !== 0 && !report?.numFailedTests) merged.numFailedTests = (merged.numFailedTests ?? 0) + 1;
    merged.success = merged.success && report?.success === true && status === 0;
    // The same file may run in two lanes: each result says which.
    for (const result of report?.testResults ?? []) {
      const named = result as { name?: string };
      merged.testResults!.push({ ...named, name: `[${run.label}] ${named.name ?? ""}` });
    }
  }
  return merged;
}

async function runInLane(run: Run): Promise<Finished> {
  const reportPath = join(REPORT_DIR, `${run.label.replace(/[^a-z0-9.+-]+/g, "-")}.json`);
  // An earlier run's report must not stand in for one this run did not write.
  await rm(reportPath, { force: true });
  const begun = Date.now();
  const child = runVitest(
    [...run.projects.flatMap((project) => ["--project", project]), ...(run.exclude ?? []).flatMap((file) => ["--exclude", file]), ...(run.files ?? [])],
    { ...process.env, ...run.env, VITEST_JSON_REPORT: reportPath },
    `[${run.label}]`,
  );
  running.add(child);
  const status = await child.done;
  running.delete(child);
  const seconds = Math.round((Date.now() - begun) / 1000);
  console.log(`[${run.label}] finished in ${seconds} s with status ${status}`);
  const report = await readReport(reportPath);
  return { run, status, seconds, ...(report ? { report } : {}) };
}

const running = new Set<ReturnType<typeof runVitest>>();
let stopping = false;

async function runLane(lane: Run[]): Promise<Finished[]> {
  const finished: Finished[] = [];
  for (const run of lane) {
    if (stopping) break;
    finished.push(await runInLane(run));
  }
  return finished;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.length > 0) return runVitest(args, process.env).done;
  const shared = SHARED_TARGETS.filter((name) => process.env[name]);
  if (shared.length > 0) {
    // One cluster or image for every run: one vitest run over every tier, as before the lanes.
    console.log(`tiers: ${shared.join(", ")} set: one run of every tier on it, no lanes`);
    return runVitest([], process.env).done;
  }
  const missing = LANES.flat()
    .flatMap((run) => [...(run.files ?? []), ...(run.exclude ?? [])])
    .filter((file) => !existsSync(join(root, file)));
  if (missing.length > 0) throw new Error(`scripts/test-tiers.ts names test files that do not exist: ${missing.join(", ")}`);

  await mkdir(REPORT_DIR, { recursive: true });
  // Ctrl-C reaches the vitest processes from the terminal; a SIGTERM (CI) is passed on. Each
  // vitest then stops its clusters in its global teardown.
  process.on("SIGINT", () => (stopping = true));
  process.on("SIGTERM", () => {
    stopping = true;
    for (const child of running) child.stop("SIGTERM");
  });
  const finished = (await Promise.all(LANES.map(runLane))).flat();
  await writeFile(REPORT, JSON.stringify(merge(finished)));
  console.log(`tiers: ${finished.map((f) => `${f.run.label} ${f.seconds} s (status ${f.status})`).join(", ")}`);
  return stopping || finished.some((f) => f.status !== 0) ? 1 : 0;
}

process.exitCode = await main();
