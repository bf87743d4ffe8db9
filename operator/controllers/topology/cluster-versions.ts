// The RabbitMQ version of each cluster the topology controllers talk to, read from its management
// API only when an object uses a feature some versions lack (adapter.features), and kept a while:
// a version changes only with an upgrade, which the next read after the period sees.
import type { ManagementClient, ManagementConnection } from "../../rabbitmq/management.js";
import { parseVersion, type RabbitMQVersion } from "../../rabbitmq/versions.js";

const KEEP_MS = 60_000;

export class ClusterVersions {
  private readonly known = new Map<string, { version: RabbitMQVersion; readAt: number }>();
  private readonly reading = new Map<string, Promise<RabbitMQVersion | undefined>>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * The version the cluster reports; undefined when it cannot be read now (RabbitMQ then judges
   * the declaration itself, and a failure to reach it is reported by the declaration).
   */
  async of(connection: ManagementConnection, client: ManagementClient): Promise<RabbitMQVersion | undefined> {
    const key = connection.url;
    const known = this.known.get(key);
    if (known && this.now() - known.readAt < KEEP_MS) return known.version;
    let reading = this.reading.get(key);
    if (!reading) {
      reading = this.read(key, client).finally(() => this.reading.delete(key));
      this.reading.set(key, reading);
    }
    return reading;
  }

  private async read(key: string, client: ManagementClient): Promise<RabbitMQVersion | undefined> {
    let version: RabbitMQVersion | undefined;
    try {
      version = parseVersion((await client.overview()).rabbitmqVersion);
    } catch {
      return undefined;
    }
    if (version) this.known.set(key, { version, readAt: this.now() });
    return version;
  }
}
