import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mixedNorm, odeint, odeintSync, rmsNorm, type SolveStats } from "../../solvers/mod.ts";
import { odeintAdjoint } from "../../adjoint/mod.ts";
import { view } from "../../solvers/state.ts";
import { assertClose, values } from "../helpers.ts";

await tf.setBackend("cpu");

function mlp(seed: number, dim: number, width: number) {
  const W1 = tf.tidy(() => tf.variable(tf.randomNormal([dim, width], 0, 0.5, "float32", seed)));
  const b1 = tf.tidy(() => tf.variable(tf.randomNormal([width], 0, 0.1, "float32", seed + 1)));
  const W2 = tf.tidy(() => tf.variable(tf.randomNormal([width, dim], 0, 0.3, "float32", seed + 2)));
  const f = (_t: number, y: tf.Tensor) =>
    tf.tidy(() => tf.matMul(tf.tanh(tf.add(tf.matMul(y as tf.Tensor2D, W1), b1)), W2));
  return { f, params: [W1, b1, W2] };
}

/** A solve to `t1`, its profiled part returning its NFE and steps. */
type Profiled = (t1: number) => Promise<{ run: () => Promise<SolveStats>; done?: () => void }>;

/** Kernels per step outside f: a long solve minus a short one, less f's kernels per NFE. */
async function kernelsPerStep(solve: Profiled, perEval: number): Promise<number> {
  const measure = async (t1: number) => {
    const { run, done } = await solve(t1);
    let stats: SolveStats = { nfe: 0, nAccepted: 0, nRejected: 0 };
    const prof = await tf.profile(async () => {
      stats = await run();
    });
    done?.();
    return {
      nfe: stats.nfe,
      steps: stats.nAccepted + stats.nRejected,
      kernels: prof.kernels.length,
    };
  };
  const short = await measure(1), long = await measure(3);
  assert.ok(long.steps > short.steps);
  return ((long.kernels - short.kernels) - (long.nfe - short.nfe) * perEval) /
    (long.steps - short.steps);
}

Deno.test("kernel counts per dopri5 step outside f (cpu): forward 8, backward 26 / 20", async () => {
  // Counts are deterministic (no timing): they guard the lean state against regressions.
  const { f, params } = mlp(1, 4, 16);
  const y0 = tf.randomNormal([32, 4], 0, 1, "float32", 9);
  const fKernels = (await tf.profile(() => f(0, y0))).kernels.length;
  const forward = await kernelsPerStep((t1) =>
    Promise.resolve({
      run: async () => {
        const sol = await odeint(f, y0, [0, t1], { rtol: 1e-6, atol: 1e-8 });
        sol.ys.dispose();
        return sol.stats;
      },
    }), fKernels);
  // Per step (cpu and wasm have the fused kernels): 6 stage sums (the sixth is y1), the error
  // estimate and the error ratio, one kernel each. (35 before the lean state.)
  assert.equal(forward, 8, "forward kernels per step");

  // Backward: the tape's VJP of f (one forward pass under the tape, one backward pass).
  const a = tf.randomNormal([32, 4], 0, 1, "float32", 10);
  const vjpKernels = (await tf.profile(() => {
    const r = tf.engine().gradients(() => f(0, y0), [y0, ...params], a, true);
    return [r.value, ...r.grads];
  })).kernels.length;
  for (const [norm, expected] of [["default", 26], ["seminorm", 20]] as const) {
    const backward = await kernelsPerStep(async (t1) => {
      const sol = await odeintAdjoint(f, y0, [0, t1], params, {
        rtol: 1e-5,
        atol: 1e-7,
        adjoint: { norm },
      });
      const g = tf.stack([tf.zerosLike(y0), tf.onesLike(y0)]);
      return {
        run: async () => {
          const r = await sol.backward(g);
          tf.dispose([r.y0, r.params]);
          return r.stats;
        },
        done: () => tf.dispose([sol.ys, g]),
      };
    }, vjpKernels);
    // z and a_z: 8 each as above; each of the 3 parameter adjoints (passive: no stage sums) its
    // y1 and, under the default norm only, its error estimate and ratio; one Concat of the
    // parts' sums of squares. (140 and 129 before the lean state.)
    assert.equal(backward, expected, `${norm} backward kernels per step (less the VJPs')`);
  }
  tf.dispose([y0, a, params]);
});

