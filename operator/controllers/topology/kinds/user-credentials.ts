// A User's credentials: the `<name>-user-credentials` Secret (built here, pure), the checks of a
// password against the hash RabbitMQ reports, and where the username comes from.
import { createHash } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import type { User } from "../../../api/index.js";
import { MANAGED_BY, credentialsSecretName, ownerReference } from "../../../resources/names.js";
import { base64Values, secretValue } from "../../../resources/secrets.js";
import { randomToken } from "../../../resources/context.js";
import { Problem, type TopologyLookups } from "../adapter.js";

export interface UserCredentials {
  username: string;
  password: string;
}

export const USER_LABEL = "rabbit.operator.dev/user";

/** 32 characters over [a-zA-Z0-9]: ~190 bits, safe in URIs and shells. */
export function newPassword(): string {
  return randomToken(32);
}

/** The Secret applications read the user's credentials from; owned by the User, so it goes with it. */
export function buildCredentialsSecret(user: User, credentials: UserCredentials): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: credentialsSecretName(user),
      namespace: user.metadata.namespace,
      labels: { "app.kubernetes.io/managed-by": MANAGED_BY, "app.kubernetes.io/component": "user-credentials", [USER_LABEL]: user.metadata.name },
      ownerReferences: [ownerReference(user)],
    },
    type: "Opaque",
    data: base64Values({ username: credentials.username, password: credentials.password }),
  };
}

const HASHES: Record<string, string> = {
  rabbit_password_hashing_sha256: "sha256",
  rabbit_password_hashing_sha512: "sha512",
  rabbit_password_hashing_md5: "md5",
};

/**
 * Whether RabbitMQ's stored hash is of this password. RabbitMQ stores base64(salt ++
 * H(salt ++ utf8(password))) with a 4-byte salt and H named by the hashing algorithm
 * (https://www.rabbitmq.com/docs/passwords#computing-password-hash). An empty hash (a user that
 * cannot log in with a password) or an unknown algorithm never matches: the password is set again.
 */
export function passwordMatchesHash(password: string, passwordHash: string, hashingAlgorithm: string): boolean {
  const algorithm = HASHES[hashingAlgorithm || "rabbit_password_hashing_sha256"];
  if (!algorithm || passwordHash === "") return false;
  const stored = Buffer.from(passwordHash, "base64");
  if (stored.length <= 4) return false;
  const salt = stored.subarray(0, 4);
  const digest = createHash(algorithm).update(salt).update(Buffer.from(password, "utf8")).digest();
  return digest.equals(stored.subarray(4));
}

/**
 * The user's name in RabbitMQ: the one it was declared with (status), else spec.username, else
 * the imported Secret's `username`, else metadata.name. Once declared it never changes: renaming
 * would leave the old user behind.
 */
export function resolveUsername(user: User, lookups: Pick<TopologyLookups, "secret">): string | Problem {
  const declared = user.status?.username;
  if (declared) return declared;
  if (user.spec.username) return user.spec.username;
  const imported = user.spec.importCredentialsSecret;
  if (imported) {
    const secret = lookups.secret(user.metadata.namespace ?? "", imported.name);
    if (!secret) return missingImport(user);
    return secretValue(secret, "username") ?? user.metadata.name;
  }
  return user.metadata.name;
}

export function missingImport(user: User): Problem {
  return new Problem(
    "CredentialsSecretNotFound",
    `Secret ${user.metadata.namespace}/${user.spec.importCredentialsSecret?.name} (importCredentialsSecret) does not exist`,
  );
}
