// Host preparation for kind on podman, idempotent and run before every cluster start: podman
// settings that fit this machine (rlimits, runtime), /lib/modules for kind's bind mount, the
// `kind` network made the way kind makes it, and the egress fence that keeps every packet of a
// cluster on this machine. The fence is checked, not assumed: fenceStatus() reads the rules back.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { ensureDebianPackages } from "./debian.js";
import { CommandError, run } from "./exec.js";

export const KIND_NETWORK = "kind";
export const CONTAINERS_CONF = "/etc/containers/containers.conf";
/** Marks our rules, so that they can be found, checked and told apart from podman's. */
export const FENCE_COMMENT = "rabbit-operator egress fence";
/** podman refuses an nproc limit above this one here. */
const NPROC_LIMIT = 32768;

export interface KindNetwork {
  name: string;
  /** The network's bridge interface on the host. */
  bridge: string;
  ipv4: { subnet: string; gateway: string };
  ipv6?: { subnet: string; gateway: string };
}

export async function prepareHost(): Promise<KindNetwork> {
  await ensureDebianPackages(["podman", "runc", "iptables"]);
  await ensurePodmanConfig();
  await mkdir("/lib/modules", { recursive: true });
  const network = await ensureKindNetwork();
  await applyEgressFence(network);
  return network;
}

// ---- podman settings ---------------------------------------------------------------------------

/** The hard limit on open files this process may use: podman cannot give containers more. */
async function hardNofile(): Promise<number> {
  const limits = await readFile("/proc/self/limits", "utf8");
  const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(limits)?.[1];
  return hard === undefined || hard === "unlimited" ? 1_048_576 : Math.min(Number(hard), 1_048_576);
}