Deno.test("the fused error ratio takes the same steps as the norm called on the parts", async () => {
  // A norm that declared its groups (rmsNorm, mixedNorm) is computed fused; the same norm
  // wrapped in a plain function is called on the scaled error's parts. Same steps, outputs equal
  // to float32 rounding of two ways of summing the squares.
  const y0 = [tf.tensor2d([[1, 0.5], [0.2, -1]]), tf.tensor1d([0.3, -0.7, 2])];
  const f = (_t: number, [x, v]: tf.Tensor[]) => [tf.mul(tf.tanh(x), -1.3), tf.sin(v)];
  for (const norm of [rmsNorm, mixedNorm]) {
    const fused = await odeint(f, y0, [0, 0.7, 2], { norm, rtol: 1e-6, atol: 1e-8 });
    const plain = await odeint(f, y0, [0, 0.7, 2], {
      norm: (parts) => norm(parts),
      rtol: 1e-6,
      atol: 1e-8,
    });
    assert.deepEqual(fused.stats, plain.stats, norm.name);
    for (let k = 0; k < 2; k++) {
      assertClose(await values(fused.ys[k]), await values(plain.ys[k]), { atol: 1e-6 }, norm.name);
    }
    tf.dispose([fused.ys, plain.ys]);
  }
  // rtol = 0: the fused ratio is err/atol alone.
  const a = await odeint(f, y0, [0, 2], { rtol: 0, atol: 1e-7 });
  const b = await odeint(f, y0, [0, 2], { rtol: 0, atol: 1e-7, norm: (p) => mixedNorm(p) });
  assert.deepEqual(a.stats, b.stats, "rtol 0");
  tf.dispose([a.ys, b.ys, y0]);
});

Deno.test("adjoint: the fused seminorm takes the steps of the same norm as a function", async () => {
  const { f, params } = mlp(3, 2, 8);
  const y0 = tf.randomNormal([5, 2], 0, 1, "float32", 4);
  const g = tf.randomNormal([3, 5, 2], 0, 1, "float32", 5);
  const ts = [0, 0.4, 1];
  const opts = { rtol: 1e-6, atol: 1e-8 };
  const fused = await odeintAdjoint(f, y0, ts, params, { ...opts, adjoint: { norm: "seminorm" } });
  const asFunction = await odeintAdjoint(f, y0, ts, params, {
    ...opts,
    adjoint: {
      norm: ({ y, adjY }) => tf.tidy(() => tf.maximum(rmsNorm(y), rmsNorm(adjY)) as tf.Scalar),
    },
  });
  const r1 = await fused.backward(g);
  const r2 = await asFunction.backward(g);
  assert.deepEqual(r1.stats, r2.stats);
  for (const [i, p] of r1.params.entries()) {
    assertClose(await values(p), await values(r2.params[i]), { rtol: 1e-5, atol: 1e-6 }, `θ[${i}]`);
  }
  tf.dispose([fused.ys, asFunction.ys, r1.y0, r1.params, r2.y0, r2.params, y0, g, params]);
});

Deno.test("view: shares the data without a kernel, and is tf.reshape under a tape", async () => {
  const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
  const prof = await tf.profile(() => view(x, [3, 2]));
  assert.equal(prof.kernels.length, 0, "no kernel outside a tape");
  assert.deepEqual((prof.result as tf.Tensor).shape, [3, 2]);
  (prof.result as tf.Tensor).dispose();
  assert.throws(() => view(x, [4]), /does not hold the 6 elements/);
  // Under a tape the gradient flows through it: d/dx Σ view(x)² = 2x.
  const g = tf.grad((z: tf.Tensor) => tf.sum(tf.square(view(z, [6]))))(x);
  assert.deepEqual(await values(g), [2, 4, 6, 8, 10, 12]);
  // And odeintSync, whose gradients go through every operation of the solver, still has them.
  const dy = tf.grad((y: tf.Tensor) =>
    tf.sum(tf.slice(odeintSync((_t, s) => tf.neg(s), y, [0, 1], { rtol: 1e-7 }).ys, [1], [1]))
  )(x);
  assertClose(await values(dy), new Array(6).fill(Math.exp(-1)), { rtol: 1e-5 }, "d y(1)/d y0");
  tf.dispose([x, g, dy]);
});
