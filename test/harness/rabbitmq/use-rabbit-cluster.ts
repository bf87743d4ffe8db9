// One RabbitMQ cluster per test file: `const rabbit = useRabbitCluster({ disc: 2, ram: 1 })` at
// the top of a describe block (or the file) starts it in beforeAll and stops it in afterAll.
// `rabbit` can be used inside tests and hooks declared after the call; touching it earlier (at
// collection time) throws, because the cluster does not exist yet.
import { afterAll, beforeAll } from "vitest";
import { startRabbitCluster, type LocalRabbitCluster, type RabbitClusterOptions } from "../../../dev/rabbitmq-cluster.js";

/** Startup is ~20 s on two cores; the timeout leaves room for a loaded machine and a cold apt install. */
const START_TIMEOUT_MS = 600_000;
const STOP_TIMEOUT_MS = 120_000;

let clustersInThisFile = 0;

export function useRabbitCluster(options: Omit<RabbitClusterOptions, "name"> & { name?: string }): LocalRabbitCluster {
  const name = options.name ?? `test-${++clustersInThisFile}`;
  let cluster: LocalRabbitCluster | undefined;

  beforeAll(async () => {
    cluster = await startRabbitCluster({ ...options, name });
    console.log(
      `RabbitMQ cluster ${name} (${options.disc} disc + ${options.ram ?? 0} ram) ready in ${cluster.timings.startupMs} ms:`,
      JSON.stringify(cluster.timings.nodeReadyMs),
    );
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    await cluster?.stop();
    cluster = undefined;
  }, STOP_TIMEOUT_MS);

  // A stand-in that forwards to the cluster once beforeAll has started it.
  return new Proxy({} as LocalRabbitCluster, {
    get(_target, property) {
      if (!cluster) throw new Error(`RabbitMQ cluster ${name} is not running: use it inside tests or hooks, after useRabbitCluster()`);
      return Reflect.get(cluster, property, cluster);
    },
  });
}
