import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../../../backend.ts";
import { isVjpField, vjp } from "../../../adjoint/mod.ts";
import { mlpField } from "../../../fields/mod.ts";
import {
  cdeint,
  cdeVectorField,
  hermiteCubicInterpolation,
  type Interpolation,
  linearInterpolation,
  NeuralCDE,
  withCdeVjp,
} from "../../../models/cde/mod.ts";
import { seededRandom } from "../../../models/data/random.ts";
import { values } from "../../helpers.ts";

await tf.setBackend("cpu");

/** Random paths `[batch, length, channels]` (fixed seed) with time as channel 0. */
function randomPaths(batch: number, length: number, channels: number, seed: number): tf.Tensor3D {
  const rng = seededRandom(seed);
  return tf.tensor3d(
    Array.from({ length: batch }, () =>
      Array.from(
        { length },
        (_, i) => Array.from({ length: channels }, (_, c) => c === 0 ? i : 2 * rng() - 1),
      )),
  );
}

/** Random `[rows, cols]` values in ±1 (fixed seed). */
function randomMatrix(rows: number, cols: number, seed: number): tf.Tensor2D {
  const rng = seededRandom(seed);
  return tf.tensor2d(Float32Array.from({ length: rows * cols }, () => 2 * rng() - 1), [rows, cols]);
}

/**
 * |hand − tape| ≤ 1e-5·max|tape| + 1e-7 elementwise: both compute the same float32 products and
 * sums, in a different order, so they differ by float32 rounding (~1e-7 relative per operation,
 * accumulated over sums of ~100 terms); 1e-5 of the tensor's scale leaves a margin, while a
 * wrong term (a missing 1 − tanh², a transposed product) is off by O(1) of the scale.
 */
async function assertSameTensor(hand: tf.Tensor, tape: tf.Tensor, what: string): Promise<void> {
  assert.deepEqual(hand.shape, tape.shape, `${what}: shape`);
  const [h, t] = [await values(hand), await values(tape)];
  const scale = Math.max(...t.map(Math.abs));
  assert.ok(scale > 0, `${what}: the tape's value is all zeros, the test would prove nothing`);
  h.forEach((hi, i) =>
    assert.ok(Math.abs(hi - t[i]) <= 1e-5 * scale + 1e-7, `${what}[${i}]: ${hi} vs ${t[i]}`)
  );
}

/** The hand VJP of the model's CDE field against the tape's at `(t, z)` with cotangent `a`. */
async function compareAt(
  model: NeuralCDE,
  X: Interpolation,
  t: number,
  z: tf.Tensor,
  a: tf.Tensor,
  what: string,
): Promise<void> {
  const F = withCdeVjp(X, model.field, cdeVectorField(X, model.field));
  assert.ok(isVjpField(F), "the NeuralCDE's field brings its VJP");
  const plain = cdeVectorField(X, (tt, zz) => model.vectorField(tt, zz));
  const params = model.fieldVariables;
  const [hand, tape] = tf.tidy(() => {
    const hand = F.vjp(t, z, a);
    const tape = vjp(() => [plain(t, z)], [z, ...params], [a]);
    return [[hand.value, hand.y, ...hand.params], [...tape.value, ...tape.grads]];
  });
  assert.equal(hand.length, tape.length);
  const names = ["value", "z", ...params.map((p) => p.name)];
  for (let i = 0; i < hand.length; i++) {
    await assertSameTensor(hand[i], tape[i], `${what} ${names[i]}`);
  }
  tf.dispose([hand, tape]);
}

Deno.test("the Neural CDE field's hand VJP equals the tape's to float32 rounding (linear and Hermite paths, several pieces)", async () => {
  const model = new NeuralCDE({
    inputChannels: 4,
    hiddenChannels: 6,
    hiddenHiddenChannels: 7,
    numHiddenLayers: 3,
    seed: 5,
  });
  const x = randomPaths(5, 7, 4, 1);
  const z = randomMatrix(5, 6, 2);
  const a = randomMatrix(5, 6, 3);
  const before = tf.memory().numTensors;
  for (
    const [scheme, build] of [["linear", linearInterpolation], [
      "hermite",
      hermiteCubicInterpolation,
    ]] as const
  ) {
    const X = await build(x);
    // Inside the first piece, at a knot (the left piece) and inside a later one.
    for (const t of [0.3, 2, 4.75]) await compareAt(model, X, t, z, a, `${scheme} t=${t}`);
    X.dispose();
  }
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
  tf.dispose([x, z, a]);
  model.dispose();
});

