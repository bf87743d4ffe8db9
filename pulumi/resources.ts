// Typed Pulumi resources for our kinds: RabbitCluster and the topology kinds (Vhost, User,
// Permission, Queue, Exchange, Binding, Policy), plus ExternalRabbitCluster, the connection Secret
// of a RabbitMQ cluster the operator does not run.
//
// Each is a component (`rabbit-operator:index:<Kind>`) around one Kubernetes custom resource. The
// spec a user writes is typed from the kind's schema in operator/api (defaulted fields optional);
// the component fills in the schema's defaults, so that Pulumi's state, its diffs and the object
// stored by the API server all say the same thing.
//
// Dependencies: a topology object takes its cluster reference from the cluster component's
// outputs, which come from the cluster's custom resource, so Pulumi creates the cluster (or the
// connection Secret) first and deletes it last. Pass the operator install in `dependsOn` (see
// RabbitOperator): topology objects then go before the operator on destroy, while it still runs
// to remove their finalizers.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Static, TSchema } from "@sinclair/typebox";
import {
  API_VERSION,
  BindingSpec,
  ExchangeSpec,
  PermissionSpec,
  PolicySpec,
  QueueSpec,
  RabbitClusterSpec,
  UserSpec,
  VhostSpec,
  withDefaults,
  type ClusterReference,
  type RabbitCluster as RabbitClusterObject,
  type User as UserObject,
} from "../operator/api/index.js";
import { clusterEndpoints, clusterNames, credentialsSecretName } from "../operator/resources/names.js";
import { immutableFields, type DeepInput, type OptionalAt } from "./inputs.js";

/** Type tokens are `rabbit-operator:index:<Kind>`. */
export const PACKAGE = "rabbit-operator";
const typeToken = (kind: string) => `${PACKAGE}:index:${kind}`;

/**
 * Annotation read by the Kubernetes provider: with it, Pulumi waits on create and update until
 * the object's Ready condition is True (for topology objects: declared in RabbitMQ). The provider
 * does not compare the condition's observedGeneration: after an update, a Ready=True left from
 * the previous generation can end the wait early; creates, the case that matters for ordering,
 * always wait.
 */
export const WAIT_FOR_ANNOTATION = "pulumi.com/waitFor";
export const WAIT_FOR_READY = "condition=Ready";

/**
 * The fields each kind's schema gives a default, as dot paths: optional in what a user writes.
 * A unit test holds these lists equal to what the schemas say (inputs.ts `defaultedPaths`).
 */
export const DEFAULTED_FIELDS = {
  RabbitCluster: [
    "image",
    "nodes",
    "nodes.disc",
    "nodes.ram",
    "persistence",
    "persistence.storage",
    "persistence.whenDeleted",
    "service",
    "service.type",
    "terminationGracePeriodSeconds",
  ],
  Vhost: ["deletionPolicy", "tracing"],
  User: ["deletionPolicy"],
  Permission: ["deletionPolicy", "permissions", "permissions.configure", "permissions.read", "permissions.write", "vhost"],
  Queue: ["autoDelete", "deletionPolicy", "durable", "type", "vhost"],
  Exchange: ["autoDelete", "deletionPolicy", "durable", "type", "vhost"],
  Binding: ["deletionPolicy", "destinationType", "routingKey", "vhost"],
  Policy: ["applyTo", "deletionPolicy", "priority", "vhost"],
} as const;
type Defaulted<Kind extends keyof typeof DEFAULTED_FIELDS> = (typeof DEFAULTED_FIELDS)[Kind][number];

/**
 * A topology spec as a user writes it: defaulted fields optional, and the cluster reference
 * optional (the `cluster` argument usually gives it).
 */
export type WrittenTopologySpec<Schema extends TSchema, Paths extends string> = OptionalAt<Static<Schema>, Paths | "rabbitmqClusterReference">;

