// Checks of a RabbitCluster that the CRD schema cannot make: they depend on the image's RabbitMQ
// version or on the content of free-form fields. The controller turns problems into
// ReconcileSuccess=False with the problem's reason, and an Event. (Its policies are judged when
// they are declared, by the version the running cluster reports: rabbit-cluster/policies.ts.)
import type { RabbitCluster } from "../api/index.js";
import { atLeast, parseVersion, type RabbitMQVersion } from "../rabbitmq/versions.js";
import { invalidConfigLines } from "./rabbitmq-config.js";

export interface SpecProblem {
  reason: "RamNodesUnsupported" | "InvalidAdditionalConfig";
  message: string;
}

/**
 * The RabbitMQ version of an image, read from its tag ("rabbitmq:4.1.4-management",
 * "localhost/rabbitmq:3.10.8"); undefined when the tag says nothing (a digest, "latest").
 */
export function imageVersion(image: string): RabbitMQVersion | undefined {
  const withoutDigest = image.split("@")[0] ?? image;
  const lastSegment = withoutDigest.split("/").pop() ?? withoutDigest;
  const tag = lastSegment.includes(":") ? lastSegment.slice(lastSegment.indexOf(":") + 1) : "";
  return parseVersion(tag);
}

/** Ram nodes need the Mnesia metadata store: RabbitMQ 4.2 made Khepri the default, 4.3 the only one. */
export const supportsRamNodes = (v: RabbitMQVersion) => !atLeast(v, 4, 2);

export function validateCluster(cluster: RabbitCluster): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const version = imageVersion(cluster.spec.image);
  if (version && cluster.spec.nodes.ram > 0 && !supportsRamNodes(version)) {
    problems.push({
      reason: "RamNodesUnsupported",
      message: `image ${cluster.spec.image} runs RabbitMQ ${version.major}.${version.minor}, whose Khepri metadata store has no ram nodes; use an image of RabbitMQ 4.1 or older, or set spec.nodes.ram to 0`,
    });
  }
  const badLines = invalidConfigLines(cluster.spec.rabbitmq?.additionalConfig ?? "");
  if (badLines.length > 0) {
    problems.push({
      reason: "InvalidAdditionalConfig",
      message: `spec.rabbitmq.additionalConfig has lines that are not "key = value": ${badLines.map((l) => JSON.stringify(l)).join(", ")}`,
    });
  }
  return problems;
}
