// Certificates for a local control plane, made with openssl: a CA, the API server's serving
// certificate, an admin client certificate in system:masters, and the service-account key pair.
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "./exec.js";

export interface ControlPlanePki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

const openssl = (args: string[], cwd: string) => run("openssl", args, { cwd, timeoutMs: 60_000 });

export async function ensurePki(dir: string): Promise<ControlPlanePki> {
  await mkdir(dir, { recursive: true });
  const pki: ControlPlanePki = {
    dir,
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    serverCert: join(dir, "apiserver.crt"),
    serverKey: join(dir, "apiserver.key"),
    adminCert: join(dir, "admin.crt"),
    adminKey: join(dir, "admin.key"),
    serviceAccountKey: join(dir, "sa.key"),
    serviceAccountPub: join(dir, "sa.pub"),
  };
  if (existsSync(pki.serviceAccountPub)) return pki;

  await openssl(
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", pki.caKey, "-out", pki.caCert, "-days", "3650", "-subj", "/CN=rabbit-operator-test-ca"],
    dir,
  );
  await writeFile(
    join(dir, "apiserver.ext"),
    "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n",
  );
  await signed(dir, "apiserver", "/CN=kube-apiserver", "apiserver.ext");
  await writeFile(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  await signed(dir, "admin", "/O=system:masters/CN=admin", "client.ext");
  await openssl(["genrsa", "-out", pki.serviceAccountKey, "2048"], dir);
  await openssl(["rsa", "-in", pki.serviceAccountKey, "-pubout", "-out", pki.serviceAccountPub], dir);
  return pki;
}

async function signed(dir: string, name: string, subject: string, extFile: string) {
  await openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
  await openssl(
    ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "3650", "-extfile", extFile],
    dir,
  );
}
