/**
 * The project's one seeded shuffle (Fisher–Yates), used by the data splits and by the training
 * harness's batch order, so that the same seed gives the same order everywhere.
 *
 * @module
 */

/**
 * Shuffles `items` in place with the Fisher–Yates algorithm and returns it. The draws are fixed:
 * for `i` from `items.length − 1` down to 1, `j = floor(random() · (i + 1))` and items `i` and
 * `j` swap — `items.length − 1` calls of `random`, so a seeded generator gives a reproducible
 * order (and the generator's next draw is the same whatever else uses it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shuffle, seededRandom } from "@fasterode/fasterode/models/data";
 *
 * const a = shuffle([0, 1, 2, 3, 4], seededRandom(0));
 * assert.deepEqual([...a].sort(), [0, 1, 2, 3, 4]);
 * assert.deepEqual(shuffle([0, 1, 2, 3, 4], seededRandom(0)), a); // same seed, same order
 * ```
 *
 * @param items The array to shuffle (modified).
 * @param random Uniform numbers in [0, 1), e.g. `seededRandom(seed)`.
 * @returns `items`, shuffled.
 */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * The indices `0 … n−1` in a random order: {@linkcode shuffle} of `[0, 1, …, n − 1]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { permutation, shuffle, seededRandom } from "@fasterode/fasterode/models/data";
 *
 * const p = permutation(5, seededRandom(3));
 * assert.deepEqual([...p].sort(), [0, 1, 2, 3, 4]);
 * assert.deepEqual(p, shuffle([0, 1, 2, 3, 4], seededRandom(3)));
 * ```
 *
 * @param n How many indices (an integer ≥ 0).
 * @param random Uniform numbers in [0, 1), e.g. `seededRandom(seed)`.
 * @returns A permutation of `0 … n−1`.
 * @throws {RangeError} If `n` is not an integer ≥ 0.
 */
export function permutation(n: number, random: () => number): number[] {
  if (!(Number.isInteger(n) && n >= 0)) {
    throw new RangeError(`permutation: n must be an integer >= 0, got ${n}`);
  }
  return shuffle(Array.from({ length: n }, (_, i) => i), random);
}
