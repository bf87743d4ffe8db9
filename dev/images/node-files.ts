// The files that make a Debian root filesystem a kind node on this kind of machine: our own
// entrypoint (kind's node contract), systemd units, containerd 1.6 config, a bridge CNI for one
// node, and local-path storage as the default StorageClass. Kept as text here so that a change
// shows up in review and in the image's input hash.

/** Where the node keeps the resolv.conf it gives kubelet (see the entrypoint's DNS step). */
export const KUBELET_RESOLV_CONF = "/kind/kubelet-resolv.conf";
export const POD_SUBNET = "10.244.0.0/16";

/**
 * Picks the iptables backend that works with this kernel, preferring nf_tables. The node and the
 * kube-proxy image run the same probe, so both always program the same backend.
 */
export const SELECT_IPTABLES = `select_iptables() {
  local mode=legacy
  if iptables-nft -w 5 -t filter -S >/dev/null 2>&1 && ip6tables-nft -w 5 -t filter -S >/dev/null 2>&1; then
    mode=nft
  fi
  update-alternatives --quiet --set iptables "/usr/sbin/iptables-$mode"
  update-alternatives --quiet --set ip6tables "/usr/sbin/ip6tables-$mode"
  echo "$mode"
}`;

/**
 * PID 1 of the node container until it execs systemd. What kind expects of a node before
 * systemd starts (see kind's images/base for the contract this meets):
 * - /sys read-only for systemd, / shared for mount propagation;
 * - on cgroup v1 (private cgroupns), the /kubelet and /kubelet.slice cgroups present in every
 *   hierarchy, held by bind mounts so that systemd does not clean them away;
 * - a machine-id and a product_uuid of its own, product_name "kind";
 * - one iptables backend chosen for the node and kube-proxy;
 * - the line "detected cgroup v1" in its log, which kind's podman provider waits for.
 * And what this machine needs on top:
 * - DNS kept inside: the node resolves nothing (127.0.0.1, where nothing listens), and kubelet
 *   gives pods that use the node's DNS (CoreDNS's upstream) the node's own address in the kind
 *   network, where nothing listens on port 53 either: a query is refused at once and goes
 *   nowhere else. A loopback nameserver there would trip CoreDNS's loop check.
 * - kubelet sets some sysctls when it finds other values (vm.overcommit_memory, kernel.panic,
 *   ...). They are not namespaced: the write would change the host's kernel. Show kubelet the
 *   values it wants instead, in files bind-mounted over them.
 */
