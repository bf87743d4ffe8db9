// The operator's requests to the API server reuse their TLS connections. client-node makes a new
// https.Agent for every request of its typed clients, so each request opened a new connection
// and made a new handshake; makeClients() keeps them open (runtime/keep-alive.ts). Connections are
// counted by a TCP pass-through in front of the real API server.
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { makeClients } from "../../../operator/runtime/index.js";
import { loadKubeConfig } from "./helpers.js";

const kubeConfig = loadKubeConfig(inject("kubeconfig"));
const apiServer = new URL(kubeConfig.getCurrentCluster()!.server);

let connections = 0;
const sockets = new Set<Socket>();
let passThrough: Server;

beforeAll(async () => {
  passThrough = createServer((client) => {
    connections++;
    const upstream = connect(Number(apiServer.port), apiServer.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => passThrough.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => passThrough.close(resolve));
});

function clientsThroughPassThrough() {
  const viaPassThrough = loadKubeConfig(inject("kubeconfig"));
  const port = (passThrough.address() as { port: number }).port;
  // The API server's certificate names 127.0.0.1, so verification holds on the other port.
  const cluster = viaPassThrough.getCurrentCluster()!;
  viaPassThrough.clusters = viaPassThrough.clusters.map((c) => (c.name === cluster.name ? { ...c, server: `https://127.0.0.1:${port}` } : c));
  return makeClients(viaPassThrough);
}

describe("connections to the API server", () => {
  it("20 requests one after another use one TLS connection, and 8 at once at most 8, reused afterwards", async () => {
    const clients = clientsThroughPassThrough();
    connections = 0;
    for (let i = 0; i < 20; i++) await clients.coordination.listNamespacedLease({ namespace: "default" });
    expect(connections).toBe(1);

    await Promise.all(Array.from({ length: 8 }, () => clients.coordination.listNamespacedLease({ namespace: "default" })));
    const afterConcurrent = connections;
    expect(afterConcurrent).toBeLessThanOrEqual(8);
    for (let i = 0; i < 20; i++) await clients.events.listNamespacedEvent({ namespace: "default" });
    expect(connections).toBe(afterConcurrent);
  });
});
