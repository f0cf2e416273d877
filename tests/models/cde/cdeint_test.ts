import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  cdeint,
  hermiteCubicInterpolation,
  type Interpolation,
  linearInterpolation,
  naturalCubicSpline,
} from "../../../models/cde/mod.ts";
import { seededRandom, uniform } from "../../../models/data/mod.ts";
import { assertClose, values } from "../../helpers.ts";

await tf.setBackend("cpu");

const T = [0, 0.4, 1, 1.5, 2.7, 3];
/** Two paths, two channels, with kinks of both signs. */
const DATA = [
  [[0, 0], [0.5, -0.2], [0.1, 0.4], [0.9, 0.3], [0.2, -0.5], [0.6, 0.1]],
  [[1, 0.3], [0.7, 0.8], [1.2, 0.2], [0.4, 0.6], [0.8, 0.9], [0.1, 0.2]],
];

async function control(
  scheme: "linear" | "hermite" | "natural",
  x: tf.Tensor,
): Promise<Interpolation> {
  if (scheme === "linear") return await linearInterpolation(x, T);
  if (scheme === "hermite") return await hermiteCubicInterpolation(x, T);
  return await naturalCubicSpline(x, T);
}

Deno.test("f(z) = A constant: z(t) = z0 + A·(X(t) − X(t0)) at every output time, all schemes", async () => {
  const x = tf.tensor3d(DATA);
  // Per-sample 3×2 matrices.
  const Aval = [[[1, -1], [0.5, 2], [0, 1]], [[-2, 0.3], [1, 1], [0.7, -0.4]]];
  const A = tf.tensor3d(Aval);
  const z0v = [[1, 2, 3], [-1, 0, 1]];
  const z0 = tf.tensor2d(z0v);
  const ts = [0, 0.7, 2, 3];
  for (const scheme of ["linear", "hermite", "natural"] as const) {
    const X = await control(scheme, x);
    const before = tf.memory().numTensors;
    // Linear: the knots go to jumpT by default. The cubic splines are C¹/C² at the knots, so no
    // jumps; stepping onto their knots (stepT) keeps every step on one polynomial piece, where
    // the check below is exact. (Without it, steps across a knot are accepted on dopri5's error
    // estimate, which can misjudge a jump in X'': errors of ~5e-5 were seen at rtol 1e-6.)
    const stepT = scheme === "linear" ? undefined : X.knots.slice(1, -1);
    const sol = await cdeint(X, () => A, z0, ts, {
      adjoint: false,
      rtol: 1e-6,
      atol: 1e-8,
      stepT,
    });
    assert.deepEqual(sol.ys.shape, [4, 2, 3]);
    const ys = await values(sol.ys);
    const x0 = X.evaluate(X.t0);
    const x0v = await values(x0);
    for (let k = 0; k < ts.length; k++) {
      const xt = X.evaluate(ts[k]);
      const xtv = await values(xt);
      tf.dispose(xt);
      const expected: number[] = [];
      for (let b = 0; b < 2; b++) {
        for (let h = 0; h < 3; h++) {
          let v = z0v[b][h];
          for (let c = 0; c < 2; c++) v += Aval[b][h][c] * (xtv[2 * b + c] - x0v[2 * b + c]);
          expected.push(v);
        }
      }
      // Exact in exact arithmetic (dz/dt is a polynomial of degree ≤ 2 in t on each piece, which
      // dopri5 integrates exactly); float32 accumulation over ~20 steps: 1e-5.
      assertClose(
        ys.slice(6 * k, 6 * k + 6),
        expected,
        { rtol: 1e-5, atol: 1e-5 },
        `${scheme} z(${ts[k]})`,
      );
    }
    tf.dispose([sol.ys, x0]);
    assert.equal(tf.memory().numTensors, before, `${scheme}: leaked tensors`);
    X.dispose();
  }
  tf.dispose([x, A, z0]);
});

