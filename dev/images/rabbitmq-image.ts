// The RabbitMQ images: Debian's rabbitmq-server, laid out like the official image so that the
// operator's StatefulSets work with either: user and group 999, /etc/rabbitmq (conf.d),
// /var/lib/rabbitmq as HOME, logs to stdout, `rabbitmq-server` as CMD. Two releases: 3.10.8 on
// Erlang 25 (Debian 12) and 4.0.5 on Erlang 27 (Debian 13). No Erlang cookie and no Mnesia
// directory are baked in: a node gets both at run time.
import { chmod, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../exec.js";
import { ensureArchiveImage, type ArchiveImage } from "./archive-image.js";
import { fromDebianRootfs, renumberUser } from "./debian-image.js";
import { rootfsKey, type RootfsSpec } from "./rootfs.js";
import { RABBITMQ_ROOTFS } from "./rootfs-specs.js";

export interface RabbitmqRelease {
  /** As RabbitMQ reports it, and the image's tag. */
  version: string;
  rootfs: RootfsSpec;
  /** Names the cached archive (the 3.10 one keeps the name it always had). */
  recipeName: string;
}

export const RABBITMQ_RELEASES = {
  "3.10": { version: "3.10.8", rootfs: RABBITMQ_ROOTFS, recipeName: "rabbitmq" },
  "4.0": { version: "4.0.5", rootfs: { ...RABBITMQ_ROOTFS, name: "rabbitmq-4.0", suite: "trixie" }, recipeName: "rabbitmq-4.0" },
} as const satisfies Record<string, RabbitmqRelease>;
export type RabbitmqSeries = keyof typeof RABBITMQ_RELEASES;

/** The release the e2e tier and `cluster:up` run: 3.10 unless RABBIT_OPERATOR_RABBITMQ_SERIES names another. */
export const RABBITMQ_SERIES = rabbitmqSeries(process.env.RABBIT_OPERATOR_RABBITMQ_SERIES ?? "3.10");
export const RABBITMQ_VERSION = RABBITMQ_RELEASES[RABBITMQ_SERIES].version;
/** RABBIT_OPERATOR_RABBITMQ_IMAGE names an image made elsewhere (a Docker machine's own build, say). */
export const RABBITMQ_IMAGE = process.env.RABBIT_OPERATOR_RABBITMQ_IMAGE ?? rabbitmqImageRef(RABBITMQ_SERIES);
export const RABBITMQ_UID = 999;

function rabbitmqSeries(value: string): RabbitmqSeries {
  if (value in RABBITMQ_RELEASES) return value as RabbitmqSeries;
  throw new Error(`RABBIT_OPERATOR_RABBITMQ_SERIES=${value}: one of ${Object.keys(RABBITMQ_RELEASES).join(", ")}`);
}

const RECIPE = 2;

export function rabbitmqImageRef(series: RabbitmqSeries): string {
  return `localhost/rabbit-operator/rabbitmq:${RABBITMQ_RELEASES[series].version}`;
}

/** What the official image puts in conf.d; the operator mounts its own conf.d over it. */
const DEFAULTS_CONF = `loopback_users.guest = false
listeners.tcp.default = 5672
management.tcp.port = 15672
log.console = true
log.console.level = info
log.file = false
`;

export function ensureRabbitmqImage(series: RabbitmqSeries = RABBITMQ_SERIES): Promise<ArchiveImage> {
  const release: RabbitmqRelease = RABBITMQ_RELEASES[series];
  return ensureArchiveImage({
    name: release.recipeName,
    ref: series === RABBITMQ_SERIES ? RABBITMQ_IMAGE : rabbitmqImageRef(series),
    inputs: { recipe: RECIPE, rootfs: rootfsKey(release.rootfs), defaults: DEFAULTS_CONF },
    build: (rootfs) => buildRabbitmqRootfs(release, rootfs),
  });
}

async function buildRabbitmqRootfs(release: RabbitmqRelease, rootfs: string) {
  await fromDebianRootfs(release.rootfs, rootfs);
  const installed = (await readdir(join(rootfs, "usr/lib/rabbitmq/lib"))).find((dir) => dir.startsWith("rabbitmq_server-"));
  if (installed !== `rabbitmq_server-${release.version}`)
    throw new Error(`expected rabbitmq_server-${release.version} in the Debian rootfs, found ${installed}`);

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
  // directory, so the directory goes on PATH (a symlink elsewhere would not work). The wrappers
  // also tell the CLI where the plugins are, which 4.0's CLI cannot find by itself
  // (`rabbitmq-plugins list`: plugins_dir_does_not_exist); the server finds them either way.
  const home = `/usr/lib/rabbitmq/lib/rabbitmq_server-${release.version}`;
  return {
    env: [
      `PATH=${home}/sbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      `RABBITMQ_PLUGINS_DIR=${home}/plugins`,
      "HOME=/var/lib/rabbitmq",
      "LANG=C.UTF-8",
      "LC_ALL=C.UTF-8",
    ],
    user: `${RABBITMQ_UID}:${RABBITMQ_UID}`,
    workingDir: "/var/lib/rabbitmq",
    cmd: ["rabbitmq-server"],
    exposedPorts: ["4369/tcp", "5671/tcp", "5672/tcp", "15671/tcp", "15672/tcp", "15692/tcp", "25672/tcp"],
    volumes: ["/var/lib/rabbitmq"],
  };
}
