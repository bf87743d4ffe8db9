// Whether a cluster is being formed for the first time, decided from what can be observed, so
// that an operator restarted in the middle of a formation decides the same.
import { isSeedingPeers } from "../../resources/rabbitmq-config.js";

export interface FormationObservation {
  /** Any pod or volume claim of the cluster exists. */
  hasData: boolean;
  /** The peers.conf in the cluster's ConfigMap as it is now, if the ConfigMap exists. */
  peersConf: string | undefined;
  /** The first disc node's pod exists and is Ready (its node runs and accepts AMQP). */
  firstDiscNodeReady: boolean;
}

/**
 * True for a new cluster until its first disc node runs: with nothing anywhere yet, or while the
 * seeding peers.conf written for it stands and that node has not come up. Anything else (a
 * cluster recreated onto retained volumes, a ConfigMap lost or rewritten) is an existing
 * cluster, whose nodes must join the others rather than start one of their own.
 */
export function isFirstFormation(observed: FormationObservation): boolean {
  if (!observed.hasData) return true;
  return isSeedingPeers(observed.peersConf) && !observed.firstDiscNodeReady;
}
