// The example stack's program: rabbit-operator installed, a RabbitMQ cluster of 3 disc + 2 ram
// nodes, and its vhosts, users, permissions, queues, exchanges, bindings and policies, all from
// stack configuration (Pulumi.dev.yaml). index.ts hands `rabbitmqPlatform` to `pulumi up`; the
// tests run the same function as an Automation API inline program.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  Binding,
  Exchange,
  ExternalRabbitCluster,
  Permission,
  Policy,
  Queue,
  RabbitCluster,
  RabbitOperator,
  User,
  Vhost,
  type ClusterEndpoints,
  type TopologyTarget,
  type WrittenBindingSpec,
  type WrittenExchangeSpec,
  type WrittenPermissionSpec,
  type WrittenPolicySpec,
  type WrittenQueueSpec,
  type WrittenRabbitClusterSpec,
  type WrittenUserSpec,
  type WrittenVhostSpec,
} from "../../index.js";

/** `operator`: install rabbit-operator with this stack (RabbitOperator's arguments). */
export interface OperatorConfig {
  /** Default true; false when the operator is installed some other way (Helm, another stack). */
  install?: boolean;
  namespace?: string;
  waitForReady?: boolean;
  retainCrds?: boolean;
  values?: Record<string, unknown>;
}

/** `cluster`: the RabbitCluster, its spec as in the CRD plus the object's name. */
export type ClusterConfig = WrittenRabbitClusterSpec & {
  name: string;
  /** Wait until every node runs. Default true. */
  waitForReady?: boolean;
};

/**
 * `externalCluster`: declare the topology in a RabbitMQ cluster the operator does not run
 * instead of the stack's own cluster (the password is the secret `externalClusterPassword`).
 */
export interface ExternalClusterConfig {
  /** Management API URL, e.g. http://rabbitmq.example.internal:15672. */
  uri: string;
  username: string;
}

/** `users`: a user needs a name here, since it names the Kubernetes object too. */
export type UserConfig = WrittenUserSpec & { username: string };

/** `permissions`: `user` is a user of `users` (referenced, so created first) or any other user name. */
export type PermissionConfig = Omit<WrittenPermissionSpec, "userReference"> & { user: string };

export interface PlatformConfig {
  operator: OperatorConfig;
  namespace: string;
  cluster: ClusterConfig;
  externalCluster: ExternalClusterConfig | undefined;
  vhosts: WrittenVhostSpec[];
  users: UserConfig[];
  permissions: PermissionConfig[];
  queues: WrittenQueueSpec[];
  exchanges: WrittenExchangeSpec[];
  bindings: WrittenBindingSpec[];
  policies: WrittenPolicySpec[];
}

export interface PlatformOutputs {
  namespace: pulumi.Output<string>;
  operatorNamespace: pulumi.Output<string> | undefined;
  clusterName: pulumi.Output<string>;
  /** The cluster's endpoints inside the Kubernetes cluster. */
  endpoints: pulumi.Output<ClusterEndpoints>;
  /** The Secret with the cluster's default (administrator) user. */
  defaultUserSecret: pulumi.Output<string>;
  /** Where the topology is declared: `RabbitCluster <name>` or `connection Secret <name>`. */
  topologyTarget: pulumi.Output<string>;
  /** Per RabbitMQ user name, the Secret with its username and password. */
  userCredentialsSecrets: Record<string, pulumi.Output<string>>;
  /** What was declared, as `<vhost>/<name>`. */
  vhosts: string[];
  queues: string[];
  policies: string[];
}

export function readConfig(config: pulumi.Config = new pulumi.Config()): PlatformConfig {
  return {
    operator: config.getObject<OperatorConfig>("operator") ?? {},
    namespace: config.get("namespace") ?? "rabbitmq",
    cluster: config.requireObject<ClusterConfig>("cluster"),
    externalCluster: config.getObject<ExternalClusterConfig>("externalCluster"),
    vhosts: config.getObject<WrittenVhostSpec[]>("vhosts") ?? [],
    users: config.getObject<UserConfig[]>("users") ?? [],
    permissions: config.getObject<PermissionConfig[]>("permissions") ?? [],
    queues: config.getObject<WrittenQueueSpec[]>("queues") ?? [],
    exchanges: config.getObject<WrittenExchangeSpec[]>("exchanges") ?? [],
    bindings: config.getObject<WrittenBindingSpec[]>("bindings") ?? [],
    policies: config.getObject<WrittenPolicySpec[]>("policies") ?? [],
  };
}

/** The program: reads the stack's configuration and declares everything. */
export async function rabbitmqPlatform(): Promise<PlatformOutputs> {
  const config = new pulumi.Config();
  return declarePlatform(readConfig(config), config.getSecret("externalClusterPassword"));
}