export const ENTRYPOINT = `#!/bin/bash
# Entrypoint of the rabbit-operator kind node image (dev/images/node-files.ts).
set -o errexit -o nounset -o pipefail

say() { echo "node-entrypoint: $*" >&2; }

prepare_mounts() {
  mount -o remount,ro /sys
  mount --make-rshared /
}

hide_misc_cgroup() {
  # runc on cgroup v1 does not know the misc controller; systemd would mount it again from
  # /proc/cgroups, so show it a copy without misc until it has started (undone by
  # kind-undo-cgroup-hack.service).
  if mountpoint -q /sys/fs/cgroup/misc; then
    umount /sys/fs/cgroup/misc && rmdir /sys/fs/cgroup/misc || say "could not remove the misc cgroup"
    grep -v misc /proc/cgroups >/kind/cgroups-without-misc
    mount --bind /kind/cgroups-without-misc /proc/cgroups
  fi
}

prepare_cgroups() {
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    say "cgroup v2: kubelet's cgroups come from systemd"
    return
  fi
  say "detected cgroup v1"
  local own
  own=$(grep -E '^[0-9]+:([^:]*,)?cpu(,[^:]*)?:' /proc/self/cgroup | cut -d: -f3)
  if [[ "$own" != "/" ]]; then
    say "cgroup v1 without a private cgroup namespace is not supported (podman --cgroupns=private)"
    exit 1
  fi
  hide_misc_cgroup
  mount --make-rprivate /sys/fs/cgroup
  local hierarchy group
  for hierarchy in $(findmnt -rn -t cgroup -o TARGET); do
    for group in kubelet kubelet.slice; do
      mkdir -p "$hierarchy/$group"
      if [[ -f "$hierarchy/cpuset.cpus" ]]; then
        # A cpuset cgroup without cpus and mems refuses every process.
        cat "$hierarchy/cpuset.cpus" >"$hierarchy/$group/cpuset.cpus"
        cat "$hierarchy/cpuset.mems" >"$hierarchy/$group/cpuset.mems"
      fi
      mount --bind "$hierarchy/$group" "$hierarchy/$group"
    done
  done
}

new_identity() {
  rm -f /etc/machine-id
  systemd-machine-id-setup >/dev/null
  echo kind >/kind/product_name
  [[ -f /kind/product_uuid ]] || cat /proc/sys/kernel/random/uuid >/kind/product_uuid
  [[ -f /sys/class/dmi/id/product_name ]] && mount -o ro,bind /kind/product_name /sys/class/dmi/id/product_name
  local file
  for file in /sys/class/dmi/id/product_uuid /sys/devices/virtual/dmi/id/product_uuid; do
    [[ -f "$file" ]] && mount -o ro,bind /kind/product_uuid "$file"
  done
  return 0
}

${SELECT_IPTABLES}

contain_dns() {
  local dev addr
  dev=$(ip -4 route show default | awk '{print $5; exit}')
  addr=$(ip -4 -o addr show dev "$dev" | awk '{split($4, a, "/"); print a[1]; exit}')
  echo "nameserver $addr" >${KUBELET_RESOLV_CONF}
  echo "nameserver 127.0.0.1" >/etc/resolv.conf
  say "node DNS 127.0.0.1, pod upstream DNS $addr:53 (nothing listens on either)"
}

fake_kernel_tunables() {
  mkdir -p /kind/sysctl
  local entry path want
  for entry in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \\
      kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
    path=\${entry%=*}
    want=\${entry#*=}
    [[ "$(cat "/proc/sys/$path")" == "$want" ]] && continue
    echo "$want" >"/kind/sysctl/\${path//\\//.}"
    mount -o ro,bind "/kind/sysctl/\${path//\\//.}" "/proc/sys/$path"
  done
}

mkdir -p /kind
prepare_mounts
prepare_cgroups
new_identity
say "iptables backend: $(select_iptables)"
contain_dns
fake_kernel_tunables
say "starting $*"
exec "$@"
`;

/** kube-proxy's image runs this in front of the binary, so that it uses the node's backend. */
export const KUBE_PROXY_WRAPPER = `#!/bin/bash
set -o errexit -o nounset -o pipefail
${SELECT_IPTABLES}
select_iptables >/dev/null
exec /usr/local/lib/kube-proxy/kube-proxy "$@"
`;

/**
 * containerd 1.6 (config version 2). restrict_oom_score_adj: nothing here may lower an OOM score
 * (no CAP_SYS_RESOURCE). kind reads `snapshotter` from this file when it loads images, so it is
 * set explicitly.
 */
export const CONTAINERD_CONFIG = `version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10.1"
  tolerate_missing_hugepages_controller = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    discard_unpacked_layers = true
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    # Debian installs the CNI plugins here, not in /opt/cni/bin.
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
`;

/** Debian's unit asks for unlimited rlimits and a negative OOM score; neither can be had here. */
export const CONTAINERD_SERVICE = `[Unit]
Description=containerd container runtime
After=network.target local-fs.target
StartLimitIntervalSec=0

[Service]
ExecStart=/usr/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=1
TasksMax=infinity

[Install]
WantedBy=multi-user.target
`;

export const KUBELET_SERVICE = `[Unit]
Description=kubelet: the Kubernetes node agent
# kubeadm writes this file; until then there is nothing to run.
ConditionPathExists=/var/lib/kubelet/config.yaml

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=1s
CPUAccounting=true
MemoryAccounting=true
Slice=kubelet.slice
KillMode=process

[Install]
WantedBy=multi-user.target
`;

/** The flags kubeadm's files hand kubelet (kubeadm's usual drop-in). */
export const KUBELET_KUBEADM_DROPIN = `[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`;

export const KUBELET_DEFAULTS = "KUBELET_EXTRA_ARGS=--runtime-cgroups=/system.slice/containerd.service\n";

export const KUBELET_SLICE = `[Unit]
Description=slice of kubelet and the pods it runs
Before=slices.target

[Slice]
MemoryAccounting=true
CPUAccounting=true
`;

/** Gives systemd the real /proc/cgroups back once it has started (see hide_misc_cgroup). */
export const UNDO_CGROUP_HACK_SERVICE = `[Unit]
Description=Undo the entrypoint's /proc/cgroups bind mount
After=slices.target
Before=containerd.service kubelet.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'if mountpoint -q /proc/cgroups; then umount /proc/cgroups; fi'

[Install]
WantedBy=multi-user.target
`;

