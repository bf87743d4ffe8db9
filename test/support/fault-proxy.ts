// A reverse proxy on loopback in front of a real RabbitMQ management API, to break it on purpose:
// it passes requests through, answers 500 as RabbitMQ does when a node is in trouble, holds
// requests without ever answering, answers every request only after SLOW_ANSWER_MS (a cluster
// under heavy load, still answering), or stops listening (connections refused, as when the whole cluster is down).
// It counts every request it receives.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export type FaultMode = "pass" | "error500" | "hang" | "slow" | "down";

/**
 * How long a request waits before it is passed on, in the "slow" mode: an answer that comes, later
 * than usual but before the operator's client gives up (10 s) or deems the cluster suspect (5 s).
 */
export const SLOW_ANSWER_MS = 3_000;

export interface FaultProxy {
  readonly url: string;
  readonly port: number;
  /** Requests received since start (or the last reset), whatever the mode. */
  readonly requests: number;
  /** What the proxy does from now on; "down" closes the listener and every open connection. */
  setMode(mode: FaultMode): Promise<void>;
  resetCount(): void;
  stop(): Promise<void>;
}

/** The body RabbitMQ's management API sends with a 500. */
export const ERROR_500_BODY = { error: "Internal Server Error", reason: "{timeout,{gen_server,call,[rabbit_mgmt_db_cache,fetch]}}" };

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let mode: FaultMode = "pass";
  let requests = 0;
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();

  const handle = (incoming: IncomingMessage, response: ServerResponse) => {
    requests++;
    if (mode === "error500") {
      response.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify(ERROR_500_BODY));
      return;
    }
    if (mode === "hang") {
      held.add(response);
      response.on("close", () => held.delete(response));
      return;
    }
    if (mode === "slow") {
      const timer = setTimeout(() => forward(incoming, response), SLOW_ANSWER_MS);
      response.on("close", () => clearTimeout(timer));
      return;
    }
    forward(incoming, response);
  };

  const forward = (incoming: IncomingMessage, response: ServerResponse) => {
    const forwarded = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: upstream.host } },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on("error", () => response.destroy());
    incoming.pipe(forwarded);
  };

  const server: Server = createServer(handle);
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      held.clear();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });

  await listen(0);
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    async setMode(next) {
      if (next === "down") await close();
      else if (!server.listening) await listen(port);
      // Requests held so far are dropped when the proxy goes back to passing.
      if (next !== "hang") for (const response of held) response.destroy();
      mode = next;
    },
    resetCount() {
      requests = 0;
    },
    stop: close,
  };
}
