// Vitest global setup of the integration tier: one control plane (etcd + kube-apiserver +
// kube-controller-manager) shared by the tier's test files, stopped at the end of the run.
// RABBIT_OPERATOR_TEST_KUBECONFIG points the tier at a control plane that is already running
// (`npm run cluster:up -- --profile control-plane`) instead.
import type { TestProject } from "vitest/node";
import { startControlPlane } from "../../../dev/control-plane.js";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
  }
}

export default async function setup(project: TestProject) {
  const given = process.env.RABBIT_OPERATOR_TEST_KUBECONFIG;
  if (given) {
    project.provide("kubeconfig", given);
    return;
  }
  const started = Date.now();
  const controlPlane = await startControlPlane({ name: `integration-${process.pid}` });
  console.error(`control plane ready in ${Date.now() - started} ms (${controlPlane.kubeconfig})`);
  project.provide("kubeconfig", controlPlane.kubeconfig);
  return async () => {
    await controlPlane.stop();
  };
}
