// Where the local RabbitMQ nodes' programs come from, by series (RABBIT_OPERATOR_RABBITMQ_SERIES,
// as for the images). 3.10 is Debian 12's package, installed on this machine. 4.0 is Debian 13's,
// whose Erlang needs Debian 13's C library: its programs run chrooted into the cached Debian 13
// root filesystem its image is made from, each in a mount namespace of its own that sees this
// machine's /proc, /dev and the directory tree the nodes' files are in. Nothing is mounted where
// the machine sees it, the cached tree is not written to, and the namespace goes with the process
// (whose pid stays the one started: unshare, sh and chroot each exec the next).
import { isAbsolute } from "node:path";
import { ensureDebianPackages } from "./debian.js";
import { RABBITMQ_RELEASES, RABBITMQ_SERIES, type RabbitmqSeries } from "./images/rabbitmq-image.js";
import { ensureRootfs } from "./images/rootfs.js";

/** Debian's package puts RabbitMQ's own scripts here; as root, the /usr/sbin wrappers would switch to the rabbitmq user. */
const RABBITMQ_BIN = "/usr/lib/rabbitmq/bin";

export interface RabbitmqInstall {
  readonly series: RabbitmqSeries;
  /** The version its package has, e.g. 4.0.5. */
  readonly version: string;
  /** The command line that runs one of RabbitMQ's programs (rabbitmq-server, rabbitmqctl, ...). */
  command(program: string, args: string[]): { file: string; args: string[] };
  /** Environment the programs need besides the nodes' own. */
  readonly env: Readonly<Record<string, string>>;
}

const CHROOT_SCRIPT = [
  "set -e",
  'root="$1"; files="$2"; shift 2',
  'mount --bind "$files" "$root$files"',
  'mount -t proc proc "$root/proc"',
  'mount --rbind /dev "$root/dev"',
  'exec chroot "$root" "$@"',
].join("\n");

/**
 * The install of a series; `filesUnder` is the directory every path given to the programs lies
 * under (the run directory), which a chrooted install must see at the same path.
 */
export async function rabbitmqInstall(filesUnder: string, series: RabbitmqSeries = RABBITMQ_SERIES): Promise<RabbitmqInstall> {
  const release = RABBITMQ_RELEASES[series];
  if (series === "3.10") {
    await ensureDebianPackages(["rabbitmq-server"]);
    return { series, version: release.version, command: (program, args) => ({ file: `${RABBITMQ_BIN}/${program}`, args }), env: {} };
  }
  const root = await ensureRootfs(release.rootfs);
  // The top directory of the files (/root, /tmp) exists in every Debian root filesystem: a mount point without writing to the tree.
  const top = isAbsolute(filesUnder) ? `/${filesUnder.split("/")[1]}` : undefined;
  if (!top || top === "/")
    throw new Error(`RabbitMQ ${release.version} runs chrooted and needs the nodes' files under a top-level directory, not ${filesUnder}`);
  return {
    series,
    version: release.version,
    // 4.0's CLI does not find the plugins by itself (rabbitmq-plugins: plugins_dir_does_not_exist), as in its image.
    env: { RABBITMQ_PLUGINS_DIR: `/usr/lib/rabbitmq/lib/rabbitmq_server-${release.version}/plugins` },
    command: (program, args) => ({
      file: "unshare",
      args: ["--mount", "--propagation", "private", "sh", "-c", CHROOT_SCRIPT, "rabbitmq-chroot", root, top, `${RABBITMQ_BIN}/${program}`, ...args],
    }),
  };
}
