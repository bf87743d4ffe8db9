// RabbitMQ versions and the declarable features that some versions lack, in one table: the
// topology controllers, the RabbitCluster's policies and its image check all judge by it, so that
// a feature the cluster's RabbitMQ cannot honour is refused naming both versions, before RabbitMQ
// refuses it in its own words or, worse, takes it and ignores it.

export interface RabbitMQVersion {
  major: number;
  minor: number;
  patch?: number;
}

/** "4.0.5", "v3.10", "4.1.4-management": the leading major.minor(.patch); undefined for anything else. */
export function parseVersion(text: string): RabbitMQVersion | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:$|[-_.+])/.exec(text);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), ...(match[3] ? { patch: Number(match[3]) } : {}) };
}

export const atLeast = (v: RabbitMQVersion, major: number, minor: number) => v.major > major || (v.major === major && v.minor >= minor);

export function formatVersion(v: RabbitMQVersion): string {
  return v.patch === undefined ? `${v.major}.${v.minor}` : `${v.major}.${v.minor}.${v.patch}`;
}

/** A release as major.minor. */
type Release = readonly [major: number, minor: number];

/** Something a spec can ask for that only some RabbitMQ versions do. */
export interface VersionedFeature {
  /** What it is, as the spec says it: `applyTo: quorum_queues`. */
  readonly what: string;
  /** The first release that has it. */
  readonly since?: Release;
  /** The first release that refuses it. */
  readonly removedIn?: Release;
  /** The first release that takes it and does nothing with it. */
  readonly ignoredSince?: Release;
  /** What to declare instead. */
  readonly instead: string;
}

const release = ([major, minor]: Release) => `RabbitMQ ${major}.${minor}`;

export const VERSIONED_FEATURES = {
  policyApplyToQueueType: (applyTo: string): VersionedFeature => ({
    what: `applyTo: ${applyTo}`,
    since: [3, 12],
    instead: "applyTo: queues (queues of every type), with a pattern that matches only the queues meant",
  }),
  vhostDefaultQueueType: {
    what: "defaultQueueType",
    since: [3, 11],
    instead: "leave defaultQueueType out and give each Queue its type",
  },
  classicQueueMirroring: (keys: readonly string[]): VersionedFeature => ({
    what: `classic queue mirroring (${keys.join(", ")})`,
    removedIn: [4, 0],
    instead: "quorum queues, which replicate without a policy",
  }),
  queueMode: (what: string): VersionedFeature => ({
    what,
    ignoredSince: [3, 12],
    instead: "classic queues move their messages to disk by themselves, so it can be left out",
  }),
  exchangeTypeLocalRandom: {
    what: "type: x-local-random",
    since: [4, 0],
    instead: "another exchange type (direct or fanout); none routes to a queue on the publisher's node before 4.0",
  },
} as const;

/** The policy apply-to values that name one queue type. */
const QUEUE_TYPE_APPLY_TO: readonly string[] = ["classic_queues", "quorum_queues", "streams"];

/** The versioned features a policy (a Policy's spec or a RabbitCluster's spec.policies entry) uses. */
export function policyFeatures(policy: { applyTo: string; definition: Record<string, unknown> }): VersionedFeature[] {
  const features: VersionedFeature[] = [];
  if (QUEUE_TYPE_APPLY_TO.includes(policy.applyTo)) features.push(VERSIONED_FEATURES.policyApplyToQueueType(policy.applyTo));
  const mirroring = Object.keys(policy.definition)
    .filter((key) => key.startsWith("ha-"))
    .sort();
  if (mirroring.length > 0) features.push(VERSIONED_FEATURES.classicQueueMirroring(mirroring));
  if ("queue-mode" in policy.definition) features.push(VERSIONED_FEATURES.queueMode("the policy key queue-mode"));
  return features;
}

export type FeatureVerdict = { refused: string } | { ignored: string } | undefined;

export interface FeatureVerdicts {
  /** Why it cannot be declared: one line per feature the version lacks. */
  refused: string[];
  /** What it takes and ignores: one line per feature. */
  ignored: string[];
}

/**
 * Whether RabbitMQ `version` honours the feature: refused (Ready=False, nothing declared) when the
 * version lacks it, ignored (declared, and said in the Ready message) when it takes it for nothing.
 */
export function judgeFeature(feature: VersionedFeature, version: RabbitMQVersion): FeatureVerdict {
  const running = `this cluster runs RabbitMQ ${formatVersion(version)}`;
  if (feature.since && !atLeast(version, ...feature.since)) {
    return { refused: `${feature.what} needs ${release(feature.since)} or later and ${running}; use ${feature.instead}` };
  }
  if (feature.removedIn && atLeast(version, ...feature.removedIn)) {
    return { refused: `${feature.what} was removed in ${release(feature.removedIn)} and ${running}; use ${feature.instead}` };
  }
  if (feature.ignoredSince && atLeast(version, ...feature.ignoredSince)) {
    return { ignored: `${feature.what} has had no effect since ${release(feature.ignoredSince)} (${running}): ${feature.instead}` };
  }
  return undefined;
}

export function judgeFeatures(features: readonly VersionedFeature[], version: RabbitMQVersion): FeatureVerdicts {
  const verdicts: FeatureVerdicts = { refused: [], ignored: [] };
  for (const feature of features) {
    const verdict = judgeFeature(feature, version);
    if (verdict && "refused" in verdict) verdicts.refused.push(verdict.refused);
    else if (verdict) verdicts.ignored.push(verdict.ignored);
  }
  return verdicts;
}
