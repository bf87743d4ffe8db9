import { describe, expect, it } from "vitest";
import type { V1ConfigMap, V1StatefulSet } from "@kubernetes/client-node";
import { buildChildren, serverConfigHash, CONFIG_HASH_ANNOTATION } from "../../../operator/resources/index.js";
import { buildStatefulSet } from "../../../operator/resources/stateful-set.js";
import { buildServerConfigMap } from "../../../operator/resources/server-config.js";
import { PEERS_KEY, isSeedingPeers } from "../../../operator/resources/rabbitmq-config.js";
import { cluster, context, fullCluster } from "../fixtures.js";

const container = (sts: V1StatefulSet, name = "rabbitmq") => sts.spec!.template.spec!.containers.find((c) => c.name === name)!;
const env = (sts: V1StatefulSet, name: string) => container(sts).env!.find((e) => e.name === name);
const confD = (sts: V1StatefulSet) => sts.spec!.template.spec!.volumes!.find((v) => v.name === "conf-d")!.projected!.sources!;

describe("StatefulSets of disc and ram nodes", () => {
  it("has one StatefulSet per node type with the requested replicas", () => {
    const c = cluster({ nodes: { disc: 3, ram: 2 } });
    expect(buildStatefulSet(c, "disc", context).spec!.replicas).toBe(3);
    expect(buildStatefulSet(c, "ram", context).spec!.replicas).toBe(2);
    expect(buildStatefulSet(c, "ram", context).metadata!.name).toBe("demo-ram");
  });

  it("mounts the node type's own conf.d file, and shares everything else", () => {
    const c = cluster({ nodes: { disc: 3, ram: 2 } });
    const disc = buildStatefulSet(c, "disc", context);
    const ram = buildStatefulSet(c, "ram", context);
    const nodeTypeItem = (sts: V1StatefulSet) =>
      confD(sts)
        .flatMap((source) => source.configMap?.items ?? [])
        .find((item) => item.path === "20-node-type.conf")!.key;
    expect(nodeTypeItem(disc)).toBe("node-type-disc.conf");
    expect(nodeTypeItem(ram)).toBe("node-type-ram.conf");
    const config = buildServerConfigMap(c, context).data!;
    expect(config["node-type-ram.conf"]).toBe("cluster_formation.node_type = ram\n");
    // Same headless Service, cookie and cluster-wide config: one cluster, not two.
    expect(disc.spec!.serviceName).toBe(ram.spec!.serviceName);
    expect(disc.spec!.template.metadata!.annotations).toEqual(ram.spec!.template.metadata!.annotations);
    expect(env(ram, "NODE_TYPE")!.value).toBe("ram");
  });

  it("names nodes by their stable DNS name under the headless Service", () => {
    const sts = buildStatefulSet(cluster(), "disc", context);
    expect(env(sts, "RABBITMQ_NODENAME")!.value).toBe("rabbit@$(MY_POD_NAME).$(K8S_SERVICE_NAME).$(MY_POD_NAMESPACE).svc.cluster.local");
    expect(env(sts, "K8S_SERVICE_NAME")!.value).toBe("demo-nodes");
    expect(env(sts, "RABBITMQ_USE_LONGNAME")!.value).toBe("true");
  });

  it("seeds joining nodes from the disc nodes only", () => {
    const peers = buildServerConfigMap(cluster({ nodes: { disc: 2, ram: 3 } }), context).data!["peers.conf"]!;
    const seeds = peers.split("\n").filter((line) => line.startsWith("cluster_formation.classic_config.nodes."));
    expect(seeds).toEqual([
      "cluster_formation.classic_config.nodes.1 = rabbit@demo-disc-0.demo-nodes.messaging.svc.cluster.local",
      "cluster_formation.classic_config.nodes.2 = rabbit@demo-disc-1.demo-nodes.messaging.svc.cluster.local",
    ]);
  });

  it("names only the first disc node while a new cluster is first formed, marked so that the operator recognizes it", () => {
    const c = cluster({ nodes: { disc: 3, ram: 2 } });
    const seeding = buildServerConfigMap(c, { ...context, seeding: true }).data![PEERS_KEY]!;
    expect(seeding.split("\n").filter((line) => line.startsWith("cluster_formation."))).toEqual([
      "cluster_formation.classic_config.nodes.1 = rabbit@demo-disc-0.demo-nodes.messaging.svc.cluster.local",
    ]);
    expect(isSeedingPeers(seeding)).toBe(true);
    const formed = buildServerConfigMap(c, context).data![PEERS_KEY]!;
    expect(isSeedingPeers(formed)).toBe(false);
    expect(formed.split("\n").filter((line) => line.startsWith("cluster_formation."))).toHaveLength(3);
    // The seeds are read at boot only: switching them restarts nothing.
    expect(buildStatefulSet(c, "disc", { ...context, seeding: true })).toEqual(buildStatefulSet(c, "disc", context));
  });

  it("rolls the pods on a configuration change but not on scaling", () => {
    const base = cluster({ nodes: { disc: 3, ram: 1 } });
    const hash = serverConfigHash(base);
    expect(serverConfigHash(cluster({ nodes: { disc: 5, ram: 3 } }))).toBe(hash);
    expect(serverConfigHash(cluster({ nodes: { disc: 3, ram: 1 }, rabbitmq: { additionalConfig: "consumer_timeout = 1" } }))).not.toBe(hash);
    expect(serverConfigHash(cluster({ nodes: { disc: 3, ram: 1 }, rabbitmq: { additionalPlugins: ["rabbitmq_shovel"] } }))).not.toBe(hash);
    expect(serverConfigHash(cluster({ nodes: { disc: 3, ram: 1 }, rabbitmq: { advancedConfig: "[]." } }))).not.toBe(hash);
    expect(buildStatefulSet(base, "disc", context).spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION]).toBe(hash);
  });

  it("leaves pod restarts to the operator and keeps volumes of removed nodes until it forgets them", () => {
    const sts = buildStatefulSet(cluster(), "ram", context);
    expect(sts.spec!.updateStrategy).toEqual({ type: "OnDelete" });
    expect(sts.spec!.podManagementPolicy).toBe("Parallel");
    expect(sts.spec!.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
  });

  it("runs as the rabbitmq user without privileges", () => {
    const sts = buildStatefulSet(cluster(), "disc", context);
    expect(sts.spec!.template.spec!.securityContext).toMatchObject({ runAsUser: 999, fsGroup: 999, runAsNonRoot: true });
    for (const c of [...sts.spec!.template.spec!.containers, ...sts.spec!.template.spec!.initContainers!]) {
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    }
  });

  it("applies the override by merging named list items", () => {
    const sts = buildStatefulSet(fullCluster(), "disc", context);
    const names = container(sts).env!.map((e) => e.name);
    expect(names).toContain("EXTRA");
    expect(names).toContain("RABBITMQ_NODENAME");
    expect(sts.spec!.template.spec!.containers).toHaveLength(1);
  });
});

