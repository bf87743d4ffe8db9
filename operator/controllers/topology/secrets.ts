// The Secrets the topology controllers read, without keeping the values of Secrets the operator
// does not own. Its own (a RabbitCluster's default user, a User's credentials; labelled
// managed-by) are cached whole. Every other Secret is cached by metadata only, so that a change
// still wakes the objects that use it; the value of one an object refers to (a connection
// Secret, imported credentials) is read from the API server when a reconcile needs it, and kept
// while the Secret's resourceVersion stands.
import type { V1Secret } from "@kubernetes/client-node";
import type { Informer } from "../../runtime/informer.js";
import { formatKey, keyOf } from "../../runtime/keys.js";
import type { KubeObject } from "../../runtime/kube-object.js";

/** A Secret exists but its value has not been read yet (or has changed since): load it, then try again. */
export class SecretNotLoadedError extends Error {
  override readonly name = "SecretNotLoadedError";
  constructor(
    readonly namespace: string,
    readonly secretName: string,
  ) {
    super(`the value of Secret ${namespace}/${secretName} has not been read yet`);
  }
}

export type SecretReader = (namespace: string, name: string) => Promise<V1Secret | undefined>;

export class TopologySecrets {
  /** Values read, each with the resourceVersion the metadata cache had when it was read. */
  private readonly values = new Map<string, { secret: V1Secret; readAt: string | undefined }>();

  constructor(
    private readonly owned: Informer<V1Secret & KubeObject>,
    /** Every Secret, metadata only. */
    readonly metadata: Informer<V1Secret & KubeObject>,
    private readonly read: SecretReader,
  ) {
    metadata.addHandler((type, secret) => {
      if (type === "delete") this.values.delete(keyOf(secret));
    });
  }

  /**
   * The Secret with its data; undefined when there is no such Secret. Throws SecretNotLoadedError
   * for a Secret not owned whose current value has not been read (see withSecretsLoaded).
   */
  get(namespace: string, name: string): V1Secret | undefined {
    const owned = this.owned.get(name, namespace);
    if (owned) return owned;
    const current = this.metadata.get(name, namespace);
    if (!current) return undefined;
    // Read at least as late as the version the cache has (a read may be newer than the cache).
    const value = this.values.get(formatKey({ namespace, name }));
    if (value && value.readAt === current.metadata?.resourceVersion) return value.secret;
    throw new SecretNotLoadedError(namespace, name);
  }

  /** Reads a Secret's current value from the API server. */
  async load(namespace: string, name: string): Promise<void> {
    const key = formatKey({ namespace, name });
    const readAt = this.metadata.get(name, namespace)?.metadata?.resourceVersion;
    const secret = await this.read(namespace, name);
    if (secret) this.values.set(key, { secret, readAt });
    else this.values.delete(key);
  }

  /** Whether the value of this Secret (not owned) has been read and is kept. */
  loaded(namespace: string, name: string): boolean {
    return this.values.has(formatKey({ namespace, name }));
  }
}

/** Each Secret value read before it, at most this many per call: an object refers to two at most. */
const MAX_LOADS = 4;

/**
 * Runs body, reading each Secret it needs that is not loaded yet and running it again. Body must
 * be safe to repeat up to the point it needed the Secret (reconcilers are).
 */
export async function withSecretsLoaded<T>(secrets: Pick<TopologySecrets, "load">, body: () => Promise<T>): Promise<T> {
  for (let loads = 0; ; loads++) {
    try {
      return await body();
    } catch (error) {
      if (!(error instanceof SecretNotLoadedError) || loads >= MAX_LOADS) throw error;
      await secrets.load(error.namespace, error.secretName);
    }
  }
}
