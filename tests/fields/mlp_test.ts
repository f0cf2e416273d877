import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as tf from "@tensorflow/tfjs";
import { type Activation, ACTIVATIONS, mlpField } from "../../fields/mod.ts";
import { isVjpField, odeintAdjoint } from "../../adjoint/mod.ts";
import { odeint } from "../../solvers/mod.ts";
import { assertClose, values } from "../helpers.ts";

await tf.setBackend("cpu");

function layersOf(sizes: number[], seed: number, bias = true) {
  return sizes.slice(1).map((out, i) => ({
    kernel: tf.tidy(() =>
      tf.variable(tf.randomNormal([sizes[i], out], 0, 1 / Math.sqrt(sizes[i]), "float32", seed + i))
    ),
    bias: bias
      ? tf.tidy(() => tf.variable(tf.randomNormal([out], 0, 0.3, "float32", seed + 50 + i)))
      : undefined,
  }));
}

/** The tape's value and VJP of `f` at (t, y) with cotangent a, w.r.t. [y, ...params]. */
function tapeVjp(
  f: (t: number, y: tf.Tensor) => tf.Tensor,
  t: number,
  y: tf.Tensor,
  a: tf.Tensor,
  params: tf.Tensor[],
) {
  const { value, grads } = tf.engine().gradients(() => f(t, y), [y, ...params], a, true);
  return { value, grads: grads.map((g, i) => g ?? tf.zerosLike([y, ...params][i])) };
}

/** Largest |x| of a tensor, for a tolerance relative to the tensor's scale. */
async function scale(x: tf.Tensor): Promise<number> {
  return Math.max(...(await values(x)).map(Math.abs), 1e-30);
}

Deno.test("mlpField's hand-written VJP equals the tape's to float32 rounding (every activation, time input, no bias, 1-D state)", async () => {
  const before = tf.memory().numTensors;
  const cases: {
    activation: Activation;
    finalActivation: Activation;
    time: boolean;
    bias: boolean;
    rank1: boolean;
  }[] = [];
  for (const activation of ACTIVATIONS) {
    cases.push({ activation, finalActivation: "linear", time: false, bias: true, rank1: false });
  }
  cases.push({ activation: "tanh", finalActivation: "tanh", time: true, bias: true, rank1: false });
  cases.push({
    activation: "softplus",
    finalActivation: "sigmoid",
    time: true,
    bias: false,
    rank1: false,
  });
  cases.push({
    activation: "relu",
    finalActivation: "linear",
    time: true,
    bias: true,
    rank1: true,
  });
  for (const [n, c] of cases.entries()) {
    const layers = layersOf([3, 24, 16, 3], 10 * n + 1, c.bias);
    const timeKernel = c.time
      ? tf.tidy(() => tf.variable(tf.randomNormal([24], 0, 0.5, "float32", 99)))
      : undefined;
    const field = mlpField(layers, {
      activation: c.activation,
      finalActivation: c.finalActivation,
      timeKernel,
    });
    assert.ok(isVjpField(field));
    const y = c.rank1
      ? tf.randomNormal([3], 0, 1, "float32", 5)
      : tf.randomNormal([32, 3], 0, 1, "float32", 5);
    const a = tf.randomNormal(y.shape, 0, 1, "float32", 6);
    const t = 0.7;
    const hand = tf.tidy(() => field.vjp(t, y, a));
    const tape = tf.tidy(() => tapeVjp(field, t, y, a, field.params));
    const what = JSON.stringify(c);
    // Float32 rounding: the two compute the same sums in different orders (the tape also goes
    // through broadcasting-sum and reshape gradients), each element off by a few ulps of the
    // largest terms it sums: 1e-5 of the tensor's scale covers that with margin, and is far
    // below any error of the derivative itself (a wrong factor or sign is O(1)).
    const pairs: [tf.Tensor, tf.Tensor, string][] = [
      [hand.value, tape.value, "value"],
      [hand.y, tape.grads[0], "aᵀ∂f/∂y"],
      ...hand.params.map((g, i) =>
        [g, tape.grads[i + 1], `aᵀ∂f/∂θ[${i}]`] as [tf.Tensor, tf.Tensor, string]
      ),
    ];
    assert.equal(hand.params.length, field.params.length, what);
    for (const [h, tp, name] of pairs) {
      assert.deepEqual(h.shape, tp.shape, `${what} ${name} shape`);
      const s = await scale(tp);
      assertClose(await values(h), await values(tp), { atol: 1e-5 * s }, `${what} ${name}`);
    }
    tf.dispose([hand.value, hand.y, hand.params, tape.value, tape.grads, y, a, timeKernel]);
    tf.dispose(
      layers.flatMap((l) => [l.kernel, l.bias]).filter((x) => x !== undefined) as tf.Tensor[],
    );
  }
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
});

