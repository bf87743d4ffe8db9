// A port on 127.0.0.1 forwarded to a pod's port through the API server, as `kubectl port-forward`
// does it (the same pods/portforward permission), one WebSocket per accepted connection. No
// kubectl binary and no exec into the pod are needed.
import { createServer, type Socket } from "node:net";
import { Writable } from "node:stream";
import { PortForward, type KubeConfig } from "@kubernetes/client-node";
import { PluginError, kubernetesFailure } from "./errors.js";

export interface LocalForward {
  readonly port: number;
  readonly address: string;
  /** Why the last forwarded connection could not be opened (forbidden, no such pod), if one could not. */
  lastFailure(): PluginError | undefined;
  /** Stops accepting and closes every forwarded connection. */
  close(): Promise<void>;
}

export interface ForwardOptions {
  /** 0 (default): a free port the kernel picks. */
  localPort?: number;
  address?: string;
  /** Told of each connection that could not be forwarded (the pod gone, permission refused). */
  onFailure?: (failure: PluginError) => void;
}

interface WebSocketLike {
  close(): void;
  on(event: "close", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
}

export async function forwardPort(
  kubeConfig: KubeConfig,
  namespace: string,
  pod: string,
  remotePort: number,
  options: ForwardOptions = {},
): Promise<LocalForward> {
  const address = options.address ?? "127.0.0.1";
  const forwarder = new PortForward(kubeConfig, true);
  const sockets = new Set<Socket>();
  // A client of the local port sees only a closed connection; the reason is kept for the caller.
  let lastFailure: PluginError | undefined;

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    // The API server reports a failure to reach the pod's port on the error channel.
    const errors = new Writable({
      write(chunk: Buffer, _encoding, done) {
        const message = chunk.toString("utf8").trim();
        if (message) socket.destroy(new Error(`port-forward to ${namespace}/${pod}:${remotePort}: ${message}`));
        done();
      },
    });
    forwarder.portForward(namespace, pod, [remotePort], socket, errors, socket).then(
      (opened) => {
        const ws = (typeof opened === "function" ? opened() : opened) as WebSocketLike | null;
        if (!ws) return socket.destroy();
        // The failure of an earlier connection says nothing of the next ones.
        lastFailure = undefined;
        ws.on("close", () => socket.end());
        ws.on("error", () => socket.destroy());
        socket.on("close", () => ws.close());
      },
      (error: unknown) => {
        lastFailure = kubernetesFailure(error, `port-forward to pod ${namespace}/${pod}`, "create pods/portforward");
        options.onFailure?.(lastFailure);
        socket.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new PluginError(`cannot listen on ${address}:${options.localPort ?? 0}: ${error.message}`, "choose another --port")),
    );
    server.listen(options.localPort ?? 0, address, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : 0;
  return {
    port,
    address,
    lastFailure: () => lastFailure,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
