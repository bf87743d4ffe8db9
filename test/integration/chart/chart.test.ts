// The Helm chart: lint, render, and a server-side dry run of what it renders against a real API
// server, in both RBAC modes (all namespaces with a ClusterRole; listed namespaces with Roles).
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { CommandError, run } from "../../../dev/exec.js";
import { HELM, HELM_KUBE_VERSION, ensureTool } from "../../../dev/go-tools.js";
import { apply, createNamespace, installCrds, kubeClients, kubectl, type KubeClients } from "../../../dev/kube.js";
import { REPO_ROOT } from "../../../dev/paths.js";

const chart = join(REPO_ROOT, "charts", "rabbit-operator");
let helm: string;
let clients: KubeClients;
const namespaces: { name: string; remove(): Promise<void> }[] = [];

beforeAll(async () => {
  helm = await ensureTool(HELM);
  clients = kubeClients(inject("kubeconfig"));
  await installCrds(clients);
});

afterAll(async () => {
  for (const ns of namespaces) await ns.remove();
});

async function render(namespace: string, set: string[] = []): Promise<KubernetesObject[]> {
  const { stdout } = await run(helm, [
    "template",
    "rabbit-operator",
    chart,
    "--namespace",
    namespace,
    "--kube-version",
    HELM_KUBE_VERSION,
    ...set.flatMap((s) => ["--set", s]),
  ]);
  return parseAllDocuments(stdout)
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((doc): doc is KubernetesObject => doc !== null);
}

