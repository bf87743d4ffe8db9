// The RabbitMQ image: Debian bookworm's rabbitmq-server (3.10.8 on Erlang 25), laid out like the
// official image so that the operator's StatefulSets work with either: user and group 999,
// /etc/rabbitmq (conf.d), /var/lib/rabbitmq as HOME, logs to stdout, `rabbitmq-server` as CMD.
// No Erlang cookie and no Mnesia directory are baked in: a node gets both at run time.
import { chmod, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../exec.js";
import { ensureArchiveImage, type ArchiveImage } from "./archive-image.js";
import { fromDebianRootfs, renumberUser } from "./debian-image.js";
import { rootfsKey } from "./rootfs.js";
import { RABBITMQ_ROOTFS } from "./rootfs-specs.js";

export const RABBITMQ_VERSION = "3.10.8";
export const RABBITMQ_IMAGE = process.env.RABBIT_OPERATOR_RABBITMQ_IMAGE ?? `localhost/rabbit-operator/rabbitmq:${RABBITMQ_VERSION}`;
export const RABBITMQ_UID = 999;

const RECIPE = 1;

/** What the official image puts in conf.d; the operator mounts its own conf.d over it. */
const DEFAULTS_CONF = `loopback_users.guest = false
listeners.tcp.default = 5672
management.tcp.port = 15672
log.console = true
log.console.level = info
log.file = false
`;

export function ensureRabbitmqImage(): Promise<ArchiveImage> {
  return ensureArchiveImage({
    name: "rabbitmq",
    ref: RABBITMQ_IMAGE,
    inputs: { recipe: RECIPE, rootfs: rootfsKey(RABBITMQ_ROOTFS), defaults: DEFAULTS_CONF },
    build: buildRabbitmqRootfs,
  });
}

async function buildRabbitmqRootfs(rootfs: string) {
  await fromDebianRootfs(RABBITMQ_ROOTFS, rootfs);
  const installed = (await readdir(join(rootfs, "usr/lib/rabbitmq/lib"))).find((dir) => dir.startsWith("rabbitmq_server-"));
  if (installed !== `rabbitmq_server-${RABBITMQ_VERSION}`)
    throw new Error(`expected rabbitmq_server-${RABBITMQ_VERSION} in the Debian rootfs, found ${installed}`);

  await renumberUser(rootfs, "rabbitmq", RABBITMQ_UID);
  // The package's postinst may have made a cookie and a database; each node makes its own.
  await rm(join(rootfs, "var/lib/rabbitmq/.erlang.cookie"), { force: true });
  await rm(join(rootfs, "var/lib/rabbitmq/mnesia"), { recursive: true, force: true });
  await mkdir(join(rootfs, "etc/rabbitmq/conf.d"), { recursive: true });
  await writeFile(join(rootfs, "etc/rabbitmq/conf.d/10-defaults.conf"), DEFAULTS_CONF);
  for (const dir of ["etc/rabbitmq", "var/lib/rabbitmq", "var/log/rabbitmq"]) {
    await mkdir(join(rootfs, dir), { recursive: true });
    await run("chown", ["-R", `${RABBITMQ_UID}:${RABBITMQ_UID}`, join(rootfs, dir)]);
    await chmod(join(rootfs, dir), 0o755);
  }

  // Debian's /usr/sbin/rabbitmq* wrappers switch user and log to files; the scripts of the
  // release itself run as whoever calls them. They source rabbitmq-env from their own
  // directory, so the directory goes on PATH (a symlink elsewhere would not work).
  const sbin = `/usr/lib/rabbitmq/lib/rabbitmq_server-${RABBITMQ_VERSION}/sbin`;
  return {
    env: [`PATH=${sbin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, "HOME=/var/lib/rabbitmq", "LANG=C.UTF-8", "LC_ALL=C.UTF-8"],
    user: `${RABBITMQ_UID}:${RABBITMQ_UID}`,
    workingDir: "/var/lib/rabbitmq",
    cmd: ["rabbitmq-server"],
    exposedPorts: ["4369/tcp", "5671/tcp", "5672/tcp", "15671/tcp", "15672/tcp", "15692/tcp", "25672/tcp"],
    volumes: ["/var/lib/rabbitmq"],
  };
}