describe("every child", () => {
  it("is owned by the cluster, labelled and namespaced", () => {
    const c = fullCluster();
    for (const child of buildChildren(c, context)) {
      expect(child.metadata!.namespace).toBe("messaging");
      expect(child.metadata!.ownerReferences).toEqual([
        expect.objectContaining({ kind: "RabbitCluster", name: "demo", uid: c.metadata.uid, controller: true }),
      ]);
      expect(child.metadata!.labels).toMatchObject({
        "app.kubernetes.io/name": "rabbitmq",
        "app.kubernetes.io/instance": "demo",
        "app.kubernetes.io/managed-by": "rabbit-operator",
      });
    }
  });

  it("exists before whatever mounts it", () => {
    const kinds = buildChildren(cluster(), context).map((child) => child.kind);
    expect(kinds.indexOf("ConfigMap")).toBeLessThan(kinds.indexOf("StatefulSet"));
    expect(kinds.indexOf("Secret")).toBeLessThan(kinds.indexOf("StatefulSet"));
    expect(kinds.indexOf("ServiceAccount")).toBeLessThan(kinds.indexOf("StatefulSet"));
  });

  it("uses the context's secrets, never new ones", () => {
    const children = buildChildren(cluster(), context);
    const secret = (name: string) => children.find((c) => c.kind === "Secret" && c.metadata!.name === name) as { data: Record<string, string> };
    const decode = (value: string | undefined) => Buffer.from(value ?? "", "base64").toString();
    expect(decode(secret("demo-erlang-cookie").data[".erlang.cookie"])).toBe(context.erlangCookie);
    const user = secret("demo-default-user").data;
    expect(decode(user.username)).toBe("default_user_abc");
    expect(decode(user["default_user.conf"])).toBe("default_user = default_user_abc\ndefault_pass = secret-password\n");
    expect(decode(user.connection_string)).toBe("amqp://default_user_abc:secret-password@demo.messaging.svc.cluster.local:5672/");
  });

  it("ConfigMap is the one the StatefulSets mount", () => {
    const children = buildChildren(cluster(), context);
    const configMap = children.find((c) => c.kind === "ConfigMap") as V1ConfigMap;
    const sts = children.find((c) => c.kind === "StatefulSet") as V1StatefulSet;
    const keys = confD(sts)
      .flatMap((source) => source.configMap?.items ?? [])
      .map((item) => item.key);
    for (const key of keys) expect(Object.keys(configMap.data!)).toContain(key);
  });
});
