// Topology objects as the API server stores them (defaults filled in), for the unit tests.
import type { TSchema } from "@sinclair/typebox";
import {
  API_VERSION,
  BindingSpec,
  ExchangeSpec,
  PermissionSpec,
  PolicySpec,
  QueueSpec,
  UserSpec,
  VhostSpec,
  withDefaults,
  type Binding,
  type Exchange,
  type Permission,
  type Policy,
  type Queue,
  type User,
  type Vhost,
} from "../../../../operator/api/index.js";

const NAMESPACE = "messaging";
let uid = 0;

function stored<T>(kind: string, schema: TSchema, name: string, spec: Record<string, unknown>): T {
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: { name, namespace: NAMESPACE, uid: `00000000-0000-4000-8000-${String(++uid).padStart(12, "0")}`, generation: 1 },
    spec: withDefaults(schema, { rabbitmqClusterReference: { name: "demo" }, ...spec }),
  } as T;
}

export const vhost = (spec: Record<string, unknown>, name = "vh") => stored<Vhost>("Vhost", VhostSpec, name, spec);
export const user = (spec: Record<string, unknown>, name = "alice") => stored<User>("User", UserSpec, name, spec);
export const permission = (spec: Record<string, unknown>, name = "perm") => stored<Permission>("Permission", PermissionSpec, name, spec);
export const queue = (spec: Record<string, unknown>, name = "q") => stored<Queue>("Queue", QueueSpec, name, spec);
export const exchange = (spec: Record<string, unknown>, name = "x") => stored<Exchange>("Exchange", ExchangeSpec, name, spec);
export const binding = (spec: Record<string, unknown>, name = "b") => stored<Binding>("Binding", BindingSpec, name, spec);
export const policy = (spec: Record<string, unknown>, name = "p") => stored<Policy>("Policy", PolicySpec, name, spec);

export { NAMESPACE };
