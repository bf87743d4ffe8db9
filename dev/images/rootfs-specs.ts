// The Debian root filesystems the images start from. One place, so that the cache key of each is
// the same wherever it is used.
import type { RootfsSpec } from "./rootfs.js";

/** The kind node: systemd, containerd 1.6 with runc and the CNI plugins, and the tools kubelet, kubeadm and kind call. */
export const NODE_ROOTFS: RootfsSpec = {
  name: "kind-node",
  include: [
    "systemd",
    "systemd-sysv",
    "containerd",
    "runc",
    "containernetworking-plugins",
    "iptables",
    "conntrack",
    "ebtables",
    "ethtool",
    "socat",
    "iproute2",
    "kmod",
    "util-linux",
    "mount",
    "procps",
    "ca-certificates",
  ],
};

/** kube-proxy programs iptables: it needs the iptables tools next to its static binary. */
export const KUBE_PROXY_ROOTFS: RootfsSpec = { name: "kube-proxy", include: ["iptables", "conntrack"] };

/** RabbitMQ from Debian, with what the official image also has (ps, CA certificates, /etc/services). */
export const RABBITMQ_ROOTFS: RootfsSpec = { name: "rabbitmq", include: ["rabbitmq-server", "procps", "ca-certificates", "netbase"] };

/** The operator: glibc and libstdc++ for the Node.js binary; minbase has both. */
export const OPERATOR_ROOTFS: RootfsSpec = { name: "operator", include: [] };