export type WrittenRabbitClusterSpec = OptionalAt<RabbitClusterSpec, Defaulted<"RabbitCluster">>;
export type WrittenVhostSpec = WrittenTopologySpec<typeof VhostSpec, Defaulted<"Vhost">>;
export type WrittenUserSpec = WrittenTopologySpec<typeof UserSpec, Defaulted<"User">>;
export type WrittenPermissionSpec = WrittenTopologySpec<typeof PermissionSpec, Defaulted<"Permission">>;
export type WrittenQueueSpec = WrittenTopologySpec<typeof QueueSpec, Defaulted<"Queue">>;
export type WrittenExchangeSpec = WrittenTopologySpec<typeof ExchangeSpec, Defaulted<"Exchange">>;
export type WrittenBindingSpec = WrittenTopologySpec<typeof BindingSpec, Defaulted<"Binding">>;
export type WrittenPolicySpec = WrittenTopologySpec<typeof PolicySpec, Defaulted<"Policy">>;

/** The same, where any part may be a Pulumi Output or promise. */
export type RabbitClusterSpecInput = DeepInput<WrittenRabbitClusterSpec>;
export type VhostSpecInput = DeepInput<WrittenVhostSpec>;
export type UserSpecInput = DeepInput<WrittenUserSpec>;
export type PermissionSpecInput = DeepInput<WrittenPermissionSpec>;
export type QueueSpecInput = DeepInput<WrittenQueueSpec>;
export type ExchangeSpecInput = DeepInput<WrittenExchangeSpec>;
export type BindingSpecInput = DeepInput<WrittenBindingSpec>;
export type PolicySpecInput = DeepInput<WrittenPolicySpec>;

export interface ObjectMetaArgs {
  /** Name of the Kubernetes object; the Pulumi resource name by default (no random suffix: topology names are meant to be read). */
  name?: pulumi.Input<string>;
  /** Namespace; for topology objects, the cluster's namespace by default. */
  namespace?: pulumi.Input<string>;
  labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  annotations?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** Where topology objects live: a RabbitCluster, or an ExternalRabbitCluster's connection Secret. */
export interface TopologyTarget extends pulumi.Resource {
  /** What topology objects put in spec.rabbitmqClusterReference; resolving it waits for the target to exist. */
  readonly clusterReference: pulumi.Output<ClusterReference>;
  /** The namespace topology objects default to (a connection Secret must be in the object's own namespace). */
  readonly namespace: pulumi.Output<string>;
}

/** The Kubernetes object and what every component exposes about it. */
abstract class RabbitObject<Spec> extends pulumi.ComponentResource {
  /** metadata.name of the Kubernetes object. */
  readonly name: pulumi.Output<string>;
  readonly namespace: pulumi.Output<string>;
  /** The spec sent to Kubernetes, defaults filled in; depending on it waits for the object. */
  readonly spec: pulumi.Output<Spec>;
  /** The custom resource itself (status, full metadata). */
  readonly resource: k8s.apiextensions.CustomResource;

