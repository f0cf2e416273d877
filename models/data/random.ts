/**
 * A small seeded pseudo-random generator (mulberry32) for reproducible data, shuffles and splits.
 *
 * @module
 */

/**
 * Returns a generator of uniform numbers in [0, 1) determined by `seed`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seededRandom } from "@fasterode/fasterode/models/data";
 * const a = seededRandom(42), b = seededRandom(42);
 * assert.equal(a(), b());
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A uniform number in [lo, hi) drawn from `random`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seededRandom, uniform } from "@fasterode/fasterode/models/data";
 * const x = uniform(seededRandom(1), -1, 1);
 * assert.ok(x >= -1 && x < 1);
 * ```
 */
export function uniform(random: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * random();
}
