// Clustering pairwise links into persons without chaining: links are merged
// strongest first, and two clusters only merge when, on average, their members
// match each other (average linkage) and no cannot-link constraint is broken
// (e.g. two different valid NHS numbers); a merge through a record with no birth
// date may not join members whose birth dates say two people.

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
  /** The same as cannotLinkKey, as a number per record (-1: none): read instead of it when given. */
  cannotLinkNumbers?: Int32Array;
  /** Cross pairs checked per merge; bigger merges are checked on an even sample. */
  maxCrossPairs?: number;
  /**
   * A second key of the same kind, checked independently of `cannotLinkKey`: e.g. a spine
   * person's id, so two registered persons never end in one cluster.
   */
  exclusiveKey?: (record: number) => string | null;
  /**
   * Birth dates, for merges resting on a link that cannot see one. A record with a blank birth
   * date can match a father and his namesake son equally well; average linkage would then join
   * the two, since their own pair, capped at even odds by the person check, does not pull the
   * average under it. So when either record of the link has no birth date, no two members of the
   * merged cluster may have birth dates that say two people (`contradict`). Links that see both
   * birth dates are judged by the average alone: copies of one person that each carry their own
   * slips in the date (FEBRL's duplicates) can be far apart from each other and still belong.
   */
  birthDates?: { missing: (record: number) => boolean; contradict: (a: number, b: number) => boolean };
  /** Pairs a person decided are the same: joined first, whatever their scores. */
  mustLink?: readonly (readonly [number, number])[];
  /** Pairs a person decided are not the same: never in one cluster. */
  cannotLink?: readonly (readonly [number, number])[];
}

/** Candidate pairs as parallel typed arrays: pair k joins records left[k] and right[k] with weight weights[k]. */
export interface LinkArrays {
  left: Uint32Array;
  right: Uint32Array;
  weights: Float64Array;
}

function keysConflict(x: number, y: number): boolean {
  return x >= 0 && y >= 0 && x !== y;
}

/** Keys as numbers per record (-1: none), equal numbers for equal keys. */
function keyNumbers(recordCount: number, key: ((record: number) => string | null) | undefined): Int32Array {
  const numbers = new Int32Array(recordCount).fill(-1);
  if (!key) return numbers;
  const numberOf = new Map<string, number>();
  for (let record = 0; record < recordCount; record++) {
    const text = key(record);
    if (text === null || text === undefined) continue;
    let number = numberOf.get(text);
    if (number === undefined) numberOf.set(text, (number = numberOf.size));
    numbers[record] = number;
  }
  return numbers;
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
  return clusterLinks(
    recordCount,
    {
      left: Uint32Array.from(links, (link) => link.a),
      right: Uint32Array.from(links, (link) => link.b),
      weights: Float64Array.from(links, (link) => link.weight),
    },
    pairProbability,
    options,
  );
}

/**
 * clusterRecords on links held in typed arrays. Clusters are kept in typed arrays too (each
 * cluster's members a chain through `next`), not an object and an array per record: at a
 * million people that is millions of objects fewer for the garbage collector.
 */
