// Vitest global setup of the e2e tier: one `full` cluster (kind with our images) shared by the
// tier's test files, deleted at the end of the run. RABBIT_OPERATOR_TEST_KUBECONFIG points the
// tier at a cluster that is already running (`npm run cluster:up -- --profile full`) instead;
// the images are then expected under their configured names.
import type { TestProject } from "vitest/node";
import { startFullCluster } from "../../../dev/full-cluster.js";
import { OPERATOR_IMAGE } from "../../../dev/images/operator-image.js";
import { RABBITMQ_IMAGE } from "../../../dev/images/rabbitmq-image.js";
import { kindProvider, type KindProvider } from "../../../dev/kind.js";

export interface E2eCluster {
  provider: KindProvider;
  rabbitmqImage: string;
  /** The RabbitMQ image by digest (`repo@sha256:...`), when this run loaded it. */
  rabbitmqImagePinned?: string;
  operatorImage: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    e2eCluster: E2eCluster;
  }
}

export default async function setup(project: TestProject) {
  const given = process.env.RABBIT_OPERATOR_TEST_KUBECONFIG;
  if (given) {
    project.provide("kubeconfig", given);
    project.provide("e2eCluster", { provider: kindProvider(), rabbitmqImage: RABBITMQ_IMAGE, operatorImage: OPERATOR_IMAGE });
    return;
  }
  const started = Date.now();
  const cluster = await startFullCluster({ name: `e2e-${process.pid}`, images: ["rabbitmq", "operator"] });
  const phases = Object.entries(cluster.timings)
    .map(([phase, ms]) => `${phase} ${(ms / 1000).toFixed(1)} s`)
    .join(", ");
  console.error(`full cluster ${cluster.name} ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${phases}); kubeconfig ${cluster.kubeconfig}`);
  project.provide("kubeconfig", cluster.kubeconfig);
  project.provide("e2eCluster", {
    provider: cluster.provider,
    rabbitmqImage: cluster.images.rabbitmq!,
    ...(cluster.pinnedImages.rabbitmq ? { rabbitmqImagePinned: cluster.pinnedImages.rabbitmq } : {}),
    operatorImage: cluster.images.operator!,
  });
  return async () => {
    const stopping = Date.now();
    await cluster.stop();
    console.error(`full cluster ${cluster.name} deleted in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
  };
}