export const JOURNALD_CONF = `[Journal]
# The kernel log belongs to the host.
ReadKMsg=no
Storage=volatile
`;

/** Units that have no place in a node container. */
export const MASKED_UNITS = [
  "getty.target",
  "console-getty.service",
  "systemd-udevd.service",
  "systemd-udev-trigger.service",
  "systemd-modules-load.service",
  "systemd-remount-fs.service",
  "apt-daily.timer",
  "apt-daily-upgrade.timer",
  "dpkg-db-backup.timer",
  "e2scrub_all.timer",
  "fstrim.timer",
  "e2scrub_reap.service",
  "systemd-logind.service",
  "systemd-pstore.service",
];

export const CRICTL_CONFIG = "runtime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\n";

/**
 * One node needs no overlay network: a bridge with host-local addresses, NAT for what leaves the
 * node (the egress fence on the host decides what may leave the machine), port mappings.
 */
export const CNI_CONFLIST = JSON.stringify(
  {
    cniVersion: "0.4.0",
    name: "kind-bridge",
    plugins: [
      {
        type: "bridge",
        bridge: "cni0",
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: "host-local", ranges: [[{ subnet: POD_SUBNET }]], routes: [{ dst: "0.0.0.0/0" }] },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  },
  null,
  2,
);

/**
 * kind applies /kind/manifests/default-storage.yaml at cluster creation: local-path-provisioner
 * (dynamic hostPath volumes under /var/local-path-provisioner) as the default StorageClass
 * "standard", kind's usual name.
 */
export function defaultStorageManifest(images: { provisioner: string; helper: string }): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: local-path-storage
---
apiVersion: v1
kind: ServiceAccount
metadata:
  # The provisioner's default name for the account its helper pods run as.
  name: local-path-provisioner-service-account
  namespace: local-path-storage
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: local-path-provisioner
  namespace: local-path-storage
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: local-path-provisioner
  namespace: local-path-storage
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: local-path-provisioner
subjects:
  - kind: ServiceAccount
    name: local-path-provisioner-service-account
    namespace: local-path-storage
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: local-path-provisioner
rules:
  - apiGroups: [""]
    resources: ["nodes", "persistentvolumeclaims", "configmaps", "pods", "pods/log"]
    verbs: ["get", "list", "watch"]
  - apiGroups: [""]
    resources: ["persistentvolumes"]
    verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
  - apiGroups: [""]
    resources: ["events"]
    verbs: ["create", "patch"]
  - apiGroups: ["storage.k8s.io"]
    resources: ["storageclasses"]
    verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: local-path-provisioner
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: local-path-provisioner
subjects:
  - kind: ServiceAccount
    name: local-path-provisioner-service-account
    namespace: local-path-storage
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-path-config
  namespace: local-path-storage
data:
  config.json: |-
    {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": ["/var/local-path-provisioner"]}]}
  setup: |-
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "$VOL_DIR"
  teardown: |-
    #!/bin/sh
    set -eu
    rm -rf "$VOL_DIR"
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata:
      name: helper-pod
    spec:
      priorityClassName: system-node-critical
      tolerations:
        - key: node.kubernetes.io/disk-pressure
          operator: Exists
          effect: NoSchedule
      containers:
        - name: helper-pod
          image: ${images.helper}
          imagePullPolicy: IfNotPresent
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: local-path-provisioner
  namespace: local-path-storage
spec:
  replicas: 1
  selector:
    matchLabels:
      app: local-path-provisioner
  template:
    metadata:
      labels:
        app: local-path-provisioner
    spec:
      serviceAccountName: local-path-provisioner-service-account
      priorityClassName: system-node-critical
      tolerations:
        - key: node-role.kubernetes.io/control-plane
          operator: Exists
          effect: NoSchedule
      containers:
        - name: local-path-provisioner
          image: ${images.provisioner}
          imagePullPolicy: IfNotPresent
          command:
            - local-path-provisioner
            - start
            - --config=/etc/config/config.json
            - --helper-image=${images.helper}
          env:
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            - name: CONFIG_MOUNT_PATH
              value: /etc/config/
          volumeMounts:
            - name: config
              mountPath: /etc/config/
      volumes:
        - name: config
          configMap:
            name: local-path-config
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
`;
}