export function clusterLinks(
  recordCount: number,
  links: LinkArrays,
  pairProbability: (a: number, b: number) => number,
  options: ClusterOptions,
): number[] {
  const { threshold, minimumAverageProbability = 0.5, cannotLinkKey, exclusiveKey, birthDates, maxCrossPairs = 2500 } = options;
  // Cluster c (numbered by its first record) holds size[c] records: head[c], next[head[c]], ... tail[c].
  const clusterOf = new Int32Array(recordCount);
  const head = new Int32Array(recordCount);
  const tail = new Int32Array(recordCount);
  const next = new Int32Array(recordCount).fill(-1);
  const size = new Int32Array(recordCount).fill(1);
  // Each cluster's keys, as numbers (-1: none), kept at the cluster's number.
  const cannotLinkKeys = options.cannotLinkNumbers ? options.cannotLinkNumbers.slice() : keyNumbers(recordCount, cannotLinkKey);
  const exclusiveKeys = keyNumbers(recordCount, exclusiveKey);
  for (let record = 0; record < recordCount; record++) {
    clusterOf[record] = record;
    head[record] = record;
    tail[record] = record;
  }
  const forbidden = new Map<number, number[]>();
  for (const [a, b] of options.cannotLink ?? []) {
    if (a === b) continue;
    forbidden.set(a, [...(forbidden.get(a) ?? []), b]);
    forbidden.set(b, [...(forbidden.get(b) ?? []), a]);
  }
  const forbiddenBetween = (left: number, right: number): boolean => {
    if (forbidden.size === 0) return false;
    for (let member = head[left]!; member >= 0; member = next[member]!) {
      for (const other of forbidden.get(member) ?? []) if (clusterOf[other] === right) return true;
    }
    return false;
  };
  const join = (left: number, right: number): void => {
    const [keep, absorb] = size[left]! >= size[right]! ? [left, right] : [right, left];
    for (let member = head[absorb]!; member >= 0; member = next[member]!) clusterOf[member] = keep;
    next[tail[keep]!] = head[absorb]!;
    tail[keep] = tail[absorb]!;
    size[keep]! += size[absorb]!;
    if (cannotLinkKeys[keep]! < 0) cannotLinkKeys[keep] = cannotLinkKeys[absorb]!;
    if (exclusiveKeys[keep]! < 0) exclusiveKeys[keep] = exclusiveKeys[absorb]!;
  };
  // Members of the two clusters a merge checks, copied out in order.
  let leftMembers: Int32Array = new Int32Array(64);
  let rightMembers: Int32Array = new Int32Array(64);
  const membersOf = (cluster: number, into: Int32Array): Int32Array => {
    const out = into.length >= size[cluster]! ? into : new Int32Array(Math.max(size[cluster]!, into.length * 2));
    let k = 0;
    for (let member = head[cluster]!; member >= 0; member = next[member]!) out[k++] = member;
    return out;
  };

  // A person's decisions come first and are not second-guessed by the scores, only by
  // the hard constraints (two valid NHS numbers, two registered persons, a cannot-link).
  for (const [a, b] of options.mustLink ?? []) {
    const left = clusterOf[a]!;
    const right = clusterOf[b]!;
    if (left === right) continue;
    if (keysConflict(exclusiveKeys[left]!, exclusiveKeys[right]!)) continue;
    if (forbiddenBetween(left, right)) continue;
    join(left, right);
  }

  // Links at or above the threshold, strongest first (ties in record order).
  const { left: linkA, right: linkB, weights } = links;
  const strong: number[] = [];
  for (let k = 0; k < weights.length; k++) if (probabilityFromWeight(weights[k]!) >= threshold) strong.push(k);
  const strongestFirst = Uint32Array.from(strong).sort(
    (x, y) => weights[y]! - weights[x]! || linkA[x]! - linkA[y]! || linkB[x]! - linkB[y]!,
  );

  for (const link of strongestFirst) {
    const left = clusterOf[linkA[link]!]!;
    const right = clusterOf[linkB[link]!]!;
    if (left === right) continue;
    if (keysConflict(cannotLinkKeys[left]!, cannotLinkKeys[right]!)) continue;
    if (keysConflict(exclusiveKeys[left]!, exclusiveKeys[right]!)) continue;
    if (forbiddenBetween(left, right)) continue;
    const leftSize = size[left]!;
    const rightSize = size[right]!;
    if (leftSize > 1 || rightSize > 1) {
      // Cross pairs checked: all, or an even deterministic sample of maxCrossPairs.
      leftMembers = membersOf(left, leftMembers);
      rightMembers = membersOf(right, rightMembers);
      const total = leftSize * rightSize;
      const count = Math.min(total, maxCrossPairs);
      // A link that cannot see a birth date on one side must not join members whose birth dates say two people.
      const blind = birthDates !== undefined && (birthDates.missing(linkA[link]!) || birthDates.missing(linkB[link]!));
      let sum = 0;
      let contradicted = false;
      for (let s = 0; s < count && !contradicted; s++) {
        const k = Math.floor((s * total) / count);
        const a = leftMembers[Math.floor(k / rightSize)]!;
        const b = rightMembers[k % rightSize]!;
        if (blind && birthDates.contradict(a, b)) contradicted = true;
        else sum += pairProbability(a, b);
      }
      if (contradicted || sum / count < minimumAverageProbability) continue;
    }
    join(left, right);
  }

  const numbering = new Int32Array(recordCount).fill(-1);
  let clusters = 0;
  return Array.from(clusterOf, (cluster) => {
    if (numbering[cluster]! < 0) numbering[cluster] = clusters++;
    return numbering[cluster]!;
  });
}