Deno.test("scalar exponential: z' = θ·z·(1ᵀ dX/dt), value and adjoint gradients in closed form", async () => {
  // z(T) = z0·exp(θ·S) with S = Σ_c (X_c(T) − X_c(t0)); L = Σ_b z_b(T):
  // dL/dz0_b = exp(θ S_b), dL/dθ = Σ_b z0_b S_b exp(θ S_b).
  const x = tf.tensor3d(DATA);
  const X = await linearInterpolation(x, T);
  const theta0 = 0.8;
  const theta = tf.variable(tf.scalar(theta0));
  const z0v = [1.5, -0.5];
  const z0 = tf.tensor2d(z0v, [2, 1]);
  const S = DATA.map((rows) => rows[5][0] + rows[5][1] - rows[0][0] - rows[0][1]);
  const f = (_t: number, z: tf.Tensor) =>
    tf.mul(theta, tf.tile(tf.reshape(z, [2, 1, 1]), [1, 1, 2]));
  const dLdys = tf.tensor3d([[[0], [0]], [[1], [1]]]);
  const before = tf.memory().numTensors;
  for (const norm of ["default", "seminorm"] as const) {
    const sol = await cdeint(X, f, z0, [X.t0, X.t1], {
      params: [theta],
      rtol: 1e-7,
      atol: 1e-9,
      adjoint: { norm, record: true },
    });
    assertClose((await values(sol.ys)).slice(2), z0v.map((z, b) => z * Math.exp(theta0 * S[b])), {
      rtol: 1e-5,
      atol: 1e-5,
    }, "z(T)");
    const g = await sol.backward(dLdys);
    // Tolerances 1e-7 per solve; float32 states: 1e-5 relative.
    assertClose(
      await values(g.y0),
      S.map((s) => Math.exp(theta0 * s)),
      { rtol: 1e-5, atol: 1e-5 },
      `${norm} dL/dz0`,
    );
    const dTheta = S.reduce((acc, s, b) => acc + z0v[b] * s * Math.exp(theta0 * s), 0);
    assertClose(await values(g.params[0]), [dTheta], { rtol: 1e-5, atol: 1e-5 }, `${norm} dL/dθ`);
    // The knots were passed as jumpT to the backward solve too: it steps onto each of them.
    for (const knot of T.slice(1, -1)) {
      assert.ok(g.stats.acceptTs!.includes(knot), `${norm}: backward missed knot ${knot}`);
    }
    tf.dispose([sol.ys, g.y0, g.params]);
  }
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
  tf.dispose([x, theta, z0, dLdys]);
  X.dispose();
});

Deno.test("linear control: jumpT at the knots (the default) costs fewer NFE than none", async () => {
  // 24 pieces with slopes of alternating sign: without jumpT every kink costs rejected steps.
  const n = 25;
  const t = Array.from({ length: n }, (_, i) => i * 0.5);
  const rows = [t.map((_, i) => [i % 2 === 0 ? 0 : 1, Math.sin(i)])];
  const x = tf.tensor3d(rows);
  const X = await linearInterpolation(x, t);
  const W = tf.tensor2d([[0.5, -0.3, 0.2, 0.1], [0.2, 0.4, -0.6, 0.3]]); // hidden 2 → 2·2
  const f = (_t: number, z: tf.Tensor) =>
    tf.reshape(tf.tanh(tf.matMul(z as tf.Tensor2D, W)), [1, 2, 2]);
  const z0 = tf.tensor2d([[0.3, -0.2]]);
  const opts = { adjoint: false as const, rtol: 1e-6, atol: 1e-8, record: true };
  const withJumps = await cdeint(X, f, z0, [X.t0, X.t1], opts);
  const without = await cdeint(X, f, z0, [X.t0, X.t1], { ...opts, jumpT: [] });
  const a = await values(withJumps.ys);
  const b = await values(without.ys);
  // Same answer (both meet the tolerance; rejections near kinks keep the plain solve accurate).
  assertClose(b, a, { rtol: 1e-4, atol: 1e-4 }, "z with vs without jumpT");
  assert.ok(
    withJumps.stats.nfe < without.stats.nfe,
    `jumpT NFE ${withJumps.stats.nfe} should be below plain NFE ${without.stats.nfe}`,
  );
  // Every interior knot is a step end with jumpT, and no step is rejected for crossing a kink.
  for (const knot of t.slice(1, -1)) assert.ok(withJumps.stats.acceptTs!.includes(knot));
  assert.ok(without.stats.nRejected > withJumps.stats.nRejected);
  tf.dispose([x, W, z0, withJumps.ys, without.ys]);
  X.dispose();
});

Deno.test("cdeint: clear errors for bad shapes and options, without leaks", async () => {
  const x = tf.tensor3d(DATA);
  const X = await linearInterpolation(x, T);
  const z0 = tf.zeros([2, 3]);
  const before = tf.memory().numTensors;
  await assert.rejects(
    cdeint(X, () => tf.zeros([2, 3, 5]), z0, [0, 3], { adjoint: false }),
    /must return \[batch, hidden, channels\] = \[2, 3, 2\].*got \[2,3,5\]/,
  );
  await assert.rejects(cdeint(X, () => tf.zeros([2, 3, 2]), z0, [0, 3]), /needs options\.params/);
  await assert.rejects(
    cdeint(X, () => tf.zeros([1, 3, 2]), tf.zeros([1, 3]), [0, 3], { adjoint: false }),
    /z0 has batch 1 but X has batch 2/,
  );
  await assert.rejects(
    cdeint(X, () => tf.zeros([2, 3, 2]), z0, [0, 3], { adjoint: false, params: [] }),
    /params only applies with the adjoint/,
  );
  assert.equal(tf.memory().numTensors, before + 1, "leaked tensors"); // + the tf.zeros([1, 3])
  tf.dispose([x, z0]);
  X.dispose();
});

/**
 * torchcde's tiny Neural CDE (its README's: batch 1, a time channel linspace(0, 1) plus one
 * uniform random channel, hidden 3, f(z) = Linear(hidden → hidden·input)(z) reshaped to
 * [hidden, input], z0 uniform random) on a linear path with knots 0…8 (the default times of 9
 * observations), dopri5, rtol 1e-3, atol 1e-6. The weights are torch.nn.Linear's uniform
 * ±1/√fan_in drawn from our seeded generator (torch's own draws cannot be reproduced here), so
 * the step counts are this problem's, pinned as measured; the structure is torchcde's.
 */
