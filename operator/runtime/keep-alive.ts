// Connections to the API server kept open between requests. client-node (1.4) authenticates each
// request of its typed clients with a new https.Agent (KubeConfig.applySecurityAuthentication ->
// createAgent), so every request opened a new TCP connection and made a new TLS handshake: at a
// thousand objects that was most of the operator's CPU time and much of the API server's. Here the
// kubeconfig still decides everything (credentials, CA, client certificate, proxy); only a plain
// http(s).Agent it makes is swapped for a shared keep-alive one with the same TLS options.
import { createHash } from "node:crypto";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent, type AgentOptions } from "node:https";
import type { KubeConfig, RequestContext, SecurityAuthentication } from "@kubernetes/client-node";

/** The TLS options an agent's connections are made with: agents that agree on them may share sockets. */
const TLS_OPTIONS = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername", "ciphers", "secureProtocol"] as const;

/** Agents kept at most: a new client certificate (an exec plugin's) makes a new one. */
const MAX_AGENTS = 8;

function fingerprint(protocol: string, options: AgentOptions): string {
  const hash = createHash("sha256").update(protocol);
  for (const name of TLS_OPTIONS) {
    const value: unknown = options[name];
    hash.update(`\0${name}=`);
    if (value === undefined) continue;
    for (const part of Array.isArray(value) ? value : [value]) hash.update(Buffer.isBuffer(part) ? part : String(part)).update("\0");
  }
  return hash.digest("hex");
}

export class KeepAliveAuthentication implements SecurityAuthentication {
  private readonly agents = new Map<string, HttpAgent>();

  constructor(private readonly kubeConfig: KubeConfig) {}

  getName(): string {
    return this.kubeConfig.getName();
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.kubeConfig.applySecurityAuthentication(context);
    const made = context.getAgent();
    // Proxy agents (subclasses) are left as they are: they hold their own connection logic.
    if (made?.constructor === HttpsAgent) context.setAgent(this.shared("https", made as HttpsAgent));
    else if (made?.constructor === HttpAgent) context.setAgent(this.shared("http", made));
  }

  /** Sockets of every agent closed (at shutdown). */
  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private shared(protocol: "http" | "https", made: HttpAgent): HttpAgent {
    // Node keeps an agent's constructor options on it.
    const options = (made as HttpAgent & { options: AgentOptions }).options;
    const key = fingerprint(protocol, options);
    let agent = this.agents.get(key);
    if (!agent) {
      agent = protocol === "https" ? new HttpsAgent({ ...options, keepAlive: true }) : new HttpAgent({ ...options, keepAlive: true });
      this.agents.set(key, agent);
      for (const [oldKey, old] of this.agents) {
        if (this.agents.size <= MAX_AGENTS) break;
        old.destroy();
        this.agents.delete(oldKey);
      }
    }
    return agent;
  }
}