export function declarePlatform(settings: PlatformConfig, externalPassword?: pulumi.Output<string>): PlatformOutputs {
  const names = new KubernetesNames();
  const operator =
    settings.operator.install === false
      ? undefined
      : new RabbitOperator("rabbit-operator", {
          ...(settings.operator.namespace !== undefined ? { namespace: settings.operator.namespace } : {}),
          ...(settings.operator.waitForReady !== undefined ? { waitForReady: settings.operator.waitForReady } : {}),
          ...(settings.operator.retainCrds !== undefined ? { retainCrds: settings.operator.retainCrds } : {}),
          ...(settings.operator.values !== undefined ? { values: settings.operator.values } : {}),
        });
  // Everything below is deleted before the operator goes, while it still removes finalizers.
  const afterOperator: pulumi.ComponentResourceOptions = operator ? { dependsOn: [operator] } : {};

  const namespace = new k8s.core.v1.Namespace("namespace", { metadata: { name: settings.namespace } }, afterOperator);
  const { name: clusterName, waitForReady: clusterWaitForReady, ...clusterSpec } = settings.cluster;
  const cluster = new RabbitCluster(
    clusterName,
    {
      metadata: { name: clusterName, namespace: namespace.metadata.name },
      spec: clusterSpec,
      ...(clusterWaitForReady !== undefined ? { waitForReady: clusterWaitForReady } : {}),
    },
    afterOperator,
  );

  let target: TopologyTarget = cluster;
  let topologyTarget = pulumi.interpolate`RabbitCluster ${cluster.name}`;
  if (settings.externalCluster) {
    if (!externalPassword) throw new Error("externalCluster needs the secret config value externalClusterPassword");
    const external = new ExternalRabbitCluster(
      "external-rabbitmq",
      {
        metadata: { namespace: namespace.metadata.name },
        uri: settings.externalCluster.uri,
        username: settings.externalCluster.username,
        password: externalPassword,
      },
      afterOperator,
    );
    target = external;
    topologyTarget = pulumi.interpolate`connection Secret ${external.connectionSecretName}`;
  }

  const vhosts = new Map<string, Vhost>();
  for (const spec of settings.vhosts) {
    vhosts.set(spec.name, new Vhost(names.claim("vhost", spec.name), { cluster: target, spec }, afterOperator));
  }
  // A vhost of this stack is created before what lives in it and deleted after.
  const inVhost = (vhost: string | undefined): pulumi.Input<string> => {
    const declared = vhosts.get(vhost ?? "/");
    return declared ? declared.spec.name : (vhost ?? "/");
  };

  const users = new Map<string, User>();
  for (const { username, ...spec } of settings.users) {
    users.set(username, new User(names.claim("user", username), { cluster: target, spec: { ...spec, username } }, afterOperator));
  }
  for (const { user, vhost, ...spec } of settings.permissions) {
    const declared = users.get(user);
    new Permission(
      names.claim("permission", user, vhost ?? "/"),
      { cluster: target, spec: { ...spec, vhost: inVhost(vhost), ...(declared ? { userReference: { name: declared.name } } : { user }) } },
      afterOperator,
    );
  }

  // Queues and exchanges by `<vhost>/<name>`, for the bindings that name them.
  const key = (vhost: string | undefined, name: string) => `${vhost ?? "/"}/${name}`;
  const queues = new Map<string, Queue>();
  for (const spec of settings.queues) {
    queues.set(
      key(spec.vhost, spec.name),
      new Queue(names.claim("queue", spec.vhost ?? "/", spec.name), { cluster: target, spec: { ...spec, vhost: inVhost(spec.vhost) } }, afterOperator),
    );
  }
  const exchanges = new Map<string, Exchange>();
  for (const spec of settings.exchanges) {
    exchanges.set(
      key(spec.vhost, spec.name),
      new Exchange(names.claim("exchange", spec.vhost ?? "/", spec.name), { cluster: target, spec: { ...spec, vhost: inVhost(spec.vhost) } }, afterOperator),
    );
  }
  for (const spec of settings.bindings) {
    // A binding between objects of this stack is created after them and deleted before them.
    const source = exchanges.get(key(spec.vhost, spec.source));
    const destination =
      (spec.destinationType ?? "queue") === "queue" ? queues.get(key(spec.vhost, spec.destination)) : exchanges.get(key(spec.vhost, spec.destination));
    new Binding(
      names.claim("binding", spec.vhost ?? "/", spec.source, spec.destination, spec.routingKey ?? ""),
      {
        cluster: target,
        spec: {
          ...spec,
          vhost: inVhost(spec.vhost),
          source: source ? source.spec.name : spec.source,
          destination: destination ? destination.spec.name : spec.destination,
        },
      },
      afterOperator,
    );
  }
  for (const spec of settings.policies) {
    new Policy(names.claim("policy", spec.vhost ?? "/", spec.name), { cluster: target, spec: { ...spec, vhost: inVhost(spec.vhost) } }, afterOperator);
  }

  return {
    namespace: namespace.metadata.name,
    operatorNamespace: operator?.namespace,
    clusterName: cluster.name,
    endpoints: cluster.endpoints,
    defaultUserSecret: cluster.defaultUserSecretName,
    topologyTarget,
    userCredentialsSecrets: Object.fromEntries([...users].map(([username, user]) => [username, user.credentialsSecretName])),
    vhosts: settings.vhosts.map((vhost) => vhost.name),
    queues: settings.queues.map((queue) => `${queue.vhost ?? "/"}/${queue.name}`),
    policies: settings.policies.map((policy) => `${policy.vhost ?? "/"}/${policy.name}`),
  };
}

/**
 * Kubernetes object names made from RabbitMQ names (`queue`, `orders`, `orders.created` ->
 * `queue-orders-orders.created`): DNS-1123, and never the same for two objects of one kind.
 */
export class KubernetesNames {
  private readonly taken = new Set<string>();

  claim(kind: string, ...parts: string[]): string {
    const name = [kind, ...parts.map((part) => (part === "/" ? "default" : part))]
      .join("-")
      .toLowerCase()
      .replace(/[^a-z0-9.-]+/g, "-")
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "")
      .slice(0, 253);
    if (this.taken.has(name)) throw new Error(`two ${kind} objects would both be named ${name}: rename one in the stack configuration`);
    this.taken.add(name);
    return name;
  }
}
