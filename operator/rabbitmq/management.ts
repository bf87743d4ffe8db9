// A typed client of RabbitMQ's management HTTP API: what the topology controllers declare,
// observe and delete, the cluster controller's view of membership and health, and the bulk
// listings drift detection compares with the desired state (one request per kind).
//
// Semantics shared by every method:
// - `get*` returns undefined when RabbitMQ answers 404 (the object, or its vhost, is absent).
// - `delete*` succeeds when the object is already absent, and says whether it existed.
// - `put*`/`declare*` replace the object's settings; declaring a queue or exchange that exists
//   with other settings fails with a ManagementApiError whose amqpCode is PRECONDITION_FAILED.
// - Every failure is a ManagementApiError (see management-errors.ts); idempotent requests are
//   retried on connection errors, timeouts and 5xx (see management-retry.ts), 4xx never.
import {
  decodeBinding,
  decodeCurrentUser,
  decodeExchange,
  decodeLimits,
  decodeNode,
  decodeNodeDetails,
  decodeFeatureFlag,
  decodeOverview,
  decodePermission,
  decodePolicy,
  decodeQueue,
  decodeQueueDefinition,
  decodeUser,
  decodeVhost,
  asArray,
  asObject,
} from "./management-decode.js";
import { deepEqual } from "../runtime/diff.js";
import { ManagementApiError } from "./management-errors.js";
import { ManagementHttp, apiPath, type ManagementHttpOptions, type ManagementRequest } from "./management-http.js";
import type {
  BindingInfo,
  BindingSettings,
  CertificateExpiryUnit,
  ClusterNode,
  CurrentUser,
  DeleteQueueOptions,
  DestinationType,
  ExchangeDefinition,
  ExchangeSettings,
  FeatureFlag,
  HealthCheckResult,
  JsonObject,
  JsonValue,
  ManagementConnection,
  NodeDetails,
  Overview,
  PermissionInfo,
  PermissionSettings,
  PolicyInfo,
  PolicySettings,
  QueueDefinition,
  QueueInfo,
  QueueSettings,
  TopologyListing,
  TopologySnapshot,
  UserInfo,
  UserLimitName,
  UserLimits,
  UserSettings,
  VhostInfo,
  VhostLimitName,
  VhostLimits,
  VhostSettings,
} from "./management-types.js";
import { USER_LIMIT_NAMES, VHOST_LIMIT_NAMES } from "./management-types.js";

export * from "./management-types.js";
export { ManagementApiError, type AmqpErrorCode, type ManagementFailureKind } from "./management-errors.js";
export { UnexpectedAnswerError } from "./management-decode.js";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./management-retry.js";
export { DEFAULT_TIMEOUT_MS, apiPath, type AttemptEvent, type ManagementHttpOptions } from "./management-http.js";

export type ManagementClientOptions = ManagementHttpOptions;

/** The columns drift detection needs: what defines an object, no statistics. */
export const QUEUE_DEFINITION_COLUMNS = ["name", "vhost", "type", "durable", "auto_delete", "arguments"] as const;
export const EXCHANGE_DEFINITION_COLUMNS = ["name", "vhost", "type", "durable", "auto_delete", "internal", "arguments"] as const;
const VHOST_COLUMNS = ["name", "description", "tags", "default_queue_type", "tracing", "cluster_state"] as const;
const USER_COLUMNS = ["name", "password_hash", "hashing_algorithm", "tags"] as const;
const NODE_COLUMNS = ["name", "type", "running"] as const;
const NODE_DETAIL_COLUMNS = [
  ...NODE_COLUMNS,
  "mem_used",
  "mem_limit",
  "mem_alarm",
  "disk_free",
  "disk_free_limit",
  "disk_free_alarm",
  "partitions",
  "uptime",
] as const;
/** Starting a vhost recovers its messages before it answers. */
const VHOST_START_TIMEOUT_MS = 300_000;
/** RabbitMQ's names of the AMQP 0-9-1 listeners. */
const AMQP_PROTOCOLS = new Set(["amqp", "amqp/ssl"]);

/** Listing queues and exchanges without statistics is much cheaper for the server. */
const WITHOUT_STATS = { disable_stats: "true" } as const;

