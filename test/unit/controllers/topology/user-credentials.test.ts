// A User's credentials: the Secret built for it, the password check against RabbitMQ's hashes,
// and where the username comes from.
import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { Problem } from "../../../../operator/controllers/topology/adapter.js";
import { buildCredentialsSecret, newPassword, passwordMatchesHash, resolveUsername } from "../../../../operator/controllers/topology/kinds/user-credentials.js";
import { user } from "./fixtures.js";

const secrets = (stored: Record<string, Record<string, string>>) => ({
  secret: (_namespace: string, name: string): V1Secret | undefined =>
    stored[name] ? { data: Object.fromEntries(Object.entries(stored[name]!).map(([key, value]) => [key, Buffer.from(value).toString("base64")])) } : undefined,
});

describe("passwordMatchesHash", () => {
  // Worked examples of RabbitMQ's scheme, base64(salt ++ H(salt ++ password)), checked with Python's hashlib.
  it("checks sha256 (RabbitMQ's default), sha512 and md5 hashes", () => {
    expect(passwordMatchesHash("test12", "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR", "rabbit_password_hashing_sha256")).toBe(true);
    expect(passwordMatchesHash("test13", "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR", "rabbit_password_hashing_sha256")).toBe(false);
    expect(passwordMatchesHash("simon", "ytUIm8s3AnKsXQjptplKFytfVxI=", "rabbit_password_hashing_md5")).toBe(true);
    const sha512 = "AQIDBFX7b5898G6MIFbTNk/v0gVfH38vNlUz8970Zz/KAf5H6OYNQIf1/lXcUWP716GWSO88NEHvdaUXlQA5nLUddAU=";
    expect(passwordMatchesHash("pässword", sha512, "rabbit_password_hashing_sha512")).toBe(true);
  });

  it("never matches an empty hash (no password login) or an unknown algorithm: the password is set again", () => {
    expect(passwordMatchesHash("", "", "rabbit_password_hashing_sha256")).toBe(false);
    expect(passwordMatchesHash("test12", "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR", "some_plugin_hashing")).toBe(false);
  });
});

describe("buildCredentialsSecret", () => {
  it("is owned by the User, labelled as ours, and holds username and password", () => {
    const alice = user({});
    expect(buildCredentialsSecret(alice, { username: "alice", password: "pw" })).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "alice-user-credentials",
        namespace: "messaging",
        labels: { "app.kubernetes.io/managed-by": "rabbit-operator", "app.kubernetes.io/component": "user-credentials", "rabbit.operator.dev/user": "alice" },
        ownerReferences: [
          { apiVersion: "rabbit.operator.dev/v1alpha1", kind: "User", name: "alice", uid: alice.metadata.uid, controller: true, blockOwnerDeletion: true },
        ],
      },
      type: "Opaque",
      data: { username: Buffer.from("alice").toString("base64"), password: Buffer.from("pw").toString("base64") },
    });
  });

  it("generates 32 random characters safe in URIs", () => {
    const passwords = new Set(Array.from({ length: 20 }, newPassword));
    expect(passwords.size).toBe(20);
    for (const password of passwords) expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
  });
});

describe("resolveUsername", () => {
  it("keeps the declared name, then spec.username, then the imported Secret's, then metadata.name", () => {
    expect(resolveUsername({ ...user({ username: "new" }), status: { username: "declared" } }, secrets({}))).toBe("declared");
    expect(resolveUsername(user({ username: "spec-name" }), secrets({}))).toBe("spec-name");
    expect(resolveUsername(user({ importCredentialsSecret: { name: "login" } }), secrets({ login: { username: "imported", password: "x" } }))).toBe("imported");
    expect(resolveUsername(user({ importCredentialsSecret: { name: "login" } }), secrets({ login: { password: "x" } }))).toBe("alice");
    expect(resolveUsername(user({}), secrets({}))).toBe("alice");
  });

  it("cannot know the name while the imported Secret is missing", () => {
    expect(resolveUsername(user({ importCredentialsSecret: { name: "login" } }), secrets({}))).toEqual(
      new Problem("CredentialsSecretNotFound", "Secret messaging/login (importCredentialsSecret) does not exist"),
    );
  });
});
