import { defineConfig } from "vitest/config";

// Three tiers (see DESIGN.md): unit needs no processes; integration starts a real
// kube-apiserver + etcd (and RabbitMQ where needed) from the harness; e2e needs a kind cluster.
export default defineConfig({
  test: {
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
          testTimeout: 120_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
