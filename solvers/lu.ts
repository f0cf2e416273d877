/**
 * Dense LU factorisation with partial pivoting, in float64 on the host: the linear algebra of
 * the implicit methods' Newton iterations (`esdirk_step.ts`), whose matrices `I − h·γ·J` are
 * small (one row per state entry) and reused for every stage of a step.
 *
 * @module
 */

/** An LU factorisation `P·A = L·U` of an `n × n` matrix (row-major, `L` unit-diagonal). */
export interface LU {
  /** Order of the matrix. */
  n: number;
  /** `L` below the diagonal and `U` on and above it, row-major. */
  lu: Float64Array;
  /** Row `i` of `P·A` is row `perm[i]` of `A`. */
  perm: Int32Array;
}

/**
 * Factorises the row-major `n × n` matrix `a` (not modified). Returns `undefined` when the
 * matrix is singular to working precision (a zero pivot).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { luFactor, luSolve } from "./lu.ts";
 * // [[0, 2], [1, 1]]·x = [4, 3]  →  x = [1, 2] (needs a row swap)
 * const f = luFactor(new Float64Array([0, 2, 1, 1]), 2)!;
 * assert.deepEqual(Array.from(luSolve(f, new Float64Array([4, 3]))), [1, 2]);
 * assert.equal(luFactor(new Float64Array([1, 2, 2, 4]), 2), undefined);
 * ```
 */
export function luFactor(a: Float64Array, n: number): LU | undefined {
  if (a.length !== n * n) throw new RangeError(`luFactor: ${a.length} entries, expected ${n}²`);
  const lu = Float64Array.from(a);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  let scale = 0;
  for (const x of a) scale = Math.max(scale, Math.abs(x));
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(lu[i * n + k]) > Math.abs(lu[p * n + k])) p = i;
    const pivot = lu[p * n + k];
    if (!(Math.abs(pivot) > 1e-14 * scale) || !Number.isFinite(pivot)) return undefined;
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = lu[k * n + j];
        lu[k * n + j] = lu[p * n + j];
        lu[p * n + j] = t;
      }
      const t = perm[k];
      perm[k] = perm[p];
      perm[p] = t;
    }
    for (let i = k + 1; i < n; i++) {
      const m = (lu[i * n + k] /= pivot);
      if (m === 0) continue;
      for (let j = k + 1; j < n; j++) lu[i * n + j] -= m * lu[k * n + j];
    }
  }
  return { n, lu, perm };
}

/** Solves `A·x = b` with a factorisation from {@link luFactor}; returns a new `x`. */
export function luSolve(f: LU, b: Float64Array): Float64Array {
  const { n, lu, perm } = f;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[perm[i]];
    for (let j = 0; j < i; j++) s -= lu[i * n + j] * x[j];
    x[i] = s;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let j = i + 1; j < n; j++) s -= lu[i * n + j] * x[j];
    x[i] = s / lu[i * n + i];
  }
  return x;
}