  protected constructor(
    kind: string,
    name: string,
    build: {
      metadata: ObjectMetaArgs | undefined;
      namespace: pulumi.Input<string> | undefined;
      spec: pulumi.Output<Spec>;
      waitForReady: boolean;
      replaceOnChanges: string[];
    },
    opts: pulumi.ComponentResourceOptions | undefined,
  ) {
    super(typeToken(kind), name, {}, opts);
    // Empty maps are left out rather than sent: the API server drops them, and Pulumi would
    // then see a difference on every preview.
    const metadata = pulumi
      .all([build.metadata?.name ?? name, build.namespace, build.metadata?.labels ?? {}, build.metadata?.annotations ?? {}])
      .apply(([objectName, namespace, labels, given]) => {
        const annotations: Record<string, string> = build.waitForReady ? { ...given, [WAIT_FOR_ANNOTATION]: WAIT_FOR_READY } : given;
        return {
          name: objectName,
          ...(namespace !== undefined ? { namespace } : {}),
          ...(Object.keys(labels).length > 0 ? { labels } : {}),
          ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
        };
      });
    this.resource = new k8s.apiextensions.CustomResource(
      name,
      {
        apiVersion: API_VERSION,
        kind,
        metadata,
        spec: build.spec,
      },
      {
        parent: this,
        // Children do not inherit their component's dependsOn: pass it on, so that an object
        // declared after the operator install is also deleted before it.
        ...(opts?.dependsOn !== undefined ? { dependsOn: opts.dependsOn } : {}),
        // The API server refuses changes of these (CEL); Pulumi replaces the object instead, and
        // deletes the old one first since the new one has the same name.
        replaceOnChanges: build.replaceOnChanges.map((field) => `spec.${field}`),
        deleteBeforeReplace: true,
      },
    );
    this.name = this.resource.metadata.name;
    this.namespace = this.resource.metadata.namespace;
    // Derived from the resource's own output, so that whatever reads it depends on the object.
    // (Unwrap<Spec> is Spec for plain data, which TypeScript cannot see through a type parameter.)
    this.spec = pulumi.all([this.resource.metadata, build.spec]).apply(([, spec]) => spec) as pulumi.Output<Spec>;
  }
}

// RabbitCluster -----------------------------------------------------------------------------------

export interface RabbitClusterArgs {
  metadata?: ObjectMetaArgs;
  spec: RabbitClusterSpecInput;
  /**
   * Wait on create and update until the cluster is Ready (every node running, the cluster
   * serving clients). Default true; set false where pods cannot run (a control plane without
   * nodes) or to let topology objects do the waiting.
   */
  waitForReady?: boolean;
  /** DNS domain of the Kubernetes cluster, for the endpoints (the operator's --cluster-domain). Default cluster.local. */
  clusterDomain?: string;
}

export interface ClusterEndpoints {
  /** AMQP URL inside the Kubernetes cluster. */
  amqp: string;
  /** Management UI and HTTP API URL inside the Kubernetes cluster. */
  management: string;
}

/** A RabbitMQ cluster of disc and ram nodes, run by rabbit-operator. */
export class RabbitCluster extends RabbitObject<RabbitClusterSpec> implements TopologyTarget {
  readonly clusterReference: pulumi.Output<ClusterReference>;
  /** The Secret with the default (administrator) user: keys username, password, connection_string. */
  readonly defaultUserSecretName: pulumi.Output<string>;
  /** The client Service (AMQP, management, Prometheus). */
  readonly clientServiceName: pulumi.Output<string>;
  readonly endpoints: pulumi.Output<ClusterEndpoints>;

  constructor(name: string, args: RabbitClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    const spec = pulumi.output(args.spec).apply((written) => withDefaults<RabbitClusterSpec>(RabbitClusterSpec, written));
    super(
      "RabbitCluster",
      name,
      {
        metadata: args.metadata,
        namespace: args.metadata?.namespace,
        spec,
        waitForReady: args.waitForReady ?? true,
        replaceOnChanges: immutableFields(RabbitClusterSpec),
      },
      opts,
    );
    // The operator's own naming functions, applied to the object as created.
    const created = pulumi.all([this.name, this.namespace, this.spec]).apply(([objectName, namespace, clusterSpec]): RabbitClusterObject => ({
      apiVersion: API_VERSION,
      kind: "RabbitCluster",
      metadata: { name: objectName, namespace },
      spec: clusterSpec,
    }));
    const clusterDomain = args.clusterDomain ?? "cluster.local";
    this.clusterReference = created.apply((cluster): ClusterReference => ({ name: cluster.metadata.name, namespace: cluster.metadata.namespace! }));
    this.defaultUserSecretName = created.apply((cluster) => clusterNames(cluster).defaultUser);
    this.clientServiceName = created.apply((cluster) => clusterNames(cluster).clientService);
    this.endpoints = created.apply((cluster): ClusterEndpoints => clusterEndpoints(cluster, clusterDomain));
    this.registerOutputs({
      name: this.name,
      namespace: this.namespace,
      clusterReference: this.clusterReference,
      defaultUserSecretName: this.defaultUserSecretName,
      clientServiceName: this.clientServiceName,
      endpoints: this.endpoints,
    });
  }
}

// ExternalRabbitCluster ---------------------------------------------------------------------------

export interface ExternalRabbitClusterArgs {
  /** The connection Secret's name (the Pulumi resource name by default) and namespace. */
  metadata?: ObjectMetaArgs;
  /** Base URL of the management HTTP API, e.g. http://rabbitmq.example.internal:15672. */
  uri: pulumi.Input<string>;
  username: pulumi.Input<string>;
  /** Kept secret in Pulumi's state. */
  password: pulumi.Input<string>;
}

/**
 * A RabbitMQ cluster the operator does not run, reached through a connection Secret (`uri`,
 * `username`, `password`). Topology objects given it as `cluster` reference that Secret; they must
 * be in its namespace.
 */
export class ExternalRabbitCluster extends pulumi.ComponentResource implements TopologyTarget {
  readonly clusterReference: pulumi.Output<ClusterReference>;
  readonly namespace: pulumi.Output<string>;
  readonly connectionSecretName: pulumi.Output<string>;
  readonly secret: k8s.core.v1.Secret;

