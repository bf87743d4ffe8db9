// User: tags, limits and a password kept in the `<name>-user-credentials` Secret: generated once
// (crypto-random) or copied from importCredentialsSecret. Changing the password in either Secret
// changes it in RabbitMQ. RabbitMQ reports only a salted hash; it is checked against the password
// we hold, so a password changed behind our back is drift like any other.
import { TOPOLOGY_KINDS, type User, type UserSpec } from "../../../api/index.js";
import { USER_LIMIT_NAMES, type UserInfo, type UserLimits } from "../../../rabbitmq/management.js";
import type { KubeObject } from "../../../runtime/kube-object.js";
import { credentialsSecretName } from "../../../resources/names.js";
import { secretValue } from "../../../resources/secrets.js";
import { readSecret } from "../../../runtime/clients.js";
import { Problem, type PrepareContext, type TopologyAdapter } from "../adapter.js";
import { ABSENT, differs, limitDifferences, sameTags, tagSet } from "./common.js";
import { buildCredentialsSecret, missingImport, newPassword, passwordMatchesHash, resolveUsername, type UserCredentials } from "./user-credentials.js";

export interface DesiredUser {
  username: string;
  /** Empty when only the name is needed (deletion). */
  password: string;
  tags: string[];
  limits: UserLimits;
}

export interface ObservedUser {
  info: UserInfo;
  limits: UserLimits;
}

export function desiredUser(spec: UserSpec, credentials: UserCredentials): DesiredUser {
  const limits: UserLimits = {};
  if (spec.limits?.connections !== undefined) limits["max-connections"] = spec.limits.connections;
  if (spec.limits?.channels !== undefined) limits["max-channels"] = spec.limits.channels;
  return { username: credentials.username, password: credentials.password, tags: tagSet(spec.tags), limits };
}

function accountDifferences(desired: DesiredUser, observed: UserInfo): string[] {
  const differences: string[] = [];
  if (!passwordMatchesHash(desired.password, observed.passwordHash, observed.hashingAlgorithm))
    differences.push("password differs from the credentials Secret");
  if (!sameTags(desired.tags, observed.tags)) differences.push(differs("tags", observed.tags, desired.tags));
  return differences;
}

export function userDifferences(desired: DesiredUser, observed: ObservedUser | undefined): string[] {
  if (!observed) return [ABSENT];
  return [...accountDifferences(desired, observed.info), ...limitDifferences(desired.limits, observed.limits, USER_LIMIT_NAMES)];
}

/**
 * The user's credentials as the Secrets say, writing the credentials Secret in reconcile mode: a
 * generated password is made once and read back ever after; an imported one is copied.
 */
async function credentials(user: User, context: PrepareContext): Promise<UserCredentials | Problem> {
  const namespace = user.metadata.namespace ?? "";
  const username = resolveUsername(user, context.lookups);
  if (username instanceof Problem) return username;
  if (context.mode === "delete") return { username, password: "" };

  const imported = user.spec.importCredentialsSecret;
  let stored = context.lookups.secret(namespace, credentialsSecretName(user));
  let password: string | undefined;
  if (imported) {
    const source = context.lookups.secret(namespace, imported.name);
    if (!source) return missingImport(user);
    password = secretValue(source, "password");
    if (!password) return new Problem("InvalidCredentialsSecret", `Secret ${namespace}/${imported.name} (importCredentialsSecret) has no password`);
  } else {
    password = secretValue(stored, "password");
    if (!password && context.mode === "reconcile") {
      // The cache may lack a Secret written a moment ago: ask the API server before a new
      // password replaces one that applications may already use.
      stored = await readSecret(context.clients!, namespace, credentialsSecretName(user));
      password = secretValue(stored, "password") ?? newPassword();
    }
    if (!password) return new Problem("CredentialsNotReady", `Secret ${namespace}/${credentialsSecretName(user)} has no password yet`);
  }
  const result = { username, password };
  if (context.mode === "reconcile") await context.writer!.apply(buildCredentialsSecret(user, result) as KubeObject, stored as KubeObject | undefined);
  return result;
}

export const userAdapter: TopologyAdapter<User, DesiredUser, ObservedUser> = {
  definition: TOPOLOGY_KINDS.find((kind) => kind.kind === "User")!,
  listings: ["users", "userLimits"],
  async prepare(user, context) {
    const resolved = await credentials(user, context);
    return resolved instanceof Problem ? resolved : desiredUser(user.spec, resolved);
  },
  describe: (desired) => `user ${JSON.stringify(desired.username)}`,
  async observe(client, desired) {
    const info = await client.getUser(desired.username);
    if (!info) return undefined;
    return { info, limits: (await client.getUserLimits(desired.username)) ?? {} };
  },
  observeInSnapshot(snapshot, desired) {
    const info = snapshot.user(desired.username);
    return info ? { info, limits: snapshot.userLimits(desired.username) } : undefined;
  },
  differences: userDifferences,
  async declare(client, desired, observed) {
    if (!observed || accountDifferences(desired, observed.info).length > 0) {
      await client.putUser(desired.username, { password: desired.password, tags: desired.tags });
    }
    const current = observed?.limits ?? {};
    for (const name of USER_LIMIT_NAMES) {
      const value = desired.limits[name];
      if (value === current[name]) continue;
      if (value === undefined) await client.clearUserLimit(desired.username, name);
      else await client.setUserLimit(desired.username, name, value);
    }
  },
  async delete(client, desired) {
    await client.deleteUser(desired.username);
  },
  needs: () => [],
  provides: (user) => {
    const username = user.status?.username ?? user.spec.username;
    return [
      { type: "userObject", namespace: user.metadata.namespace ?? "", name: user.metadata.name },
      ...(username ? [{ type: "user" as const, name: username }] : []),
    ];
  },
  statusFields: (user, desired) => {
    const username = desired?.username ?? user.status?.username;
    return { ...(username ? { username } : {}), credentials: { name: credentialsSecretName(user) } };
  },
  secretsRead: (user) => [credentialsSecretName(user), ...(user.spec.importCredentialsSecret ? [user.spec.importCredentialsSecret.name] : [])],
};