async function tinyNeuralCde(seed: number) {
  const random = seededRandom(seed);
  const length = 9, hidden = 3, input = 2;
  const x = tf.tensor3d([
    Array.from({ length }, (_, i) => [i / (length - 1), uniform(random, 0, 1)]),
  ]);
  const X = await linearInterpolation(x);
  const bound = 1 / Math.sqrt(hidden);
  const draw = (n: number) => Array.from({ length: n }, () => uniform(random, -bound, bound));
  const W = tf.variable(tf.tensor2d(draw(hidden * hidden * input), [hidden, hidden * input]));
  const b = tf.variable(tf.tensor1d(draw(hidden * input)));
  const z0 = tf.tensor2d([Array.from({ length: hidden }, () => random())]);
  const f = (_t: number, z: tf.Tensor) =>
    tf.reshape(tf.add(tf.matMul(z as tf.Tensor2D, W), b), [1, hidden, input]);
  const dispose = () => {
    tf.dispose([x, W, b, z0]);
    X.dispose();
  };
  return { X, f, z0, params: [W, b], hidden, dispose };
}

Deno.test("default jumpT holds both ends: no step past T forward or past t0 backward (torchcde's jump_t = X.grid_points)", async () => {
  const { X, f, z0, params, hidden, dispose } = await tinyNeuralCde(3);
  const knots = X.knots;
  assert.deepEqual(knots, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  const dLdys = tf.concat([tf.zeros([1, 1, hidden]), tf.ones([1, 1, hidden])]);
  const before = tf.memory().numTensors;
  // Pinned counts of this problem (float32, cpu backend): forward 10 accepted + 0 rejected
  // (torchdiffeq's figure for torchcde's own weights, by chance); backward 12 + 0 with the default
  // norm, 9 + 0 with the seminorm (one step per piece: the fewest there can be with a jump at
  // every knot). Issue 15's backward figures (22 + 10 default, 20 + 2 seminorm) are for torch's
  // weights, which cannot be drawn here.
  const expected = {
    default: { forward: [10, 0], backward: [12, 0] },
    seminorm: { forward: [10, 0], backward: [9, 0] },
  };
  for (const norm of ["default", "seminorm"] as const) {
    const sol = await cdeint(X, f, z0, [X.t0, X.t1], {
      params,
      rtol: 1e-3,
      atol: 1e-6,
      record: true,
      adjoint: { norm },
    });
    const g = await sol.backward(dLdys);
    const fw = sol.stats, bw = g.stats;
    // Both ends are steps' ends: the forward's last accepted step ends exactly at T, the
    // backward's exactly at t0, and every knot is a step end in both passes.
    assert.equal(fw.acceptTs!.at(-1), X.t1, `${norm}: forward's last step ends at T`);
    assert.equal(bw.acceptTs!.at(-1), X.t0, `${norm}: backward's last step ends at t0`);
    for (const k of knots.slice(1)) assert.ok(fw.acceptTs!.includes(k), `forward knot ${k}`);
    for (const k of knots.slice(0, -1)) assert.ok(bw.acceptTs!.includes(k), `backward knot ${k}`);
    // No evaluation and no attempted step outside the path's domain [0, 8] (before the fix the
    // forward stepped past 8 and the backward's rejected steps ended below 0).
    for (
      const [what, ts] of [
        ["forward evaluations", fw.evalTs!],
        ["forward steps", [...fw.acceptTs!, ...fw.rejectTs!]],
        ["backward evaluations", bw.evalTs!],
        ["backward steps", [...bw.acceptTs!, ...bw.rejectTs!]],
      ] as const
    ) {
      const out = ts.filter((t) => t < X.t0 || t > X.t1);
      assert.deepEqual(out, [], `${norm}: ${what} outside [0, 8]`);
    }
    assert.deepEqual([fw.nAccepted, fw.nRejected], expected[norm].forward, `${norm} forward`);
    assert.deepEqual([bw.nAccepted, bw.nRejected], expected[norm].backward, `${norm} backward`);
    tf.dispose([sol.ys, g.y0, g.params]);
  }
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
  dLdys.dispose();
  dispose();
});

Deno.test("cdeint: times outside the path's domain are an error naming them and the domain", async () => {
  const { X, f, z0, dispose } = await tinyNeuralCde(0);
  const before = tf.memory().numTensors;
  await assert.rejects(
    cdeint(X, f, z0, [0, 8, 9.5], { adjoint: false }),
    (e: Error) =>
      e instanceof RangeError &&
      /\[9\.5\] outside the control path's domain \[0, 8\]/.test(e.message),
  );
  await assert.rejects(
    cdeint(X, f, z0, [-1, 4], { adjoint: false }),
    /\[-1\] outside the control path's domain \[0, 8\]/,
  );
  // The ends themselves are inside.
  const sol = await cdeint(X, f, z0, [0, 8], { adjoint: false });
  sol.ys.dispose();
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
  dispose();
});