Deno.test("mlpField through odeintAdjoint: the hand VJP gives the tape path's gradients and NFE", async () => {
  const layers = layersOf([2, 32, 32, 2], 3);
  const timeKernel = tf.tidy(() => tf.variable(tf.randomNormal([32], 0, 0.5, "float32", 8)));
  const field = mlpField(layers, { timeKernel });
  const plain = (t: number, y: tf.Tensor) => field(t, y); // the same field, without its VJP
  assert.ok(!isVjpField(plain));
  const y0 = tf.randomNormal([16, 2], 0, 1, "float32", 4);
  const ts = [0, 0.5, 1.5];
  const dLdys = tf.randomNormal([3, 16, 2], 0, 1, "float32", 7);
  for (const norm of ["default", "seminorm"] as const) {
    const opts = { rtol: 1e-5, atol: 1e-7, adjoint: { norm } };
    const before = tf.memory().numTensors;
    const handSol = await odeintAdjoint(field, y0, ts, field.params, opts);
    const hand = await handSol.backward(dLdys);
    const tapeSol = await odeintAdjoint(plain, y0, ts, field.params, opts);
    const tape = await tapeSol.backward(dLdys);
    assert.equal(hand.stats.nfe, tape.stats.nfe, `${norm}: backward NFE`);
    assert.equal(handSol.stats.nfe, tapeSol.stats.nfe, `${norm}: forward NFE`);
    // Both solve the same backward ODE with right-hand sides equal to float32 rounding (test
    // above) and the same steps; the gradients then agree to accumulated rounding, ~1e-6 of
    // their scale; 1e-4 leaves room for the few hundred steps' worth of it.
    for (const [i, g] of hand.params.entries()) {
      const s = await scale(tape.params[i]);
      assertClose(
        await values(g),
        await values(tape.params[i]),
        { atol: 1e-4 * s },
        `${norm} θ[${i}]`,
      );
    }
    assertClose(await values(hand.y0), await values(tape.y0), {
      atol: 1e-4 * (await scale(tape.y0)),
    }, `${norm} y0`);
    tf.dispose([handSol.ys, tapeSol.ys, hand.y0, hand.params, tape.y0, tape.params]);
    assert.equal(tf.memory().numTensors, before, `${norm}: tensors leaked`);
  }
  tf.dispose([y0, dLdys, timeKernel, ...layers.flatMap((l) => [l.kernel, l.bias!])]);
});

Deno.test("the benchmark problem (shared/reference/bench_problem.json) with mlpField: NFE and loss as recorded", async () => {
  const ref = JSON.parse(
    await readFile(new URL("../solvers/data/bench_problem.json", import.meta.url), "utf8"),
  );
  // torch layout W [out][in] → kernel [in, out].
  const layers = (ref.layers as [number[][], number[]][]).map(([W, b]) => ({
    kernel: tf.transpose(tf.tensor2d(W)),
    bias: tf.tensor1d(b),
  }));
  const f = mlpField(layers, { activation: "tanh" });
  const y0 = tf.tensor2d(ref.y0);
  const target = tf.tensor3d(ref.target);
  const { method, rtol, atol } = ref.solver;
  for (const norm of ["default", "seminorm"] as const) {
    const sol = await odeintAdjoint(f, y0, ref.ts, f.params, {
      method,
      rtol,
      atol,
      adjoint: { norm },
    });
    const diff = tf.sub(sol.ys as tf.Tensor, target);
    const loss = (await tf.mean(tf.square(diff)).data())[0];
    // The issue records the loss as 1.33141: a float32 solve at rtol 1e-3 agrees with the
    // reference run to ~2e-5 relative (seen: 1.331433 vs 1.331411); 1e-4 is that with margin.
    assert.ok(Math.abs(loss - ref.expected.loss) < 1e-4 * ref.expected.loss, `loss ${loss}`);
    assert.equal(sol.stats.nfe, ref.expected.forward_nfe);
    const g = await sol.backward(tf.mul(diff, 2 / diff.size) as tf.Tensor);
    assert.equal(g.stats.nfe, ref.expected.backward_nfe[norm], `${norm} backward NFE`);
    tf.dispose([sol.ys, diff, g.y0, g.params]);
  }
  const plainSol = await odeint(f, y0, ref.ts, { method, rtol, atol });
  assert.equal(plainSol.stats.nfe, ref.expected.forward_nfe);
  tf.dispose([plainSol.ys, y0, target, ...layers.flatMap((l) => [l.kernel, l.bias])]);
});

