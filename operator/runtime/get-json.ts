// A GET that returns the API server's JSON untouched. The informer lists with it rather than with
// client-node's typed clients, whose deserializer turns timestamps into Date objects: watch events
// arrive as plain JSON, and the cache must hold one shape, not two.
import { request as httpRequest, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { ApiError, parseStatus } from "./errors.js";

export async function getJson(
  kubeConfig: KubeConfig,
  path: string,
  options: { timeoutMs?: number; signal?: AbortSignal; accept?: string } = {},
): Promise<unknown> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  const url = new URL(cluster.server.replace(/\/$/, "") + path);
  const requestOptions: RequestOptions = { method: "GET", headers: { Accept: options.accept ?? "application/json" } };
  // Credentials, CA, client certificates, exec plugins and proxies, as the typed clients get them.
  await kubeConfig.applyToHTTPSOptions(requestOptions);
  const send = url.protocol === "http:" ? httpRequest : httpsRequest;
  const timeoutMs = options.timeoutMs ?? 60_000;

  return new Promise((resolve, reject) => {
    const req = send(url, { ...requestOptions, signal: options.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          const parsed = parseStatus(text);
          reject(new ApiError(status, `GET ${url.pathname}: ${parsed?.message ?? (text.slice(0, 200) || res.statusMessage)}`, parsed?.reason));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (error) {
          reject(new Error(`GET ${url.pathname}: invalid JSON: ${(error as Error).message}`));
        }
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url.pathname}: no response in ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}
