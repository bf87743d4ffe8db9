// Permission: a user's configure/write/read patterns in a vhost. The user is named directly or by
// a User object in the same namespace, whose RabbitMQ name is then used.
import { TOPOLOGY_KINDS, type Permission, type PermissionSpec } from "../../../api/index.js";
import type { PermissionInfo } from "../../../rabbitmq/management.js";
import { Problem, type TopologyAdapter, type TopologyLookups, type TopologyRef } from "../adapter.js";
import { ABSENT, fieldDifferences } from "./common.js";
import { resolveUsername } from "./user-credentials.js";

export interface DesiredPermission {
  vhost: string;
  user: string;
  configure: string;
  write: string;
  read: string;
}

export function desiredPermission(spec: PermissionSpec, user: string): DesiredPermission {
  return { vhost: spec.vhost, user, configure: spec.permissions.configure, write: spec.permissions.write, read: spec.permissions.read };
}

export function permissionDifferences(desired: DesiredPermission, observed: PermissionInfo | undefined): string[] {
  if (!observed) return [ABSENT];
  return fieldDifferences([
    ["configure", observed.configure, desired.configure],
    ["write", observed.write, desired.write],
    ["read", observed.read, desired.read],
  ]);
}

/** The RabbitMQ user the permission is for. */
export function permissionUser(permission: Permission, lookups: TopologyLookups): string | Problem {
  if (permission.spec.user) return permission.spec.user;
  const reference = permission.spec.userReference;
  if (!reference) return new Problem("InvalidSpec", "exactly one of user or userReference must be set");
  const namespace = permission.metadata.namespace ?? "";
  const user = lookups.user(namespace, reference.name);
  if (!user) return new Problem("UserNotFound", `User ${namespace}/${reference.name} (userReference) does not exist`);
  return resolveUsername(user, lookups);
}

export const permissionAdapter: TopologyAdapter<Permission, DesiredPermission, PermissionInfo> = {
  definition: TOPOLOGY_KINDS.find((kind) => kind.kind === "Permission")!,
  listings: ["permissions"],
  prepare(permission, context) {
    const user = permissionUser(permission, context.lookups);
    return user instanceof Problem ? user : desiredPermission(permission.spec, user);
  },
  describe: (desired) => `permissions of user ${JSON.stringify(desired.user)} in vhost ${JSON.stringify(desired.vhost)}`,
  observe: (client, desired) => client.getPermission(desired.vhost, desired.user),
  observeInSnapshot: (snapshot, desired) => snapshot.permission(desired.vhost, desired.user),
  differences: permissionDifferences,
  async declare(client, desired) {
    await client.putPermission(desired.vhost, desired.user, { configure: desired.configure, write: desired.write, read: desired.read });
  },
  async delete(client, desired) {
    await client.deletePermission(desired.vhost, desired.user);
  },
  statusFields: (permission, desired) => {
    const username = desired?.user ?? permission.status?.username;
    return username ? { username } : {};
  },
  deletionOrder: {
    waitsFor: (permission) => [{ type: "vhost", vhost: permission.spec.vhost }],
    // Deleting permissions and users needs no access to the vhost, only the administrator tag.
    dependentKinds: ["Queue", "Exchange", "Binding", "Policy"],
    because: "they are the operator's own access to the vhost, without which it cannot delete them",
    applies: (desired, operatorUsername) => desired.user === operatorUsername,
  },
  needs(permission) {
    const refs: TopologyRef[] = [{ type: "vhost", vhost: permission.spec.vhost }];
    if (permission.spec.user) refs.push({ type: "user", name: permission.spec.user });
    if (permission.spec.userReference)
      refs.push({ type: "userObject", namespace: permission.metadata.namespace ?? "", name: permission.spec.userReference.name });
    return refs;
  },
  provides: () => [],
};