  constructor(name: string, args: ExternalRabbitClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(typeToken("ExternalRabbitCluster"), name, {}, opts);
    this.secret = new k8s.core.v1.Secret(
      name,
      {
        metadata: {
          name: args.metadata?.name ?? name,
          ...(args.metadata?.namespace !== undefined ? { namespace: args.metadata.namespace } : {}),
          ...(args.metadata?.labels !== undefined ? { labels: args.metadata.labels } : {}),
          ...(args.metadata?.annotations !== undefined ? { annotations: args.metadata.annotations } : {}),
        },
        type: "Opaque",
        stringData: { uri: args.uri, username: args.username, password: pulumi.secret(args.password) },
      },
      { parent: this, ...(opts?.dependsOn !== undefined ? { dependsOn: opts.dependsOn } : {}) },
    );
    this.connectionSecretName = this.secret.metadata.name;
    this.namespace = this.secret.metadata.namespace;
    this.clusterReference = this.connectionSecretName.apply((secretName): ClusterReference => ({ connectionSecret: { name: secretName } }));
    this.registerOutputs({ connectionSecretName: this.connectionSecretName, namespace: this.namespace, clusterReference: this.clusterReference });
  }
}

// Topology ----------------------------------------------------------------------------------------

export interface TopologyArgs<SpecInput> {
  metadata?: ObjectMetaArgs;
  /**
   * The cluster the object lives in: sets spec.rabbitmqClusterReference and the default namespace,
   * and makes the object depend on the cluster. Without it, spec.rabbitmqClusterReference is required.
   */
  cluster?: TopologyTarget;
  spec: SpecInput;
  /** Wait on create and update until the object is Ready, i.e. declared in RabbitMQ. Default true. */
  waitForReady?: boolean;
}

/** The generic part of every topology kind: cluster reference, defaults, readiness. */
abstract class TopologyObject<Schema extends TSchema> extends RabbitObject<Static<Schema>> {
  protected constructor(kind: string, schema: Schema, name: string, args: TopologyArgs<DeepInput<unknown>>, opts: pulumi.ComponentResourceOptions | undefined) {
    // Checked now when the spec is a plain object (the common case), so that the mistake is
    // reported where it was made; an Output spec is checked once it resolves.
    if (isPlainObject(args.spec)) checkClusterReference(kind, name, args.spec.rabbitmqClusterReference !== undefined, args.cluster !== undefined);
    const reference = args.cluster?.clusterReference;
    const spec = pulumi.all([pulumi.output(args.spec), reference]).apply(([written, fromCluster]) => {
      const given = written as Record<string, unknown>;
      checkClusterReference(kind, name, given.rabbitmqClusterReference !== undefined, fromCluster !== undefined);
      return withDefaults<Static<Schema>>(schema, { ...given, rabbitmqClusterReference: given.rabbitmqClusterReference ?? fromCluster });
    });
    const namespace = args.metadata?.namespace ?? args.cluster?.namespace;
    super(kind, name, { metadata: args.metadata, namespace, spec, waitForReady: args.waitForReady ?? true, replaceOnChanges: immutableFields(schema) }, opts);
  }
}

function checkClusterReference(kind: string, name: string, inSpec: boolean, fromCluster: boolean): void {
  if (inSpec && fromCluster) throw new Error(`${kind} ${name}: give either \`cluster\` or spec.rabbitmqClusterReference, not both`);
  if (!inSpec && !fromCluster) throw new Error(`${kind} ${name}: needs \`cluster\` or spec.rabbitmqClusterReference`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !pulumi.Output.isInstance(value) && !(value instanceof Promise);
}

/** A RabbitMQ virtual host. */
export class Vhost extends TopologyObject<typeof VhostSpec> {
  constructor(name: string, args: TopologyArgs<VhostSpecInput>, opts?: pulumi.ComponentResourceOptions) {
    super("Vhost", VhostSpec, name, args, opts);
    this.registerOutputs({ name: this.name, namespace: this.namespace, spec: this.spec });
  }
}

/** A RabbitMQ user; the operator keeps its credentials in the Secret `credentialsSecretName`. */
export class User extends TopologyObject<typeof UserSpec> {
  /** `<metadata.name>-user-credentials`: keys username and password. */
  readonly credentialsSecretName: pulumi.Output<string>;

  constructor(name: string, args: TopologyArgs<UserSpecInput>, opts?: pulumi.ComponentResourceOptions) {
    super("User", UserSpec, name, args, opts);
    this.credentialsSecretName = pulumi
      .all([this.name, this.spec])
      .apply(([objectName, spec]) =>
        credentialsSecretName({ apiVersion: API_VERSION, kind: "User", metadata: { name: objectName }, spec } satisfies UserObject),
      );
    this.registerOutputs({ name: this.name, namespace: this.namespace, spec: this.spec, credentialsSecretName: this.credentialsSecretName });
  }
}

/** A user's permissions in a virtual host. */
export class Permission extends TopologyObject<typeof PermissionSpec> {
  constructor(name: string, args: TopologyArgs<PermissionSpecInput>, opts?: pulumi.ComponentResourceOptions) {
    super("Permission", PermissionSpec, name, args, opts);
    this.registerOutputs({ name: this.name, namespace: this.namespace, spec: this.spec });
  }
}

/** A queue: classic, quorum or stream. */
export class Queue extends TopologyObject<typeof QueueSpec> {
  constructor(name: string, args: TopologyArgs<QueueSpecInput>, opts?: pulumi.ComponentResourceOptions) {
    super("Queue", QueueSpec, name, args, opts);
    this.registerOutputs({ name: this.name, namespace: this.namespace, spec: this.spec });
  }
}

/** An exchange. */
export class Exchange extends TopologyObject<typeof ExchangeSpec> {
  constructor(name: string, args: TopologyArgs<ExchangeSpecInput>, opts?: pulumi.ComponentResourceOptions) {
    super("Exchange", ExchangeSpec, name, args, opts);
    this.registerOutputs({ name: this.name, namespace: this.namespace, spec: this.spec });
  }
}

/** A binding from an exchange to a queue or another exchange. */
export class Binding extends TopologyObject<typeof BindingSpec> {
  constructor(name: string, args: TopologyArgs<BindingSpecInput>, opts?: pulumi.ComponentResourceOptions) {
    super("Binding", BindingSpec, name, args, opts);
    this.registerOutputs({ name: this.name, namespace: this.namespace, spec: this.spec });
  }
}

/** A policy: settings for the queues or exchanges whose names match a pattern. */
export class Policy extends TopologyObject<typeof PolicySpec> {
  constructor(name: string, args: TopologyArgs<PolicySpecInput>, opts?: pulumi.ComponentResourceOptions) {
    super("Policy", PolicySpec, name, args, opts);
    this.registerOutputs({ name: this.name, namespace: this.namespace, spec: this.spec });
  }
}