Deno.test("lossAndGrads: the hand VJP gives the tape's loss, gradients and NFE (both norms)", async () => {
  const model = new NeuralCDE({
    inputChannels: 3,
    hiddenChannels: 5,
    hiddenHiddenChannels: 8,
    numHiddenLayers: 2,
    classes: 3,
    seed: 9,
  });
  const x = randomPaths(6, 8, 3, 4);
  const X = await linearInterpolation(x);
  const labels = [0, 1, 2, 2, 1, 0];
  const before = tf.memory().numTensors;
  for (const norm of ["default", "seminorm"] as const) {
    // The paper preset's tolerances. (The ReLU field's adjoint is non-smooth wherever a unit
    // switches, so at much tighter tolerances the step controller rejects many steps and its
    // decisions become sensitive to rounding: the NFE could then differ by rounding alone.)
    const options = { rtol: 1e-3, atol: 1e-6, adjoint: { norm } };
    const hand = await model.lossAndGrads(X, labels, options);
    const tape = await model.lossAndGrads(X, labels, { ...options, vjp: "tape" });
    // The same forward solve; the backward solves differ by float32 rounding in the VJPs only,
    // which changes no step decision here: the NFE must be equal.
    assert.equal(hand.loss, tape.loss, `${norm}: loss`);
    assert.deepEqual(hand.forward, tape.forward, `${norm}: forward stats`);
    assert.equal(hand.backward!.nfe, tape.backward!.nfe, `${norm}: backward NFE`);
    for (const v of model.variables) {
      // The same steps, so only float32 rounding in the VJPs differs, accumulated over the
      // backward solve: 1e-4 of the gradient's scale (a wrong VJP term changes the gradient
      // by O(1) of it).
      const [h, t] = [await values(hand.grads[v.name]), await values(tape.grads[v.name])];
      const scale = Math.max(1e-3, ...t.map(Math.abs));
      h.forEach((hi, i) =>
        assert.ok(Math.abs(hi - t[i]) <= 1e-4 * scale, `${norm} ${v.name}[${i}]: ${hi} vs ${t[i]}`)
      );
    }
    tf.dispose([hand.grads, tape.grads]);
  }
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
  await assert.rejects(model.lossAndGrads(X, labels, { vjp: "jvp" as never }), /"hand" or "tape"/);
  tf.dispose(x);
  X.dispose();
  model.dispose();
});

Deno.test("cdeint with a withVjp matrix field: the hand VJP's adjoint gradients equal the tape's (f(z) = tanh(z·W))", async () => {
  // A smooth field on a linear path, whose kinks are jumpT: the backward steps are decided by
  // smooth dynamics, the same with both VJPs.
  const x = randomPaths(3, 5, 2, 8);
  const X = await linearInterpolation(x);
  const W = tf.variable(tf.mul(randomMatrix(4, 8, 6), 0.5));
  const g = mlpField([{ kernel: W }], { finalActivation: "tanh", outputShape: [4, 2] });
  const z0 = randomMatrix(3, 4, 7);
  const dL = tf.tidy(() => tf.stack([tf.zeros([3, 4]), tf.ones([3, 4])]));
  const before = tf.memory().numTensors;
  const run = async (f: typeof g | ((t: number, z: tf.Tensor) => tf.Tensor)) => {
    const sol = await cdeint(X, f, z0, [X.t0, X.t1], { params: [W], rtol: 1e-6, atol: 1e-8 });
    const grads = await sol.backward(dL);
    sol.ys.dispose();
    return grads;
  };
  const hand = await run(g);
  const tape = await run((t, z) => g(t, z));
  assert.equal(hand.stats.nfe, tape.stats.nfe, "backward NFE");
  await assertSameTensor(hand.y0, tape.y0, "dL/dz0");
  await assertSameTensor(hand.params[0], tape.params[0], "dL/dW");
  tf.dispose([hand.y0, hand.params, tape.y0, tape.params]);
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
  tf.dispose([x, W, z0, dL]);
  X.dispose();
});

Deno.test("wasm: the Neural CDE field's hand VJP equals the tape's", async () => {
  await useBackend("wasm");
  try {
    const model = new NeuralCDE({
      inputChannels: 3,
      hiddenChannels: 9,
      hiddenHiddenChannels: 6,
      numHiddenLayers: 2,
      seed: 2,
    });
    const x = randomPaths(4, 6, 3, 11);
    const z = randomMatrix(4, 9, 12);
    const a = randomMatrix(4, 9, 13);
    const X = await linearInterpolation(x);
    const before = tf.memory().numTensors;
    await compareAt(model, X, 2.5, z, a, "wasm linear");
    assert.equal(tf.memory().numTensors, before, "leaked tensors");
    tf.dispose([x, z, a]);
    X.dispose();
    model.dispose();
  } finally {
    await useBackend("cpu");
  }
});
