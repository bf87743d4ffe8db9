// manage: the management UI through a port-forward, until Ctrl-C; secrets: the default user's
// credentials and connection string.
import { clusterNames } from "../../operator/resources/names.js";
import { PORTS } from "../../operator/rabbitmq/ports.js";
import { secretValue } from "../../operator/resources/secrets.js";
import { readyPod, requireCluster } from "../access.js";
import { PluginError } from "../errors.js";
import { serialize } from "../output.js";
import { forwardPort, type LocalForward } from "../port-forward.js";
import type { Session } from "../session.js";

export async function manage(session: Session, name: string, options: { port?: number; address?: string; showPassword?: boolean }): Promise<void> {
  const { kube } = session;
  const cluster = await requireCluster(kube, kube.namespace, name);
  const credentials = await defaultUser(session, name);
  const pod = (await readyPod(kube, cluster)).metadata!.name!;
  // A forward to a pod that went away (a roll, a reschedule) serves nothing: stop and say so.
  let failed: (failure: PluginError) => void = () => undefined;
  const forwardFailed = new Promise<PluginError>((resolve) => (failed = resolve));
  const forward = await listen(session, pod, { ...options, onFailure: (failure) => failed(failure) });
  try {
    const host = forward.address.includes(":") ? `[${forward.address}]` : forward.address;
    const url = `http://${host}:${forward.port}/`;
    const login = options.showPassword
      ? `Log in as ${credentials.username} with password ${credentials.password}`
      : `Log in as ${credentials.username}; the password is in Secret ${credentials.secret} (kubectl rabbit secrets ${name} -n ${kube.namespace}, or run again with --show-password)`;
    if (!isLoopback(forward.address))
      session.stderr.write(`warning: the management UI is reachable from the network on ${forward.address}, not only from this machine\n`);
    session.stdout.write(`Management UI of RabbitCluster ${kube.namespace}/${name} (through pod ${pod}): ${url}\n${login}\nForwarding until Ctrl-C.\n`);
    const failure = await Promise.race([session.interrupted.then(() => undefined), forwardFailed]);
    if (failure)
      throw new PluginError(failure.message, `${failure.hint ? `${failure.hint}; ` : ""}run kubectl rabbit manage ${name} again to forward to a Ready node`);
  } finally {
    await forward.close();
  }
}

function isLoopback(address: string): boolean {
  return address === "::1" || address === "localhost" || address.startsWith("127.");
}

/** The port asked for; without --port, 15672 if free, else any free one. */
async function listen(
  session: Session,
  pod: string,
  options: { port?: number; address?: string; onFailure: (failure: PluginError) => void },
): Promise<LocalForward> {
  const open = (localPort: number) =>
    forwardPort(session.kube.kubeConfig, session.kube.namespace, pod, PORTS.management, { localPort, address: options.address, onFailure: options.onFailure });
  if (options.port !== undefined) return open(options.port);
  return open(PORTS.management).catch(() => open(0));
}

export interface DefaultUser {
  secret: string;
  username: string;
  password: string;
  connectionString?: string;
}

export async function defaultUser(session: Session, name: string): Promise<DefaultUser> {
  const { kube } = session;
  const cluster = await requireCluster(kube, kube.namespace, name);
  const reference = cluster.status?.defaultUser?.secretReference ?? { namespace: kube.namespace, name: clusterNames(cluster).defaultUser };
  const secret = await kube.getSecret(reference.namespace, reference.name);
  const username = secretValue(secret, "username");
  const password = secretValue(secret, "password");
  if (!username || !password) {
    throw new PluginError(
      `RabbitCluster ${kube.namespace}/${name} has no default user yet (Secret ${reference.namespace}/${reference.name})`,
      `kubectl rabbit status ${name} -n ${kube.namespace}`,
    );
  }
  return { secret: `${reference.namespace}/${reference.name}`, username, password, connectionString: secretValue(secret, "connection_string") };
}

export async function secrets(session: Session, name: string): Promise<void> {
  const user = await defaultUser(session, name);
  if (session.format !== "table") {
    session.stdout.write(serialize(user, session.format));
    return;
  }
  const lines = [`secret: ${user.secret}`, `username: ${user.username}`, `password: ${user.password}`];
  if (user.connectionString) lines.push(`connection string: ${user.connectionString}`);
  session.stdout.write(`${lines.join("\n")}\n`);
}
