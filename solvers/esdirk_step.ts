/**
 * One step of a stiffly accurate ESDIRK method (explicit first stage, the same `γ` on the rest
 * of the diagonal), as a {@link StepFn} for the solve loop: the implicit stage equations
 *
 * ```
 * Y_i = y0 + dt·Σ_{j<i} a_ij·k_j + dt·γ·k_i,      k_i = f(t0 + c_i·dt, Y_i)
 * ```
 *
 * are solved one after another by simplified Newton iterations with the one matrix
 * `M = I − dt·γ·J` for every stage and iteration of the step (diffrax's `VeryChord`, Hairer &
 * Wanner IV.8), from a predictor (`α` weights), stopping when the estimated remaining error
 * `θ/(1 − θ)·‖Δ‖` is below 0.05 in the solve's own error norm (`‖Δ/(atol + rtol·|Y|)‖_rms`).
 * The stage's `k_i` is then taken from its equation, `(Y_i − y0 − dt·Σ a_ij k_j)/(dt·γ)`, not
 * from `f(Y_i)` (which would amplify the Newton error by the stiff Jacobian).
 *
 * **The Jacobian is a dense matrix from finite differences**, one extra evaluation of `f` per
 * state entry (plus one at the step's start), computed once per step start and kept when a
 * step is retried smaller. Why not tfjs Jacobian–vector products: tfjs has no forward mode, so
 * a JVP costs a forward and a backward pass (or a double VJP), and a Newton–Krylov solve needs
 * several per Newton iteration; for the small states stiff problems have (a handful to a few
 * hundred entries) a dense `J` factorised once in float64 on the host ({@link luFactor}) makes
 * every Newton iteration one evaluation of `f` and one triangular solve, and it works for any
 * field, including the adjoint's augmented one (no tape, no second derivatives). Float32 finite
 * differences give `J` to ~1e-3 relative, which only slows Newton's convergence a little (the
 * solution's accuracy comes from the residual, computed exactly). States are limited to
 * {@link MAX_IMPLICIT_SIZE} entries (the passive parts of the adjoint's state, the parameter
 * adjoints, do not count: `f` does not read them, so their stages are explicit).
 *
 * A step whose Newton iterations diverge, do not converge in 10 iterations, meet a singular `M`
 * or a non-finite value is returned with an error estimate of 100× the tolerance, so the loop
 * rejects it and retries with a smaller step (the controller's largest decrease).
 *
 * Under `odeintSync`'s tape, the Newton iterations run on the host, so no gradient flows through
 * an implicit step: differentiate implicit solves with `odeintAdjoint`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { linearCombination } from "./fused_ops.ts";
import { type LU, luFactor, luSolve } from "./lu.ts";
import type { Reads } from "./reads.ts";
import { nextAfter, type RkStep, type RkStepOptions, type StepFn } from "./rk_step.ts";
import type { Tableau } from "./tableau.ts";

/** The most state entries an implicit step solves for (its Jacobian is dense). */
export const MAX_IMPLICIT_SIZE = 2000;

/** Newton's stopping threshold, in the solve's scaled error norm. */
const KAPPA = 0.05;
const MAX_NEWTON = 10;

/** Jacobians by the state tensor they were taken at (a retried step reuses its start's). */
const JACOBIANS = new WeakMap<tf.Tensor, { t: number; J: Float64Array }>();

/**
 * The {@link StepFn} of a stiffly accurate ESDIRK tableau whose last stage is an explicit copy
 * (`a[s−1] = b`, so the method counts as FSAL and `f(t1, y1)` is free), with the predictor
 * weights `alpha` (row `i` gives `Y_i`'s first guess `y0 + dt·Σ_j alpha[i][j]·k_j`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { odeint } from "@fasterode/fasterode";
 * // y' = −1000(y − cos t): stiff; kvaerno5 (built on esdirkStep) takes few steps.
 * const f = (t: number, y: tf.Tensor) => tf.mul(-1000, tf.sub(y, Math.cos(t)));
 * const sol = await odeint(f, tf.tensor([0]), [0, 1], { method: "kvaerno5", rtol: 1e-5 });
 * const y1 = (await sol.ys.data())[1];
 * assert.ok(Math.abs(y1 - Math.cos(1)) < 1e-3 && sol.stats.nAccepted < 100);
 * sol.ys.dispose();
 * ```
 */
