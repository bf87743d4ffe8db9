// Finds secret values where they must never be: log lines, Events, status. A value counts as
// leaked in any of the forms it is stored or sent in: as is, base64 (a Secret's data), or
// percent-encoded (a URL).
import type { KubernetesObjectApi } from "@kubernetes/client-node";

export interface Leak {
  /** Which secret: the name it was registered under. */
  secret: string;
  /** Where it was found: "log line 12", "Event default/x.17f...". */
  where: string;
}

/** Values shorter than this are not secrets worth scanning for (a port, "rabbitmq"). */
const MIN_SECRET_LENGTH = 8;

export class SecretLeakScanner {
  private readonly secrets = new Map<string, string>();

  /** Remembers a secret value under a readable name (never the value itself in reports). */
  add(name: string, value: string | undefined): void {
    if (value !== undefined && value.length >= MIN_SECRET_LENGTH) this.secrets.set(value, name);
  }

  /** Every value of a Secret's data (as read from the API: base64). */
  addSecretData(secretName: string, data: Record<string, string> | undefined, keys?: readonly string[]): void {
    for (const [key, encoded] of Object.entries(data ?? {})) {
      if (keys && !keys.includes(key)) continue;
      this.add(`${secretName}/${key}`, Buffer.from(encoded, "base64").toString("utf8"));
    }
  }

  get size(): number {
    return this.secrets.size;
  }

  /** Where any remembered secret occurs in these texts. */
  scan(texts: Iterable<{ where: string; text: string }>): Leak[] {
    const forms = [...this.secrets].flatMap(([value, name]) =>
      [value, Buffer.from(value, "utf8").toString("base64"), encodeURIComponent(value)].map((form) => ({ form, name })),
    );
    const leaks: Leak[] = [];
    for (const { where, text } of texts) {
      for (const { form, name } of forms) if (text.includes(form)) leaks.push({ secret: name, where });
    }
    return leaks;
  }
}

/** Every Event (core and events.k8s.io) in these namespaces, as texts to scan. */
export async function eventTexts(objects: KubernetesObjectApi, namespaces: readonly string[]): Promise<{ where: string; text: string }[]> {
  const texts: { where: string; text: string }[] = [];
  for (const namespace of namespaces) {
    for (const apiVersion of ["v1", "events.k8s.io/v1"]) {
      const events = await objects.list(apiVersion, "Event", namespace);
      for (const event of events.items) texts.push({ where: `Event ${namespace}/${event.metadata?.name}`, text: JSON.stringify(event) });
    }
  }
  return texts;
}

/** Log lines as texts to scan. */
export function logTexts(lines: readonly string[]): { where: string; text: string }[] {
  return lines.map((text, index) => ({ where: `log line ${index + 1}: ${text.slice(0, 120)}`, text }));
}