Deno.test("mlpField rejects bad layers, activations and states with clear messages", () => {
  const k = tf.zeros([2, 4]);
  assert.throws(() => mlpField([]), /non-empty/);
  assert.throws(() => mlpField([{ kernel: k }]), /first layer takes 2 inputs and the last gives 4/);
  assert.throws(
    () => mlpField([{ kernel: k }, { kernel: tf.zeros([3, 2]) }]),
    /layers\[1\]\.kernel has 3 inputs/,
  );
  assert.throws(
    () => mlpField([{ kernel: k, bias: tf.zeros([3]) }, { kernel: tf.zeros([4, 2]) }]),
    /bias must have shape \[4\]/,
  );
  assert.throws(
    () => mlpField([{ kernel: tf.zeros([2, 2]) }], { activation: "gelu" as Activation }),
    /unknown activation "gelu"/,
  );
  assert.throws(
    () => mlpField([{ kernel: tf.zeros([2, 2]) }], { timeKernel: tf.zeros([3]) }),
    /timeKernel must have shape \[2\]/,
  );
  const f = mlpField([{ kernel: tf.eye(2) }]);
  assert.throws(() => f(0, tf.zeros([3, 3])), /state must have shape \[batch, 2\]/);
});

Deno.test("odeintAdjoint: a parameter the field does not read gets zeros (tape and field VJP), no leaks", async () => {
  const layers = layersOf([2, 8, 2], 21);
  const field = mlpField(layers);
  const unused = tf.tidy(() => tf.variable(tf.ones([3])));
  const y0 = tf.tensor2d([[0.5, -0.5]]);
  const dLdys = tf.ones([2, 1, 2]);
  const plain = (t: number, y: tf.Tensor) => field(t, y);
  for (const f of [field, plain]) {
    const before = tf.memory().numTensors;
    const sol = await odeintAdjoint(f, y0, [0, 1], [...field.params, unused], { rtol: 1e-5 });
    const g = await sol.backward(dLdys);
    assert.deepEqual(await values(g.params[field.params.length]), [0, 0, 0]);
    assert.ok((await values(g.params[0])).some((x) => x !== 0));
    tf.dispose([sol.ys, g.y0, g.params]);
    assert.equal(tf.memory().numTensors, before, "tensors leaked");
  }
  tf.dispose([unused, y0, dLdys, ...layers.flatMap((l) => [l.kernel, l.bias!])]);
});

Deno.test("mlpField with outputShape: a reshaped value, and a hand VJP equal to the tape's (batched and 1-D)", async () => {
  const before = tf.memory().numTensors;
  // 4 → 10 → 6 reshaped to [3, 2] per sample (the Neural CDE's matrix field g(z) has this form).
  const layers = layersOf([4, 10, 6], 31);
  const g = mlpField(layers, { activation: "relu", finalActivation: "tanh", outputShape: [3, 2] });
  for (const yShape of [[5, 4], [4]]) {
    const y = tf.randomNormal(yShape, 0, 1, "float32", 7);
    const outShape = yShape.length === 2 ? [5, 3, 2] : [3, 2];
    const a = tf.randomNormal(outShape, 0, 1, "float32", 8);
    const hand = tf.tidy(() => g.vjp(0, y, a));
    const tape = tf.tidy(() => tapeVjp(g, 0, y, a, g.params));
    assert.deepEqual(hand.value.shape, outShape);
    // As in the first test: same sums in another order, 1e-5 of the scale.
    const pairs: [tf.Tensor, tf.Tensor][] = [
      [hand.value, tape.value],
      [hand.y, tape.grads[0]],
      ...hand.params.map((p, i) => [p, tape.grads[i + 1]] as [tf.Tensor, tf.Tensor]),
    ];
    for (const [i, [h, tp]] of pairs.entries()) {
      assert.deepEqual(h.shape, tp.shape, `[${yShape}] pair ${i} shape`);
      const s = await scale(tp);
      assertClose(await values(h), await values(tp), { atol: 1e-5 * s }, `[${yShape}] pair ${i}`);
    }
    assert.throws(() => g.vjp(0, y, y), /cotangent a must have the value's shape/);
    tf.dispose([hand.value, hand.y, hand.params, tape.value, tape.grads, y, a]);
  }
  assert.throws(() => mlpField(layers, { outputShape: [4, 2] }), /product is the last layer's 6/);
  assert.throws(() => mlpField(layers, { outputShape: [6, 0.5] as number[] }), /outputShape/);
  tf.dispose(layers.flatMap((l) => [l.kernel, l.bias!]));
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
});