export function esdirkStep(alpha: number[][]): StepFn {
  return function* step(
    tableau: Tableau,
    f: (t: number, y: tf.Tensor[]) => tf.Tensor[],
    t0: number,
    t1: number,
    y0: tf.Tensor[],
    f0: tf.Tensor[],
    options: RkStepOptions,
  ): Reads<RkStep> {
    const { a, b, c, bError, diagonal, stages } = tableau;
    // The solve's tolerances (the loop passes them; a direct call falls back to 1e-4 / 1e-6).
    const { rtol, atol } = options.tolerances ?? { rtol: 1e-4, atol: 1e-6 };
    const dt = t1 - t0;
    const nParts = y0.length;
    const sign = (p: number) => options.signs?.[p] ?? 1;
    const active = y0.map((_, p) => !(options.passive?.[p] ?? false));
    const sizes = y0.map((y) => y.size);
    const offsets: number[] = [];
    let n = 0;
    for (let p = 0; p < nParts; p++) {
      offsets.push(n);
      if (active[p]) n += sizes[p];
    }
    if (n > MAX_IMPLICIT_SIZE) {
      throw new RangeError(
        `${tableau.name} solves for a dense Jacobian of the state; this state has ${n} entries ` +
          `(limit ${MAX_IMPLICIT_SIZE}). Use an explicit method, or a smaller state`,
      );
    }
    const timeAt = (ci: number) => (ci === 1 ? nextAfter(t1, t0) : t0 + ci * dt);

    /** The active parts of `parts` as one host vector, times each part's sign. */
    function* readActive(parts: tf.Tensor[], signed: boolean): Reads<Float64Array> {
      const t = tf.tidy(() =>
        tf.concat(parts.filter((_, p) => active[p]).map((x) => tf.reshape(x, [-1])))
      );
      let v: ArrayLike<number>;
      try {
        v = yield t;
      } finally {
        t.dispose();
      }
      const out = Float64Array.from(v);
      if (signed) {
        for (let p = 0; p < nParts; p++) {
          if (active[p] && sign(p) !== 1) {
            for (let i = 0; i < sizes[p]; i++) out[offsets[p] + i] *= sign(p);
          }
        }
      }
      return out;
    }
    /** Rows of the active parts from a host vector (times `scale` per part), fresh tensors. */
    const toRows = (v: Float64Array, scale: (p: number) => number): (tf.Tensor | undefined)[] =>
      y0.map((y, p) => {
        if (!active[p]) return undefined;
        const seg = new Float32Array(sizes[p]);
        for (let i = 0; i < sizes[p]; i++) seg[i] = scale(p) * v[offsets[p] + i];
        return tf.tensor(seg, y.shape);
      });
    /** `f` at a host state of the active parts (passive parts: as at the start). */
    const evalAt = (t: number, z: Float64Array): tf.Tensor[] => {
      const rows = toRows(z, () => 1);
      try {
        return f(t, y0.map((y, p) => rows[p] ?? y));
      } finally {
        tf.dispose(rows.filter((r): r is tf.Tensor => r !== undefined));
      }
    };
    const finite = (v: Float64Array) => v.every(Number.isFinite);

    const y0h = yield* readActive(y0, false);
    const f0h = yield* readActive(f0, true);
    const w = (z: Float64Array) => {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = atol + rtol * Math.max(Math.abs(z[i]), Math.abs(y0h[i]));
      return out;
    };
    const rms = (d: Float64Array, scale: Float64Array) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += (d[i] / scale[i]) ** 2;
      return n === 0 ? 0 : Math.sqrt(s / n);
    };

    // The Jacobian of the (signed) active field at the start, by forward differences.
    let cached = JACOBIANS.get(y0[0]);
    if (cached === undefined || cached.t !== t0) {
      const J = new Float64Array(n * n);
      const base = evalAt(t0, y0h);
      const fBase = yield* readActive(base, true);
      tf.dispose(base);
      for (let j = 0; j < n; j++) {
        // A step of the tolerance's size (float32 f cannot resolve much smaller), at least
        // √ε32 relative; a column that comes out 0 is retried with a 1000× larger step.
        let eps = Math.max(3.5e-4 * Math.abs(y0h[j]), atol + rtol * Math.abs(y0h[j]));
        for (let attempt = 0; attempt < 2; attempt++, eps *= 1000) {
          const z = Float64Array.from(y0h);
          z[j] = Math.fround(y0h[j] + eps);
          const h = z[j] - y0h[j];
          const out = evalAt(t0, z);
          const fz = yield* readActive(out, true);
          tf.dispose(out);
          let any = false;
          for (let i = 0; i < n; i++) {
            J[i * n + j] = (fz[i] - fBase[i]) / h;
            any ||= J[i * n + j] !== 0;
          }
          if (any) break;
        }
      }
      cached = { t: t0, J };
      JACOBIANS.set(y0[0], cached);
    }
    const gamma = diagonal![1];
    const M = new Float64Array(n * n);
    for (let i = 0; i < n * n; i++) M[i] = -dt * gamma * cached.J[i];
    for (let i = 0; i < n; i++) M[i * n + i] += 1;
    const lu: LU | undefined = finite(M) ? luFactor(M, n) : undefined;

    // Stages: host derivatives (signed, active parts) and the tensors K keeps (raw f outputs).
    const kh: Float64Array[] = [f0h];
    const K: tf.Tensor[][] = y0.map((y, p) => [y, f0[p]]);
    let z = y0h;
    let failed = lu === undefined;
    for (let i = 1; i < stages - 1 && !failed; i++) {
      const base = Float64Array.from(y0h);
      const guess = Float64Array.from(y0h);
      for (let j = 0; j < i; j++) {
        for (let q = 0; q < n; q++) {
          base[q] += dt * a[i][j] * kh[j][q];
          guess[q] += dt * (alpha[i][j] ?? 0) * kh[j][q];
        }
      }
      z = guess;
      const ti = timeAt(c[i]);
      let passiveOut: tf.Tensor[] | undefined;
      let previous = NaN;
      let converged = false;
      for (let m = 0; m < MAX_NEWTON; m++) {
        const out = evalAt(ti, z);
        tf.dispose(passiveOut?.filter((x, p) => !active[p] && x !== undefined));
        passiveOut = out;
        const fz = yield* readActive(out, true);
        tf.dispose(out.filter((_, p) => active[p]));
        const r = new Float64Array(n);
        for (let q = 0; q < n; q++) r[q] = -(z[q] - base[q] - dt * gamma * fz[q]);
        const delta = luSolve(lu!, r);
        if (!finite(delta)) break;
        for (let q = 0; q < n; q++) z[q] += delta[q];
        const norm = rms(delta, w(z));
        const rate = norm / previous;
        // Converged: a negligible update, or the remaining error θ/(1 − θ)·‖Δ‖ below κ; an
        // update that stops shrinking while already below κ is float32 noise in f.
        if (
          norm < 1e-3 || (m > 0 && rate < 1 && (rate / (1 - rate)) * norm <= KAPPA) ||
          (m > 0 && !(rate < 1) && norm <= KAPPA)
        ) {
          converged = true;
          break;
        }
        if (m > 0 && !(rate < 1)) break; // diverging
        previous = norm;
      }
      if (!converged || !finite(z)) {
        failed = true;
        tf.dispose(passiveOut?.filter((_, p) => !active[p]));
        break;
      }
      const k = new Float64Array(n);
      for (let q = 0; q < n; q++) k[q] = (z[q] - base[q]) / (dt * gamma);
      kh.push(k);
      const rows = toRows(k, sign); // raw f values: sign·(signed derivative)
      K.forEach((Kp, p) => Kp.push(rows[p] ?? passiveOut![p]));
    }
    if (failed) {
      // Rejected by an error estimate of 100× the tolerance; fresh tensors for the loop to own.
      tf.dispose(K.flatMap((Kp) => Kp.slice(2)));
      const scale = 100;
      return tf.tidy(() => {
        const Kf = y0.map((
          y,
          p,
        ) => [y, f0[p], ...Array.from({ length: stages - 1 }, () => tf.clone(f0[p]))]);
        const err = y0.map((y, p) =>
          (options.errParts?.[p] ?? true)
            ? tf.mul(tf.add(tf.mul(tf.abs(y), rtol), atol), scale)
            : undefined
        );
        return {
          K: Kf,
          y1: y0.map((y) => tf.clone(y)),
          kLast: Kf.map((Kp) => Kp[Kp.length - 1]),
          err,
        };
      }) as RkStep;
    }
    // The last stage is an explicit copy of the last implicit one (y1 = Y_{s−2}: stiffly accurate).
    const last = K.map((Kp) => tf.clone(Kp[Kp.length - 1]));
    K.forEach((Kp, p) => Kp.push(last[p]));
    const activeY1 = toRows(z, () => 1);
    const y1 = tf.tidy(() =>
      y0.map((_, p) =>
        activeY1[p] ?? linearCombination(K[p], [1, ...b.map((bi) => dt * sign(p) * bi)])
      )
    );
    const err = tf.tidy(() =>
      K.map((Kp, p) =>
        (options.errParts?.[p] ?? true)
          ? linearCombination(Kp, [0, ...bError!.map((e) => dt * sign(p) * e)])
          : undefined
      )
    );
    return { K, y1, kLast: last, err };
  };
}
