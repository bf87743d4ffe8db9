import { readFile, writeFile } from "node:fs/promises";
import { stringify } from "yaml";

export interface KubeconfigInput {
  name: string;
  server: string;
  caCert: string;
  clientCert: string;
  clientKey: string;
}

/** Writes a kubeconfig with the certificates embedded, so that it works from any directory. */
export async function writeKubeconfig(path: string, input: KubeconfigInput): Promise<void> {
  const b64 = async (file: string) => (await readFile(file)).toString("base64");
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: input.name, cluster: { server: input.server, "certificate-authority-data": await b64(input.caCert) } }],
    users: [{ name: "admin", user: { "client-certificate-data": await b64(input.clientCert), "client-key-data": await b64(input.clientKey) } }],
    contexts: [{ name: input.name, context: { cluster: input.name, user: "admin" } }],
    "current-context": input.name,
  };
  await writeFile(path, stringify(config), { mode: 0o600 });
}
