// The catalogue of our kinds: everything needed to generate a CRD, watch the kind, and type it.
import type { TSchema } from "@sinclair/typebox";
import { TopologyStatus } from "./common.js";
import { RabbitClusterSpec, RabbitClusterStatus } from "./rabbit-cluster.js";
import { BindingSpec, ExchangeSpec, PermissionSpec, PermissionStatus, PolicySpec, QueueSpec, UserSpec, UserStatus, VhostSpec } from "./topology.js";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: TSchema;
  status: TSchema;
  printerColumns: PrinterColumn[];
}

const readyColumns: PrinterColumn[] = [
  { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: "Whether the object is in RabbitMQ as declared." },
  { name: "Reason", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].reason', description: "Why it is (not) ready.", priority: 1 },
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Time since creation." },
];

// Where the object lives: a RabbitCluster, or (Cluster empty) an external cluster whose connection
// Secret is shown by `-o wide`. Two columns: a printer column reads one path.
const clusterColumns: PrinterColumn[] = [
  {
    name: "Cluster",
    type: "string",
    jsonPath: ".spec.rabbitmqClusterReference.name",
    description: "The RabbitCluster the object belongs to; empty for an external cluster (see Connection).",
  },
  {
    name: "Connection",
    type: "string",
    jsonPath: ".spec.rabbitmqClusterReference.connectionSecret.name",
    description: "The connection Secret of the external cluster the object belongs to; empty for a RabbitCluster.",
    priority: 1,
  },
];

function topologyKind(
  kind: string,
  shortNames: string[],
  description: string,
  spec: TSchema,
  columns: PrinterColumn[],
  status: TSchema = TopologyStatus,
): KindDefinition {
  const lower = kind.toLowerCase();
  const plural = lower.endsWith("y") ? `${lower.slice(0, -1)}ies` : `${lower}s`;
  return { kind, plural, singular: lower, shortNames, description, spec, status, printerColumns: [...columns, ...clusterColumns, ...readyColumns] };
}

export const RABBIT_CLUSTER: KindDefinition = {
  kind: "RabbitCluster",
  plural: "rabbitclusters",
  singular: "rabbitcluster",
  shortNames: ["rc", "rmq"],
  description: "A RabbitMQ cluster of disc and ram nodes, run by rabbit-operator.",
  spec: RabbitClusterSpec,
  status: RabbitClusterStatus,
  printerColumns: [
    { name: "Disc", type: "integer", jsonPath: ".spec.nodes.disc", description: "Desired disc nodes." },
    { name: "Ram", type: "integer", jsonPath: ".spec.nodes.ram", description: "Desired ram nodes." },
    {
      name: "Ready",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: "Whether every node runs and the cluster serves clients.",
    },
    { name: "Reason", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].reason', description: "Why it is (not) ready." },
    { name: "Version", type: "string", jsonPath: ".status.rabbitmq.version", description: "The RabbitMQ version the nodes report." },
    { name: "Image", type: "string", jsonPath: ".spec.image", description: "RabbitMQ image.", priority: 1 },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Time since creation." },
  ],
};

export const TOPOLOGY_KINDS: KindDefinition[] = [
  topologyKind("Vhost", ["vh"], "A RabbitMQ virtual host.", VhostSpec, [
    { name: "Vhost", type: "string", jsonPath: ".spec.name", description: "Name in RabbitMQ." },
  ]),
  topologyKind(
    "User",
    ["ru"],
    "A RabbitMQ user with generated or imported credentials.",
    UserSpec,
    [
      { name: "Username", type: "string", jsonPath: ".status.username", description: "Name in RabbitMQ." },
      { name: "Tags", type: "string", jsonPath: ".spec.tags", description: "User tags.", priority: 1 },
    ],
    UserStatus,
  ),
  topologyKind(
    "Permission",
    ["perm"],
    "A RabbitMQ user's permissions in a virtual host.",
    PermissionSpec,
    [
      // From the status: a userReference is resolved to the User's name in RabbitMQ there.
      { name: "User", type: "string", jsonPath: ".status.username", description: "User in RabbitMQ." },
      { name: "Vhost", type: "string", jsonPath: ".spec.vhost", description: "Virtual host." },
    ],
    PermissionStatus,
  ),
  topologyKind("Queue", ["rq"], "A RabbitMQ queue: classic, quorum or stream.", QueueSpec, [
    { name: "Queue", type: "string", jsonPath: ".spec.name", description: "Name in RabbitMQ." },
    { name: "Type", type: "string", jsonPath: ".spec.type", description: "Queue type." },
    { name: "Vhost", type: "string", jsonPath: ".spec.vhost", description: "Virtual host.", priority: 1 },
  ]),
  topologyKind("Exchange", ["rx"], "A RabbitMQ exchange.", ExchangeSpec, [
    { name: "Exchange", type: "string", jsonPath: ".spec.name", description: "Name in RabbitMQ." },
    { name: "Type", type: "string", jsonPath: ".spec.type", description: "Exchange type." },
    { name: "Vhost", type: "string", jsonPath: ".spec.vhost", description: "Virtual host.", priority: 1 },
  ]),
  topologyKind("Binding", ["rb"], "A RabbitMQ binding from an exchange to a queue or exchange.", BindingSpec, [
    { name: "Source", type: "string", jsonPath: ".spec.source", description: "Source exchange." },
    { name: "Destination", type: "string", jsonPath: ".spec.destination", description: "Destination queue or exchange." },
    { name: "Key", type: "string", jsonPath: ".spec.routingKey", description: "Routing key.", priority: 1 },
  ]),
  topologyKind("Policy", ["rp"], "A RabbitMQ policy.", PolicySpec, [
    { name: "Policy", type: "string", jsonPath: ".spec.name", description: "Name in RabbitMQ." },
    { name: "Pattern", type: "string", jsonPath: ".spec.pattern", description: "Name pattern." },
    { name: "Vhost", type: "string", jsonPath: ".spec.vhost", description: "Virtual host.", priority: 1 },
  ]),
];

export const ALL_KINDS: KindDefinition[] = [RABBIT_CLUSTER, ...TOPOLOGY_KINDS];