export class ManagementClient {
  private readonly http: ManagementHttp;

  constructor(
    readonly connection: ManagementConnection,
    options: ManagementClientOptions = {},
  ) {
    this.http = new ManagementHttp(connection, options);
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  // Cluster -------------------------------------------------------------------------------------

  async overview(): Promise<Overview> {
    return decodeOverview(await this.getJson(apiPath("overview")));
  }

  /** Every feature flag with its state (administrator only). */
  async listFeatureFlags(): Promise<FeatureFlag[]> {
    return this.list(apiPath("feature-flags"), decodeFeatureFlag);
  }

  async whoami(): Promise<CurrentUser> {
    return decodeCurrentUser(await this.getJson(apiPath("whoami")));
  }

  /** Every member of the cluster, with its type (disc or ram) and whether it runs. */
  async listNodes(): Promise<ClusterNode[]> {
    return this.list(apiPath("nodes"), decodeNode, { columns: NODE_COLUMNS.join(",") });
  }

  /** Every member with its alarms, partitions, memory and disk (what `rabbitmqctl status` shows per node). */
  async listNodeDetails(): Promise<NodeDetails[]> {
    return this.list(apiPath("nodes"), decodeNodeDetails, { columns: NODE_DETAIL_COLUMNS.join(",") });
  }

  /**
   * One member by name. Read from the list: RabbitMQ 3.10 answers GET /api/nodes/<unknown> with a
   * 500 (a crash in the handler), which would be retried and then look like a server failure.
   */
  async getNode(name: string): Promise<ClusterNode | undefined> {
    return (await this.listNodes()).find((node) => node.name === name);
  }

  // Vhosts --------------------------------------------------------------------------------------

  async listVhosts(): Promise<VhostInfo[]> {
    return this.list(apiPath("vhosts"), decodeVhost, { columns: VHOST_COLUMNS.join(",") });
  }

  async getVhost(name: string): Promise<VhostInfo | undefined> {
    const body = await this.getJsonIfPresent(apiPath("vhosts", name));
    return body === undefined ? undefined : decodeVhost(body);
  }

  /** Creates the vhost or replaces its description, tags, default queue type and tracing. */
  async putVhost(name: string, settings: VhostSettings = {}): Promise<void> {
    const body: JsonObject = { description: settings.description ?? "", tags: (settings.tags ?? []).join(","), tracing: settings.tracing ?? false };
    if (settings.defaultQueueType) body.default_queue_type = settings.defaultQueueType;
    await this.send({ method: "PUT", path: apiPath("vhosts", name), body });
  }

  /**
   * Starts the vhost on a node where it is stopped, as `rabbitmqctl restart_vhost` does there
   * (nothing happens where it runs already).
   */
  async startVhost(name: string, node: string): Promise<void> {
    // It answers once the vhost has recovered its message store on that node: seconds to minutes.
    await this.send({ method: "POST", path: apiPath("vhosts", name, "start", node), body: {}, longRunningTimeoutMs: VHOST_START_TIMEOUT_MS });
  }

  /**
   * Nodes accepting AMQP client connections (0-9-1, plain or TLS): booted, listeners up.
   * Undefined when the server does not say (its overview leaves listeners out with stats disabled).
   */
  async amqpNodes(): Promise<Set<string> | undefined> {
    const { listeners } = await this.overview();
    return listeners && new Set(listeners.filter((listener) => AMQP_PROTOCOLS.has(listener.protocol)).map((listener) => listener.node));
  }

  async deleteVhost(name: string): Promise<boolean> {
    return this.deleteIfPresent(apiPath("vhosts", name));
  }

  /** The vhost's limits ({} when it has none); undefined when the vhost is absent. */
  async getVhostLimits(vhost: string): Promise<VhostLimits | undefined> {
    const body = await this.getJsonIfPresent(apiPath("vhost-limits", vhost));
    return body === undefined ? undefined : (decodeLimits(body, "vhost", VHOST_LIMIT_NAMES).get(vhost) ?? {});
  }

  /** Limits of every vhost that has any, by vhost name. */
  async listVhostLimits(): Promise<Map<string, VhostLimits>> {
    return decodeLimits(await this.getJson(apiPath("vhost-limits")), "vhost", VHOST_LIMIT_NAMES);
  }

  async setVhostLimit(vhost: string, name: VhostLimitName, value: number): Promise<void> {
    await this.send({ method: "PUT", path: apiPath("vhost-limits", vhost, name), body: { value } });
  }

  async clearVhostLimit(vhost: string, name: VhostLimitName): Promise<boolean> {
    return this.deleteIfPresent(apiPath("vhost-limits", vhost, name));
  }

  // Users ---------------------------------------------------------------------------------------

  async listUsers(): Promise<UserInfo[]> {
    return this.list(apiPath("users"), decodeUser, { columns: USER_COLUMNS.join(",") });
  }

  async getUser(name: string): Promise<UserInfo | undefined> {
    const body = await this.getJsonIfPresent(apiPath("users", name));
    return body === undefined ? undefined : decodeUser(body);
  }

  /** Creates the user or replaces its credentials and tags. */
  async putUser(name: string, settings: UserSettings): Promise<void> {
    const body: JsonObject = { tags: (settings.tags ?? []).join(",") };
    if ("password" in settings) body.password = settings.password;
    else {
      body.password_hash = settings.passwordHash;
      if (settings.hashingAlgorithm) body.hashing_algorithm = settings.hashingAlgorithm;
    }
    await this.send({ method: "PUT", path: apiPath("users", name), body });
  }

  async deleteUser(name: string): Promise<boolean> {
    return this.deleteIfPresent(apiPath("users", name));
  }

  /** The user's limits ({} when none are set); undefined when the user is absent. */
  async getUserLimits(user: string): Promise<UserLimits | undefined> {
    const body = await this.getJsonIfPresent(apiPath("user-limits", user));
    return body === undefined ? undefined : (decodeLimits(body, "user", USER_LIMIT_NAMES).get(user) ?? {});
  }

  async listUserLimits(): Promise<Map<string, UserLimits>> {
    return decodeLimits(await this.getJson(apiPath("user-limits")), "user", USER_LIMIT_NAMES);
  }

  async setUserLimit(user: string, name: UserLimitName, value: number): Promise<void> {
    await this.send({ method: "PUT", path: apiPath("user-limits", user, name), body: { value } });
  }

  async clearUserLimit(user: string, name: UserLimitName): Promise<boolean> {
    return this.deleteIfPresent(apiPath("user-limits", user, name));
  }

  // Permissions ---------------------------------------------------------------------------------

  /** Every permission of the cluster, or of one vhost. */
  async listPermissions(vhost?: string): Promise<PermissionInfo[]> {
    return this.list(vhost === undefined ? apiPath("permissions") : apiPath("vhosts", vhost, "permissions"), decodePermission);
  }

  async getPermission(vhost: string, user: string): Promise<PermissionInfo | undefined> {
    const body = await this.getJsonIfPresent(apiPath("permissions", vhost, user));
    return body === undefined ? undefined : decodePermission(body);
  }

  /** Fails with 400 vhost_or_user_not_found when either is absent. */
  async putPermission(vhost: string, user: string, settings: PermissionSettings): Promise<void> {
    await this.send({ method: "PUT", path: apiPath("permissions", vhost, user), body: { ...settings } });
  }

  async deletePermission(vhost: string, user: string): Promise<boolean> {
    return this.deleteIfPresent(apiPath("permissions", vhost, user));
  }

  // Queues --------------------------------------------------------------------------------------

  /**
   * Queues with their statistics, of the cluster or one vhost. `columns` (RabbitMQ's names, e.g.
   * "messages") limits what the server computes and sends; name and vhost are always included.
   */
  async listQueues(options: { vhost?: string; columns?: readonly string[] } = {}): Promise<QueueInfo[]> {
    const path = options.vhost === undefined ? apiPath("queues") : apiPath("queues", options.vhost);
    const query = options.columns ? { columns: withIdentity(options.columns) } : undefined;
    return this.list(path, decodeQueue, query);
  }

  /** The bulk listing for drift detection: every queue's definition, no statistics. */
  async listQueueDefinitions(vhost?: string): Promise<QueueDefinition[]> {
    const path = vhost === undefined ? apiPath("queues") : apiPath("queues", vhost);
    return this.list(path, decodeQueueDefinition, { columns: QUEUE_DEFINITION_COLUMNS.join(","), ...WITHOUT_STATS });
  }

  async getQueue(vhost: string, name: string): Promise<QueueInfo | undefined> {
    const body = await this.getJsonIfPresent(apiPath("queues", vhost, name));
    return body === undefined ? undefined : decodeQueue(body);
  }

  /**
   * Declares the queue: durable and not auto-delete unless told otherwise, the type as
   * x-queue-type. A queue that exists with the same settings is left alone; with other settings
   * RabbitMQ refuses (PRECONDITION_FAILED, "inequivalent arg ...") and nothing changes.
   */
  async declareQueue(vhost: string, name: string, settings: QueueSettings = {}): Promise<void> {
    const args: JsonObject = { ...settings.arguments };
    if (settings.type) args["x-queue-type"] = settings.type;
    const body: JsonObject = { durable: settings.durable ?? true, auto_delete: settings.autoDelete ?? false, arguments: args };
    await this.send({ method: "PUT", path: apiPath("queues", vhost, name), body });
  }

  async deleteQueue(vhost: string, name: string, options: DeleteQueueOptions = {}): Promise<boolean> {
    const query = { "if-empty": options.ifEmpty ? "true" : undefined, "if-unused": options.ifUnused ? "true" : undefined };
    return this.deleteIfPresent(apiPath("queues", vhost, name), query);
  }

  /** Removes the queue's ready messages; false when the queue is absent. */
  async purgeQueue(vhost: string, name: string): Promise<boolean> {
    return this.deleteIfPresent(apiPath("queues", vhost, name, "contents"));
  }

  // Exchanges -----------------------------------------------------------------------------------

  /** The bulk listing for drift detection: every exchange's definition (built-in ones included). */
  async listExchanges(vhost?: string): Promise<ExchangeDefinition[]> {
    const path = vhost === undefined ? apiPath("exchanges") : apiPath("exchanges", vhost);
    return this.list(path, decodeExchange, { columns: EXCHANGE_DEFINITION_COLUMNS.join(","), ...WITHOUT_STATS });
  }

  async getExchange(vhost: string, name: string): Promise<ExchangeDefinition | undefined> {
    const body = await this.getJsonIfPresent(apiPath("exchanges", vhost, exchangeSegment(name)));
    return body === undefined ? undefined : decodeExchange(body);
  }

  /** Declares the exchange: durable, not auto-delete, not internal unless told otherwise. */
  async declareExchange(vhost: string, name: string, settings: ExchangeSettings): Promise<void> {
    const body: JsonObject = {
      type: settings.type,
      durable: settings.durable ?? true,
      auto_delete: settings.autoDelete ?? false,
      internal: settings.internal ?? false,
      arguments: { ...settings.arguments },
    };
    await this.send({ method: "PUT", path: apiPath("exchanges", vhost, name), body });
  }

  async deleteExchange(vhost: string, name: string, options: { ifUnused?: boolean } = {}): Promise<boolean> {
    return this.deleteIfPresent(apiPath("exchanges", vhost, name), { "if-unused": options.ifUnused ? "true" : undefined });
  }

  // Bindings ------------------------------------------------------------------------------------

  /** Every binding of the cluster or of one vhost, the default exchange's implicit ones included. */
  async listBindings(vhost?: string): Promise<BindingInfo[]> {
    return this.list(vhost === undefined ? apiPath("bindings") : apiPath("bindings", vhost), decodeBinding);
  }

  /** Bindings whose source is this exchange; [] when it is absent. */
  async listBindingsBySource(vhost: string, exchange: string): Promise<BindingInfo[]> {
    return this.listIfPresent(apiPath("exchanges", vhost, exchangeSegment(exchange), "bindings", "source"), decodeBinding);
  }

  /** Bindings into this queue or exchange; [] when it is absent. */
  async listBindingsByDestination(vhost: string, destination: string, destinationType: DestinationType): Promise<BindingInfo[]> {
    const path =
      destinationType === "queue" ? apiPath("queues", vhost, destination, "bindings") : apiPath("exchanges", vhost, destination, "bindings", "destination");
    return this.listIfPresent(path, decodeBinding);
  }

  /** Bindings from source to destination; [] when either is absent. */
  async listBindingsBetween(vhost: string, source: string, destination: string, destinationType: DestinationType): Promise<BindingInfo[]> {
    return this.listIfPresent(bindingsBetweenPath(vhost, source, destination, destinationType), decodeBinding);
  }

  /** The binding with exactly this routing key and these arguments, if it exists. */
  async findBinding(vhost: string, settings: BindingSettings): Promise<BindingInfo | undefined> {
    const candidates = await this.listBindingsBetween(vhost, settings.source, settings.destination, settings.destinationType);
    const routingKey = settings.routingKey ?? "";
    const args = settings.arguments ?? {};
    return candidates.find((binding) => binding.routingKey === routingKey && deepEqual(binding.arguments, args));
  }

  /**
   * Creates the binding and returns its properties key. Binding twice is a no-op in RabbitMQ, so
   * this POST is safe to retry. Fails with 404 when the source or destination is absent.
   */
  async createBinding(vhost: string, settings: BindingSettings): Promise<string> {
    const response = await this.send({
      method: "POST",
      path: bindingsBetweenPath(vhost, settings.source, settings.destination, settings.destinationType),
      body: { routing_key: settings.routingKey ?? "", arguments: { ...settings.arguments } },
      idempotent: true,
    });
    const propertiesKey = propertiesKeyFromLocation(response.location);
    if (propertiesKey !== undefined) return propertiesKey;
    // No Location header (a proxy may drop it): look the binding up instead.
    const created = await this.findBinding(vhost, settings);
    if (!created) throw new Error(`binding ${settings.source} -> ${settings.destination} was created but cannot be found`);
    return created.propertiesKey;
  }

  async deleteBinding(vhost: string, binding: Pick<BindingInfo, "source" | "destination" | "destinationType" | "propertiesKey">): Promise<boolean> {
    const path = `${bindingsBetweenPath(vhost, binding.source, binding.destination, binding.destinationType)}/${encodeURIComponent(binding.propertiesKey)}`;
    return this.deleteIfPresent(path);
  }

  // Policies ------------------------------------------------------------------------------------

  async listPolicies(vhost?: string): Promise<PolicyInfo[]> {
    return this.list(vhost === undefined ? apiPath("policies") : apiPath("policies", vhost), decodePolicy);
  }

  async getPolicy(vhost: string, name: string): Promise<PolicyInfo | undefined> {
    const body = await this.getJsonIfPresent(apiPath("policies", vhost, name));
    return body === undefined ? undefined : decodePolicy(body);
  }

  /** Creates or replaces the policy (priority 0 and apply-to all unless told otherwise). */
  async putPolicy(vhost: string, name: string, settings: PolicySettings): Promise<void> {
    const body: JsonObject = {
      pattern: settings.pattern,
      definition: settings.definition,
      priority: settings.priority ?? 0,
      "apply-to": settings.applyTo ?? "all",
    };
    await this.send({ method: "PUT", path: apiPath("policies", vhost, name), body });
  }

  async deletePolicy(vhost: string, name: string): Promise<boolean> {
    return this.deleteIfPresent(apiPath("policies", vhost, name));
  }

  // Health checks: a failing check is a result, not an error --------------------------------------

  /** Fails when any node of the cluster has a resource alarm (memory, disk). */
  checkAlarms(): Promise<HealthCheckResult> {
    return this.healthCheck("alarms");
  }

  /** Fails when the node that answers has a resource alarm. */
  checkLocalAlarms(): Promise<HealthCheckResult> {
    return this.healthCheck("local-alarms");
  }

  /** Fails when stopping the answering node would leave a quorum queue without a majority. */
  checkNodeIsQuorumCritical(): Promise<HealthCheckResult> {
    return this.healthCheck("node-is-quorum-critical");
  }

  /** Fails when a vhost is not running on the answering node. */
  checkVirtualHosts(): Promise<HealthCheckResult> {
    return this.healthCheck("virtual-hosts");
  }

  checkPortListener(port: number): Promise<HealthCheckResult> {
    return this.healthCheck("port-listener", String(port));
  }

  /** Protocol as RabbitMQ names it: amqp, amqp/ssl, http, clustering, mqtt, stomp, ... */
  checkProtocolListener(protocol: string): Promise<HealthCheckResult> {
    return this.healthCheck("protocol-listener", protocol);
  }

  /** Fails when a TLS listener's certificate expires within the period. */
  checkCertificateExpiration(within: number, unit: CertificateExpiryUnit): Promise<HealthCheckResult> {
    return this.healthCheck("certificate-expiration", String(within), unit);
  }

  // Drift detection -----------------------------------------------------------------------------

  /** The listings asked for, in parallel: one request per listing, none for the others. */
  async listTopology(listings: Iterable<TopologyListing>): Promise<Partial<TopologySnapshot>> {
    const wanted = new Set(listings);
    const snapshot: Partial<TopologySnapshot> = {};
    const list = async <K extends TopologyListing>(key: K, read: () => Promise<TopologySnapshot[K]>) => {
      if (wanted.has(key)) snapshot[key] = await read();
    };
    await Promise.all([
      list("vhosts", () => this.listVhosts()),
      list("vhostLimits", () => this.listVhostLimits()),
      list("users", () => this.listUsers()),
      list("userLimits", () => this.listUserLimits()),
      list("permissions", () => this.listPermissions()),
      list("queues", () => this.listQueueDefinitions()),
      list("exchanges", () => this.listExchanges()),
      list("bindings", () => this.listBindings()),
      list("policies", () => this.listPolicies()),
    ]);
    return snapshot;
  }

  // Plumbing ------------------------------------------------------------------------------------

  private send(request: ManagementRequest) {
    return this.http.request(request);
  }

  private async getJson(path: string, query?: Record<string, string | undefined>): Promise<JsonValue | undefined> {
    return (await this.send({ method: "GET", path, query })).body;
  }

  private async getJsonIfPresent(path: string, query?: Record<string, string | undefined>): Promise<JsonValue | undefined> {
    try {
      // A 200 without a body would be a broken server, not an absent object: null makes the
      // decoder say so.
      return (await this.getJson(path, query)) ?? null;
    } catch (error) {
      if (error instanceof ManagementApiError && error.isNotFound) return undefined;
      throw error;
    }
  }

  private async list<T>(path: string, decode: (value: JsonValue) => T, query?: Record<string, string | undefined>): Promise<T[]> {
    return asArray(await this.getJson(path, query), path).map(decode);
  }

  private async listIfPresent<T>(path: string, decode: (value: JsonValue) => T): Promise<T[]> {
    try {
      return await this.list(path, decode);
    } catch (error) {
      if (error instanceof ManagementApiError && error.isNotFound) return [];
      throw error;
    }
  }

  private async deleteIfPresent(path: string, query?: Record<string, string | undefined>): Promise<boolean> {
    try {
      await this.send({ method: "DELETE", path, query });
      return true;
    } catch (error) {
      if (error instanceof ManagementApiError && error.isNotFound) return false;
      throw error;
    }
  }

  private async healthCheck(...segments: string[]): Promise<HealthCheckResult> {
    const response = await this.send({ method: "GET", path: apiPath("health", "checks", ...segments), acceptStatuses: [503] });
    if (response.status === 200) return { ok: true };
    const details = asObject(response.body, `health check ${segments.join("/")}`);
    const reason = typeof details.reason === "string" ? details.reason : "health check failed";
    return { ok: false, reason, details };
  }
}

/** The default exchange ("") is addressed as amq.default in URLs. */
export function exchangeSegment(name: string): string {
  return name === "" ? "amq.default" : name;
}

function bindingsBetweenPath(vhost: string, source: string, destination: string, destinationType: DestinationType): string {
  return apiPath("bindings", vhost, "e", exchangeSegment(source), destinationType === "queue" ? "q" : "e", destination);
}

/** The Location of a new binding ends with its properties key, percent-encoded once more. */
export function propertiesKeyFromLocation(location: string | undefined): string | undefined {
  if (!location) return undefined;
  const last = location.split("/").pop();
  if (last === undefined || last === "") return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return undefined;
  }
}

function withIdentity(columns: readonly string[]): string {
  return [...new Set(["name", "vhost", ...columns])].join(",");
}
