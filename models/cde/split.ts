/**
 * The stratified train/validation/test split of the Speech Commands experiment.
 *
 * @module
 */
import { seededRandom, shuffle } from "../data/mod.ts";

/** Options of {@linkcode stratifiedSplit}. */
export interface SplitOptions {
  /** Seed of the shuffles. Default 0. */
  seed?: number;
  /** Fraction of the examples in the training split. Default 0.7. */
  trainFraction?: number;
  /** Fraction in the validation split; the test split gets the rest. Default 0.15. */
  valFraction?: number;
}

/** Example indices of each split. */
export interface SplitIndices {
  /** Indices of the training examples. */
  train: number[];
  /** Indices of the validation examples. */
  val: number[];
  /** Indices of the test examples. */
  test: number[];
}

/** Integer counts proportional to `weights` summing to `total` (largest remainders, ties to
 * the lower index), never above the weight. */
function apportion(weights: number[], total: number): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map(() => 0);
  const quotas = weights.map((w) => (total * w) / sum);
  const counts = quotas.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const order = quotas
    .map((q, i) => ({ i, frac: q - Math.floor(q) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (let j = 0; left > 0; j = (j + 1) % order.length) {
    const i = order[j].i;
    if (counts[i] < weights[i]) {
      counts[i]++;
      left--;
    }
  }
  return counts;
}

/**
 * A deterministic stratified train/val/test split. The split sizes are
 * `floor(trainFraction·n)`, `floor(valFraction·n)` and the rest (24,482 / 5,246 / 5,247 for
 * the 34,975 clips, as scikit-learn's two-stage `train_test_split` gives); each class gets its
 * share of the training split, then of the validation split, by largest remainders. Within a
 * class the examples are shuffled by a seeded generator, and each split's order is shuffled
 * too, so that any prefix mixes the classes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stratifiedSplit } from "@fasterode/fasterode/models/cde";
 *
 * const labels = Array.from({ length: 200 }, (_, i) => i % 2);
 * const { train, val, test } = stratifiedSplit(labels, { seed: 1 });
 * assert.deepEqual([train.length, val.length, test.length], [140, 30, 30]);
 * assert.equal(train.filter((i) => labels[i] === 0).length, 70);
 * assert.deepEqual(stratifiedSplit(labels, { seed: 1 }).val, val);
 * ```
 *
 * @param labels Class of each example (non-negative integers).
 * @param options Seed and fractions.
 * @returns Disjoint index lists covering every example.
 * @throws {RangeError} On fractions outside (0, 1) or summing to more than 1, or bad labels.
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  options: SplitOptions = {},
): SplitIndices {
  const { seed = 0, trainFraction = 0.7, valFraction = 0.15 } = options;
  if (!(trainFraction > 0 && valFraction >= 0 && trainFraction + valFraction <= 1)) {
    throw new RangeError(
      `stratifiedSplit: need trainFraction > 0, valFraction >= 0 and their sum <= 1, got ` +
        `${trainFraction} and ${valFraction}`,
    );
  }
  const n = labels.length;
  const byClass: number[][] = [];
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0) {
      throw new RangeError(`stratifiedSplit: label ${i} is ${c}, not a class index`);
    }
    (byClass[c] ??= []).push(i);
  }
  for (let c = 0; c < byClass.length; c++) byClass[c] ??= [];
  const rand = seededRandom(seed);
  for (const members of byClass) shuffle(members, rand);
  const sizes = byClass.map((m) => m.length);
  const nTrain = Math.floor(trainFraction * n);
  const nVal = Math.floor(valFraction * n);
  const trainCounts = apportion(sizes, nTrain);
  const rest = sizes.map((s, c) => s - trainCounts[c]);
  const valCounts = apportion(rest, nVal);
  const out: SplitIndices = { train: [], val: [], test: [] };
  byClass.forEach((members, c) => {
    out.train.push(...members.slice(0, trainCounts[c]));
    out.val.push(...members.slice(trainCounts[c], trainCounts[c] + valCounts[c]));
    out.test.push(...members.slice(trainCounts[c] + valCounts[c]));
  });
  shuffle(out.train, rand);
  shuffle(out.val, rand);
  shuffle(out.test, rand);
  return out;
}