/** Sets `key = value` in a [section] of a TOML file's text, keeping every other line. */
export function setTomlKey(text: string, section: string, key: string, value: string): string {
  const line = `${key} = ${value}`;
  const lines = text.split("\n");
  const header = lines.findIndex((l) => l.trim() === `[${section}]`);
  if (header < 0) return [...(text.trim() ? [text.trimEnd(), ""] : []), `[${section}]`, line, ""].join("\n");
  const next = lines.findIndex((l, i) => i > header && /^\s*\[/.test(l));
  const end = next < 0 ? lines.length : next;
  const existing = lines.findIndex((l, i) => i > header && i < end && new RegExp(`^\\s*${key}\\s*=`).test(l));
  if (existing >= 0) lines[existing] = line;
  else lines.splice(header + 1, 0, line);
  return lines.join("\n");
}

/**
 * podman's defaults do not fit this machine:
 * - its default rlimits for containers are above what may be set without CAP_SYS_RESOURCE, and a
 *   privileged container then fails to start: `[containers] default_ulimits`;
 * - on cgroup v1 (hybrid, a controller on the unified hierarchy), crun refuses a private cgroup
 *   namespace ("cgroups in hybrid mode not supported"), which kind's nodes need; runc works:
 *   `[engine] runtime = "runc"`.
 */
export async function ensurePodmanConfig(): Promise<void> {
  const nofile = await hardNofile();
  const current = existsSync(CONTAINERS_CONF) ? await readFile(CONTAINERS_CONF, "utf8") : "";
  let next = setTomlKey(current, "containers", "default_ulimits", `["nofile=${nofile}:${nofile}", "nproc=${NPROC_LIMIT}:${NPROC_LIMIT}"]`);
  if (!existsSync("/sys/fs/cgroup/cgroup.controllers")) next = setTomlKey(next, "engine", "runtime", '"runc"');
  if (next === current) return;
  await mkdir("/etc/containers", { recursive: true });
  await writeFile(CONTAINERS_CONF, next);
}

// ---- the kind network --------------------------------------------------------------------------

/**
 * The IPv6 ULA subnet kind's podman provider derives from the network name: fc00::/8, bytes 2..7
 * from sha1(name ‖ attempt as little-endian int32), /64. Attempts > 0 when a subnet is taken.
 */
export function kindUlaSubnet(name: string, attempt: number): string {
  const attemptBytes = Buffer.alloc(4);
  attemptBytes.writeInt32LE(attempt);
  const digest = createHash("sha1").update(name).update(attemptBytes).digest();
  const bytes = Buffer.alloc(8);
  bytes[0] = 0xfc;
  bytes[1] = 0x00;
  digest.copy(bytes, 2, 2, 8);
  const groups = [0, 2, 4, 6].map((i) => bytes.readUInt16BE(i).toString(16));
  return `${groups.join(":")}::/64`;
}

interface PodmanNetworkJson {
  name: string;
  network_interface?: string;
  subnets?: { subnet: string; gateway: string }[];
}

export async function inspectKindNetwork(): Promise<KindNetwork | undefined> {
  let stdout: string;
  try {
    ({ stdout } = await run("podman", ["network", "inspect", KIND_NETWORK]));
  } catch {
    return undefined;
  }
  const [network] = JSON.parse(stdout) as PodmanNetworkJson[];
  const subnets = network?.subnets ?? [];
  const ipv4 = subnets.find((s) => !s.subnet.includes(":"));
  const ipv6 = subnets.find((s) => s.subnet.includes(":"));
  if (!network || !ipv4) throw new Error(`podman network ${KIND_NETWORK} has no IPv4 subnet: ${stdout}`);
  return { name: network.name, bridge: network.network_interface ?? "", ipv4, ...(ipv6 ? { ipv6 } : {}) };
}

/** Creates the network as kind would (`podman network create -d=bridge --ipv6 --subnet <ULA>`), unless it exists. */
export async function ensureKindNetwork(): Promise<KindNetwork> {
  const existing = await inspectKindNetwork();
  if (existing) return existing;
  const create = (args: string[]) => run("podman", ["network", "create", "-d=bridge", ...args, KIND_NETWORK]);
  const taken = (error: unknown) =>
    error instanceof CommandError && /already used on the host|being used by a network interface|already being used by a cni configuration/.test(error.message);
  let created = false;
  for (let attempt = 0; attempt < 5 && !created; attempt++) {
    try {
      await create(["--ipv6", "--subnet", kindUlaSubnet(KIND_NETWORK, attempt)]);
      created = true;
    } catch (error) {
      if (error instanceof CommandError && /unknown flag: --ipv6|is ipv6 enabled in the kernel/.test(error.message)) {
        await create([]);
        created = true;
      } else if (!taken(error)) {
        throw error;
      }
    }
  }
  const network = await inspectKindNetwork();
  if (!created || !network) throw new Error(`could not create podman network ${KIND_NETWORK}: every kind subnet is taken`);
  return network;
}

// ---- the egress fence --------------------------------------------------------------------------

interface FenceRule {
  tool: "iptables" | "ip6tables";
  chain: "FORWARD" | "INPUT";
  spec: string[];
  /** What the rule stops, for messages. */
  purpose: string;
}

/**
 * Forwarding out of the kind network is rejected: a node, and a pod behind the node's NAT, can
 * reach the other containers of the network and the host, nothing beyond. DNS queries to the
 * host (podman's DNS server on the gateway forwards them to the host's resolver, off the machine)
 * are rejected as well; the nodes' own DNS is kept inside by the node image.
 */
export function fenceRules(network: KindNetwork): FenceRule[] {
  const comment = ["-m", "comment", "--comment", FENCE_COMMENT];
  const rules: FenceRule[] = [];
  for (const [tool, net] of [
    ["iptables", network.ipv4],
    ["ip6tables", network.ipv6],
  ] as const) {
    if (!net) continue;
    rules.push({
      tool,
      chain: "FORWARD",
      spec: ["-s", net.subnet, "!", "-d", net.subnet, ...comment, "-j", "REJECT"],
      purpose: `forwarding from ${net.subnet} to anywhere else`,
    });
    for (const proto of ["udp", "tcp"]) {
      rules.push({
        tool,
        chain: "INPUT",
        spec: ["-s", net.subnet, "-p", proto, "--dport", "53", ...comment, "-j", "REJECT"],
        purpose: `DNS over ${proto} from ${net.subnet} to the host`,
      });
    }
  }
  return rules;
}

export interface FenceStatus {
  ok: boolean;
  /** One line per rule that is absent or has another rule ahead of it. */
  missing: string[];
}

const iptables = (tool: FenceRule["tool"], args: string[]) => run(tool, ["-w", "10", ...args]);

/** Rules of a chain as `iptables -S` prints them, without the policy line. */
async function chainRules(tool: FenceRule["tool"], chain: string): Promise<string[]> {
  const { stdout } = await iptables(tool, ["-S", chain]);
  return stdout.split("\n").filter((line) => line.startsWith("-A "));
}

/** Reads the rules back: each fence rule present, and ahead of every rule that is not ours. */
export async function fenceStatus(network?: KindNetwork): Promise<FenceStatus> {
  const net = network ?? (await inspectKindNetwork());
  if (!net) return { ok: false, missing: [`podman network ${KIND_NETWORK} does not exist, so nothing fences it`] };
  const missing: string[] = [];
  for (const rule of fenceRules(net)) {
    const describe = `${rule.tool} ${rule.chain} ${rule.spec.join(" ")} (${rule.purpose})`;
    const present = await iptables(rule.tool, ["-C", rule.chain, ...rule.spec]).then(
      () => true,
      () => false,
    );
    if (!present) {
      missing.push(`missing: ${describe}`);
      continue;
    }
    const rules = await chainRules(rule.tool, rule.chain);
    const firstForeign = rules.findIndex((line) => !line.includes(FENCE_COMMENT));
    const lastOurs = rules.findLastIndex((line) => line.includes(FENCE_COMMENT));
    if (firstForeign >= 0 && firstForeign < lastOurs)
      missing.push(`not first in ${rule.chain}: ${describe} (another rule comes before it: ${rules[firstForeign]})`);
  }
  return { ok: missing.length === 0, missing };
}

/**
 * Puts every fence rule at the head of its chain, again when something was inserted before it.
 * A rule that moves is first inserted at the head and only then removed further down, so that
 * the fence never has a gap.
 */
export async function applyEgressFence(network: KindNetwork): Promise<void> {
  if ((await fenceStatus(network)).ok) return;
  for (const rule of fenceRules(network)) {
    await iptables(rule.tool, ["-I", rule.chain, "1", ...rule.spec]);
    const rules = await chainRules(rule.tool, rule.chain);
    for (let i = rules.length - 1; i > 0; i--) {
      if (rules[i] === rules[0]) await iptables(rule.tool, ["-D", rule.chain, String(i + 1)]);
    }
  }
  const status = await fenceStatus(network);
  if (!status.ok) throw new Error(`the egress fence could not be put in place:\n${status.missing.join("\n")}`);
}

/** Throws, naming each missing rule, unless the fence is in place. */
export async function assertFenced(network?: KindNetwork): Promise<void> {
  const status = await fenceStatus(network);
  if (!status.ok) {
    throw new Error(
      `refusing to run a cluster: the egress fence is not in place (nothing a cluster does may leave this machine):\n${status.missing.join("\n")}`,
    );
  }
}
