// Certificates for TLS tests, made with openssl: a CA, and server certificates it signs for
// the names (DNS or IP) a test needs, PEM text returned with the files' paths.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "./exec.js";

export interface CertificateFiles {
  cert: string;
  key: string;
  /** PEM text of the certificate and its key. */
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthority extends CertificateFiles {
  dir: string;
  /** A server certificate for these subject alternative names ("DNS:host" or "IP:1.2.3.4"), signed by this CA. */
  issue(name: string, altNames: readonly string[], options?: { days?: number }): Promise<CertificateFiles>;
}

const openssl = (args: string[], cwd: string) => run("openssl", args, { cwd, timeoutMs: 60_000 });

async function files(dir: string, name: string): Promise<CertificateFiles> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  return { cert, key, certPem: await readFile(cert, "utf8"), keyPem: await readFile(key, "utf8") };
}

export async function makeCertificateAuthority(dir: string, name: string): Promise<CertificateAuthority> {
  await mkdir(dir, { recursive: true });
  await openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "30", "-subj", `/CN=${name}`], dir);
  const ca = await files(dir, name);
  return {
    ...ca,
    dir,
    async issue(leaf, altNames, options = {}) {
      await writeFile(join(dir, `${leaf}.ext`), `subjectAltName=${altNames.join(",")}\nextendedKeyUsage=serverAuth\n`);
      await openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${leaf}.key`, "-out", `${leaf}.csr`, "-subj", `/CN=${leaf}`], dir);
      await openssl(
        [
          "x509",
          "-req",
          "-in",
          `${leaf}.csr`,
          "-CA",
          `${name}.crt`,
          "-CAkey",
          `${name}.key`,
          "-CAcreateserial",
          "-out",
          `${leaf}.crt`,
          "-days",
          String(options.days ?? 30),
          "-extfile",
          `${leaf}.ext`,
        ],
        dir,
      );
      return files(dir, leaf);
    },
  };
}
