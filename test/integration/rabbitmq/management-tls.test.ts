// The management API client over HTTPS against a real node serving its API with TLS: a server
// certificate is verified against the CA the connection names (never skipped), and every way
// verification can fail is an error that says why, not an answer.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManagementClient } from "../../../operator/rabbitmq/management.js";
import { freePort } from "../../../dev/ports.js";
import { makeCertificateAuthority, type CertificateAuthority } from "../../../dev/tls.js";
import { useRabbitCluster } from "../../harness/rabbitmq/use-rabbit-cluster.js";
import { managementFailure } from "../../support/management-errors.js";

describe("management API client over HTTPS", () => {
  let dir: string;
  let ca: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let port: number;
  // Filled before the cluster starts (useRabbitCluster reads its options in its own beforeAll, registered after this one).
  const options = { name: "mgmt-tls", disc: 1, additionalConfig: "" };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rabbit-operator-mgmt-tls-"));
    ca = await makeCertificateAuthority(join(dir, "ca"), "test-ca");
    otherCa = await makeCertificateAuthority(join(dir, "other"), "other-ca");
    // The name the clients use (127.0.0.1) and a name they do not (localhost only) in two certificates.
    const server = await ca.issue("server", ["IP:127.0.0.1", "DNS:localhost"]);
    port = await freePort();
    options.additionalConfig = [
      `management.ssl.port = ${port}`,
      `management.ssl.certfile = ${server.cert}`,
      `management.ssl.keyfile = ${server.key}`,
      `management.ssl.cacertfile = ${ca.cert}`,
    ].join("\n");
  }, 60_000);

  const rabbit = useRabbitCluster(options);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const client = (url: string, caPem?: string) =>
    new ManagementClient(
      { url, username: rabbit.admin.username, password: rabbit.admin.password, ...(caPem ? { ca: caPem } : {}) },
      { retry: { maxAttempts: 1 } },
    );

  it("answers over https when the server's certificate chains to the CA the connection names and covers the host", async () => {
    const overview = await client(`https://127.0.0.1:${port}`, ca.certPem).overview();
    expect(overview.rabbitmqVersion).toMatch(/^\d+\.\d+\.\d+/);
    // The same pool serves another client trusting the same CA.
    expect((await client(`https://127.0.0.1:${port}`, ca.certPem).listNodes()).length).toBe(1);
  });

  it("refuses a certificate of another CA, and one the system's CAs do not know when the connection names none", async () => {
    const wrongCa = await managementFailure(client(`https://127.0.0.1:${port}`, otherCa.certPem).overview());
    expect(wrongCa.kind).toBe("network");
    expect(wrongCa.reason).toMatch(/self[- ]signed certificate in certificate chain|unable to verify|unable to get local issuer/i);
    const noCa = await managementFailure(client(`https://127.0.0.1:${port}`).overview());
    expect(noCa.reason).toMatch(/self[- ]signed certificate in certificate chain|unable to verify|unable to get local issuer/i);
  });

  it("refuses a certificate that does not name the host the client connects to", async () => {
    // 127.0.0.2 reaches the same listener (all of 127/8 is loopback) but is not in the certificate.
    const mismatch = await managementFailure(client(`https://127.0.0.2:${port}`, ca.certPem).overview());
    expect(mismatch.reason).toMatch(/altnames|does not match|Hostname\/IP/i);
  });

  it("sends nothing in plaintext to the TLS port: an http client gets no answer from it", async () => {
    const plain = await managementFailure(client(`http://127.0.0.1:${port}`).overview());
    expect(plain.status).toBeUndefined();
  });
});
