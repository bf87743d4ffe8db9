// A RabbitMQ cluster made of exactly the objects the operator's builders produce (StatefulSets,
// headless Service, config, cookie, default user), applied with kubectl: the image meets the
// operator's pod layout without the operator itself running.
import { API_VERSION, type RabbitCluster } from "../../../operator/api/index.js";
import { buildChildren, newDefaultUser, newErlangCookie, type BuildContext } from "../../../operator/resources/index.js";
import { ensureCrdsInstalled } from "./crds.js";
import { kubectl, kubectlJson } from "./kubectl.js";

export interface DeployedRabbitCluster {
  cluster: RabbitCluster;
  context: BuildContext;
}

export async function deployRabbitCluster(namespace: string, name: string, image: string, disc: number): Promise<DeployedRabbitCluster> {
  await ensureCrdsInstalled();
  await kubectl(["create", "namespace", namespace]);
  const resource = {
    apiVersion: API_VERSION,
    kind: "RabbitCluster",
    metadata: { name, namespace },
    spec: {
      image,
      nodes: { disc, ram: 0 },
      persistence: { storage: "1Gi", whenDeleted: "Delete" },
      terminationGracePeriodSeconds: 30,
    },
  };
  await kubectl(["apply", "-f", "-"], { input: JSON.stringify(resource) });
  // The stored object: defaults filled in by the API server, and the uid the children's owner
  // references need (without it the garbage collector would delete them).
  const cluster = await kubectlJson<RabbitCluster>(["-n", namespace, "get", "rabbitcluster", name]);
  const context: BuildContext = { clusterDomain: "cluster.local", erlangCookie: newErlangCookie(), defaultUser: newDefaultUser() };
  const children = buildChildren(cluster, context);
  await kubectl(["apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: children }) });
  return { cluster, context };
}
