/**
 * Standard normal numbers from a seeded uniform generator (`models/data/random.ts`), by the
 * Box–Muller transform: the base distribution's samples, Gaussian probes and the 2-D densities'
 * noise, all reproducible from a seed.
 *
 * @module
 */

/**
 * `n` independent standard normal numbers drawn from `random` (uniform on [0, 1)).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seededRandom } from "@fasterode/fasterode/models/data";
 * import { normalSamples } from "@fasterode/fasterode/models/cnf";
 * const x = normalSamples(20000, seededRandom(3));
 * const mean = x.reduce((a, b) => a + b, 0) / x.length;
 * const variance = x.reduce((a, b) => a + b * b, 0) / x.length - mean * mean;
 * // Standard errors: 1/√n ≈ 0.007 for the mean, √(2/n) ≈ 0.01 for the variance.
 * assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.05);
 * ```
 *
 * @param n how many
 * @param random the uniform generator
 * @returns the numbers
 */
export function normalSamples(n: number, random: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - random(); // in (0, 1]: the logarithm stays finite
    const r = Math.sqrt(-2 * Math.log(u));
    const phi = 2 * Math.PI * random();
    out[i] = r * Math.cos(phi);
    if (i + 1 < n) out[i + 1] = r * Math.sin(phi);
  }
  return out;
}
