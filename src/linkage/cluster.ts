// Clustering pairwise links into persons without chaining: links are merged
// strongest first, and two clusters only merge when, on average, their members
// match each other (average linkage) and no cannot-link constraint is broken
// (e.g. two different valid NHS numbers).

import { probabilityFromWeight } from './model.ts';

export interface WeightedLink {
  a: number;
  b: number;
  /** Match weight (log2 odds). */
  weight: number;
}

export interface ClusterOptions {
  /** Links below this match probability are ignored. */
  threshold: number;
  /**
   * Two clusters merge when the mean match probability of their cross pairs reaches
   * this (default 0.5: on average more likely the same person than not). Duplicates
   * of one original may match each other weakly; two people joined by one link do not.
   */
  minimumAverageProbability?: number;
  /** A key two records in one cluster must not disagree on (valid NHS number), or null. */
  cannotLinkKey?: (record: number) => string | null;
  /** Cross pairs checked per merge; bigger merges are checked on an even sample. */
  maxCrossPairs?: number;
  /**
   * A second key of the same kind, checked independently of `cannotLinkKey`: e.g. a spine
   * person's id, so two registered persons never end in one cluster.
   */
  exclusiveKey?: (record: number) => string | null;
  /** Pairs a person decided are the same: joined first, whatever their scores. */
  mustLink?: readonly (readonly [number, number])[];
  /** Pairs a person decided are not the same: never in one cluster. */
  cannotLink?: readonly (readonly [number, number])[];
}

interface Cluster {
  members: number[];
  cannotLinkKey: string | null;
  exclusiveKey: string | null;
}

function keysConflict(x: string | null, y: string | null): boolean {
  return x !== null && y !== null && x !== y;
}

/** Deterministic even sample of cross pairs between two member lists. */
function crossPairs(left: readonly number[], right: readonly number[], limit: number): [number, number][] {
  const total = left.length * right.length;
  const count = Math.min(total, limit);
  const pairs: [number, number][] = [];
  for (let s = 0; s < count; s++) {
    const k = Math.floor((s * total) / count);
    pairs.push([left[Math.floor(k / right.length)]!, right[k % right.length]!]);
  }
  return pairs;
}

/**
 * Assigns each of `recordCount` records a cluster number (0-based, in order of first record).
 * `pairProbability(a, b)` scores pairs that are not among the links (or returns a cached score).
 */
export function clusterRecords(
  recordCount: number,
  links: readonly WeightedLink[],
  pairProbability: (a: number, b: number) => number,
  options: ClusterOptions,
): number[] {
  const { threshold, minimumAverageProbability = 0.5, cannotLinkKey, exclusiveKey, maxCrossPairs = 2500 } = options;
  const clusterOf = new Int32Array(recordCount);
  const clusters: (Cluster | undefined)[] = [];
  for (let record = 0; record < recordCount; record++) {
    clusterOf[record] = record;
    clusters.push({ members: [record], cannotLinkKey: cannotLinkKey?.(record) ?? null, exclusiveKey: exclusiveKey?.(record) ?? null });
  }
  const forbidden = new Map<number, number[]>();
  for (const [a, b] of options.cannotLink ?? []) {
    if (a === b) continue;
    forbidden.set(a, [...(forbidden.get(a) ?? []), b]);
    forbidden.set(b, [...(forbidden.get(b) ?? []), a]);
  }
  const forbiddenBetween = (left: Cluster, right: number): boolean => {
    if (forbidden.size === 0) return false;
    for (const member of left.members) {
      for (const other of forbidden.get(member) ?? []) if (clusterOf[other] === right) return true;
    }
    return false;
  };
  const join = (left: number, right: number): void => {
    const clusterLeft = clusters[left]!;
    const clusterRight = clusters[right]!;
    const [keep, absorb] =
      clusterLeft.members.length >= clusterRight.members.length ? [left, right] : [right, left];
    const kept = clusters[keep]!;
    const absorbed = clusters[absorb]!;
    for (const member of absorbed.members) {
      clusterOf[member] = keep;
      kept.members.push(member);
    }
    kept.cannotLinkKey ??= absorbed.cannotLinkKey;
    kept.exclusiveKey ??= absorbed.exclusiveKey;
    clusters[absorb] = undefined;
  };

  // A person's decisions come first and are not second-guessed by the scores, only by
  // the hard constraints (two valid NHS numbers, two registered persons, a cannot-link).
  for (const [a, b] of options.mustLink ?? []) {
    const left = clusterOf[a]!;
    const right = clusterOf[b]!;
    if (left === right) continue;
    const clusterLeft = clusters[left]!;
    const clusterRight = clusters[right]!;
    if (keysConflict(clusterLeft.exclusiveKey, clusterRight.exclusiveKey)) continue;
    if (forbiddenBetween(clusterLeft, right)) continue;
    join(left, right);
  }

  const strongestFirst = links
    .filter((link) => probabilityFromWeight(link.weight) >= threshold)
    .sort((x, y) => y.weight - x.weight || x.a - y.a || x.b - y.b);

  for (const link of strongestFirst) {
    const left = clusterOf[link.a]!;
    const right = clusterOf[link.b]!;
    if (left === right) continue;
    const clusterLeft = clusters[left]!;
    const clusterRight = clusters[right]!;
    if (keysConflict(clusterLeft.cannotLinkKey, clusterRight.cannotLinkKey)) continue;
    if (keysConflict(clusterLeft.exclusiveKey, clusterRight.exclusiveKey)) continue;
    if (forbiddenBetween(clusterLeft, right)) continue;
    if (clusterLeft.members.length > 1 || clusterRight.members.length > 1) {
      const pairs = crossPairs(clusterLeft.members, clusterRight.members, maxCrossPairs);
      let sum = 0;
      for (const [a, b] of pairs) sum += pairProbability(a, b);
      if (sum / pairs.length < minimumAverageProbability) continue;
    }
    join(left, right);
  }

  const numbering = new Map<number, number>();
  return Array.from(clusterOf, (cluster) => {
    let number = numbering.get(cluster);
    if (number === undefined) numbering.set(cluster, (number = numbering.size));
    return number;
  });
}
