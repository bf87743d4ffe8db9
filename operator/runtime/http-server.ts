// The operator's HTTP endpoints: /metrics for Prometheus, /healthz (liveness) and /readyz
// (readiness) for the kubelet. One small server; the manager may start two (metrics and probes
// on separate ports, as controller-runtime does).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Check {
  name: string;
  /** undefined when healthy, otherwise why not. */
  check(): string | undefined;
}

export interface HttpEndpoints {
  metrics?: () => Promise<{ contentType: string; body: string }>;
  liveness?: Check[];
  readiness?: Check[];
}

export interface RunningHttpServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttpServer(port: number, host: string, endpoints: HttpEndpoints): Promise<RunningHttpServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const probe = (checks: Check[] | undefined) => {
      const failures = (checks ?? []).map((c) => ({ name: c.name, problem: c.check() })).filter((c) => c.problem !== undefined);
      res.writeHead(failures.length === 0 ? 200 : 503, { "Content-Type": "text/plain; charset=utf-8" });
      res.end(failures.length === 0 ? "ok\n" : failures.map((f) => `${f.name}: ${f.problem}\n`).join(""));
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
    } else if (path === "/metrics" && endpoints.metrics) {
      endpoints.metrics().then(
        ({ contentType, body }) => res.writeHead(200, { "Content-Type": contentType }).end(body),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    } else if (path === "/healthz" && endpoints.liveness) {
      probe(endpoints.liveness);
    } else if (path === "/readyz" && endpoints.readiness) {
      probe(endpoints.readiness);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Scrapers keep connections alive; do not let them hold up shutdown.
        server.closeAllConnections();
      }),
  };
}
