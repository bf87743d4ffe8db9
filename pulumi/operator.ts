// RabbitOperator: installs rabbit-operator into a Kubernetes cluster with Pulumi: the CRDs
// (built by the same function that writes crds/), the operator's namespace, and the Helm chart
// charts/rabbit-operator as a Helm release (RBAC, ServiceAccount, Deployment, metrics Service).
//
// The chart is a helm.v3.Release, one custom resource, rather than helm.v4.Chart, a remote
// component: `dependsOn: [operator]` reaches the children of a local component but stops at a
// remote one, so with Chart v4 nothing would order the operator's Deployment after the topology
// objects on destroy, and the operator could be gone before it removed their finalizers.
import { join } from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ALL_KINDS, buildCrd } from "../operator/api/index.js";
import { PACKAGE } from "./resources.js";

/** The chart in this repository. */
export const CHART_PATH = join(import.meta.dirname, "..", "charts", "rabbit-operator");

export interface RabbitOperatorArgs {
  /** Namespace of the operator's Deployment. Default rabbit-operator. */
  namespace?: pulumi.Input<string>;
  /** Create (and on destroy delete) that namespace. Default true. */
  createNamespace?: boolean;
  /** Helm release name; the chart names its objects after it. Default rabbit-operator. */
  releaseName?: pulumi.Input<string>;
  /** Values for the chart (charts/rabbit-operator/values.yaml): image, watchNamespaces, resources, ... */
  values?: pulumi.Input<Record<string, unknown>>;
  /** Wait until the operator's Deployment is available. Default true. */
  waitForReady?: boolean;
  /**
   * Leave the CRDs in the cluster when this is destroyed (default true). Deleting a CRD deletes
   * every object of its kind in the whole cluster, including those of other stacks and of
   * kubectl users: as with Helm, removing them is a deliberate act (set false, or kubectl delete).
   */
  retainCrds?: boolean;
  /** Another copy of the chart (a packaged .tgz or a directory). Default: charts/rabbit-operator. */
  chart?: pulumi.Input<string>;
}

export class RabbitOperator extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly releaseName: pulumi.Output<string>;
  readonly crdNames: pulumi.Output<string[]>;
  readonly crds: k8s.apiextensions.v1.CustomResourceDefinition[];
  readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: RabbitOperatorArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super(`${PACKAGE}:index:RabbitOperator`, name, {}, opts);
    this.crds = ALL_KINDS.map((kind) => {
      const crd = pulumiCrdArgs(buildCrd(kind));
      return new k8s.apiextensions.v1.CustomResourceDefinition(`${name}-${kind.plural}`, crd, { parent: this, retainOnDelete: args.retainCrds ?? true });
    });
    const namespaceName = args.namespace ?? "rabbit-operator";
    const namespace = args.createNamespace === false ? undefined : new k8s.core.v1.Namespace(name, { metadata: { name: namespaceName } }, { parent: this });
    this.release = new k8s.helm.v3.Release(
      name,
      {
        name: args.releaseName ?? "rabbit-operator",
        chart: args.chart ?? CHART_PATH,
        namespace: namespace ? namespace.metadata.name : namespaceName,
        // The CRDs are ours above: Helm installs crds/ once and never updates it.
        skipCrds: true,
        skipAwait: args.waitForReady === false,
        values: args.values ?? {},
      },
      // The operator's informers fail on kinds the API server does not know yet.
      { parent: this, dependsOn: this.crds },
    );
    this.namespace = this.release.namespace;
    this.releaseName = this.release.name;
    this.crdNames = pulumi.all(this.crds.map((crd) => crd.metadata.name));
    this.registerOutputs({ namespace: this.namespace, releaseName: this.releaseName, crdNames: this.crdNames });
  }
}

/**
 * A CRD as the SDK's typed input: the SDK spells `x-kubernetes-*` keys with underscores (the
 * provider turns them back into dashes), so rename them the same way. buildCrd's output has the
 * same shape as the SDK type otherwise.
 */
export function pulumiCrdArgs(crd: object): k8s.apiextensions.v1.CustomResourceDefinitionArgs {
  return renameKubernetesExtensions(crd) as k8s.apiextensions.v1.CustomResourceDefinitionArgs;
}

function renameKubernetesExtensions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(renameKubernetesExtensions);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [key.startsWith("x-kubernetes-") ? key.replaceAll("-", "_") : key, renameKubernetesExtensions(child)]),
  );
}