describe("charts/rabbit-operator", () => {
  it("passes helm lint", async () => {
    const { stdout } = await run(helm, ["lint", chart, "--strict", "--kube-version", HELM_KUBE_VERSION]);
    expect(stdout).toContain("0 chart(s) failed");
  });

  it("renders manifests the API server accepts, with a ClusterRole for all namespaces", async () => {
    const ns = await createNamespace(clients, "chart");
    namespaces.push(ns);
    const objects = await render(ns.name);
    expect(objects.map((o) => o.kind).sort()).toEqual(["ClusterRole", "ClusterRoleBinding", "Deployment", "Role", "RoleBinding", "Service", "ServiceAccount"]);
    for (const object of objects) await apply(clients, object, { dryRun: true });
  });

  it("renders a Role per watched namespace instead of a ClusterRole", async () => {
    const [home, a, b] = [await createNamespace(clients, "chart"), await createNamespace(clients, "team-a"), await createNamespace(clients, "team-b")];
    namespaces.push(home, a, b);
    const objects = await render(home.name, [`watchNamespaces={${a.name},${b.name}}`]);
    expect(objects.filter((o) => o.kind === "ClusterRole")).toEqual([]);
    expect(
      objects
        .filter((o) => o.kind === "Role")
        .map((o) => o.metadata?.namespace)
        .sort(),
    ).toEqual([home.name, a.name, b.name].sort());
    const deployment = objects.find((o) => o.kind === "Deployment") as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
    expect(deployment.spec.template.spec.containers[0]!.args).toContain(`--namespaces=${a.name},${b.name}`);
    for (const object of objects) await apply(clients, object, { dryRun: true });
  });

  it("refuses more than one replica without leader election: two operators at once undo each other's work", async () => {
    const ns = "chart-replicas";
    const failure = await render(ns, ["replicaCount=2", "leaderElection.enabled=false"]).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(CommandError);
    expect((failure as CommandError).stderr).toContain("replicaCount 2 needs leaderElection.enabled=true or sharding.shards > 0");
    // One replica without a Lease, and several with one, are both fine.
    expect((await render(ns, ["leaderElection.enabled=false"])).some((o) => o.kind === "Deployment")).toBe(true);
    expect((await render(ns, ["replicaCount=2"])).some((o) => o.kind === "Deployment")).toBe(true);
  });

  it("with sharding, runs every replica on its shards instead of electing a leader, and lets them manage their Leases in the release's namespace only", async () => {
    const ns = await createNamespace(clients, "chart-shards");
    namespaces.push(ns);
    const objects = await render(ns.name, ["replicaCount=3", "leaderElection.enabled=false", "sharding.shards=12"]);
    const deployment = objects.find((o) => o.kind === "Deployment") as { spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } } };
    expect(deployment.spec.replicas).toBe(3);
    const args = deployment.spec.template.spec.containers[0]!.args;
    expect(args).toContain("--shards=12");
    expect(args).toContain("--leader-elect=false");
    // Sharding replaces the election even where leaderElection.enabled is left at its default.
    expect((await render(ns.name, ["sharding.shards=12"])).find((o) => o.kind === "Deployment")).toMatchObject({
      spec: { template: { spec: { containers: [{ args: expect.arrayContaining(["--leader-elect=false", "--shards=12"]) as unknown }] } } },
    });
    const leaseRoles = objects.filter((o) => o.kind === "Role") as (KubernetesObject & { rules: { resources: string[]; verbs: string[] }[] })[];
    const leaseRules = leaseRoles.flatMap((role) =>
      role.rules.filter((rule) => rule.resources.includes("leases")).map((rule) => ({ namespace: role.metadata?.namespace, ...rule })),
    );
    expect(leaseRules).toEqual([
      { namespace: ns.name, apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create", "list", "get", "update", "delete"] },
    ]);
    for (const object of objects) await apply(clients, object, { dryRun: true });
  });

  it("grants the operator exactly what its code uses, as kubectl auth can-i --list shows", async () => {
    const ns = await createNamespace(clients, "chart-rbac");
    namespaces.push(ns);
    for (const object of await render(ns.name, [`fullnameOverride=rbac-${ns.name}`])) await apply(clients, object);
    // `can-i` prints yes or no and exits 1 for no; any other failure is an error of the test.
    const can = async (verb: string, resource: string, ...extra: string[]): Promise<boolean> => {
      try {
        await kubectl(clients, ["auth", "can-i", verb, resource, "-n", ns.name, `--as=system:serviceaccount:${ns.name}:rbac-${ns.name}`, ...extra]);
        return true;
      } catch (error) {
        if (error instanceof CommandError && error.stdout.trim() === "no") return false;
        throw error;
      }
    };
    // Everything the operator's ServiceAccount may do, as the API server itself lists it: exactly
    // what the code uses (see managerRules), nothing more. Self-reviews and discovery URLs are
    // everyone's.
    const listed = await kubectl(clients, ["auth", "can-i", "--list", "-n", ns.name, `--as=system:serviceaccount:${ns.name}:rbac-${ns.name}`]);
    const rows = listed
      .split("\n")
      .slice(1)
      .filter((line) => line.trim() !== "" && !line.startsWith(" ") && !line.startsWith("self"))
      .map((line) => line.trim().split(/\s{2,}/))
      .map(([resource, , names, verbs]) => `${resource}${names === "[]" ? "" : ` ${names}`}: ${verbs}`)
      .sort();
    expect(rows).toEqual(
      [
        "bindings.rabbit.operator.dev: [get list watch patch]",
        "bindings.rabbit.operator.dev/status: [patch]",
        "configmaps: [get list watch create patch]",
        "events: [create patch]",
        "events.events.k8s.io: [create patch]",
        "exchanges.rabbit.operator.dev: [get list watch patch]",
        "exchanges.rabbit.operator.dev/status: [patch]",
        "leases.coordination.k8s.io: [create]",
        `leases.coordination.k8s.io [rbac-${ns.name}]: [get update patch]`,
        "permissions.rabbit.operator.dev: [get list watch patch]",
        "permissions.rabbit.operator.dev/status: [patch]",
        "persistentvolumeclaims: [get list watch delete]",
        "poddisruptionbudgets.policy: [get list watch create patch]",
        "pods: [get list watch delete]",
        "pods/exec: [get create]",
        "pods/log: [get]",
        "policies.rabbit.operator.dev: [get list watch patch]",
        "policies.rabbit.operator.dev/status: [patch]",
        "queues.rabbit.operator.dev: [get list watch patch]",
        "queues.rabbit.operator.dev/status: [patch]",
        "rabbitclusters.rabbit.operator.dev: [get list watch patch]",
        "rabbitclusters.rabbit.operator.dev/finalizers: [update]",
        "rabbitclusters.rabbit.operator.dev/status: [patch]",
        "secrets: [get list watch create patch]",
        "serviceaccounts: [get list watch create patch]",
        "services: [get list watch create patch]",
        "statefulsets.apps: [get list watch create patch]",
        "users.rabbit.operator.dev: [get list watch patch]",
        "users.rabbit.operator.dev/finalizers: [update]",
        "users.rabbit.operator.dev/status: [patch]",
        "vhosts.rabbit.operator.dev: [get list watch patch]",
        "vhosts.rabbit.operator.dev/status: [patch]",
      ].sort(),
    );
    // Spot checks through the authorizer itself.
    expect(await can("get", "pods", "--subresource=exec")).toBe(true);
    expect(await can("create", "pods")).toBe(false);
    expect(await can("delete", "secrets")).toBe(false);
    expect(await can("delete", "nodes")).toBe(false);
    expect(await can("delete", "rabbitclusters.rabbit.operator.dev")).toBe(false);
    await kubectl(clients, ["delete", "clusterrole,clusterrolebinding", `rbac-${ns.name}`]);
  });
});
