import { defineConfig } from "vitest/config";

// Three tiers (see DESIGN.md): unit needs no processes; integration runs against a real
// kube-apiserver + etcd (and real RabbitMQ processes) that the harness starts; e2e needs the
// `full` profile, a kind cluster with our images.
export default defineConfig({
  test: {
    // The JSON report gives .ci/run its closing "N passed, N failed" line (scripts/test-tiers.ts
    // runs two vitest processes, each with its own report, and merges them there).
    reporters: ["default", ["json", { outputFile: process.env.VITEST_JSON_REPORT ?? ".cache/test-results.json" }]],
    // Stopping a shared cluster takes seconds; a teardown cut short leaves it running.
    teardownTimeout: 120_000,
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/harness/vitest/control-plane.setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/harness/vitest/full-cluster.setup.ts"],
          testTimeout: 600_000,
          hookTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
