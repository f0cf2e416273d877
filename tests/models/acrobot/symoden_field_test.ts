// The Symoden field's hand-written VJP (models/acrobot/symoden_field.ts) and the reverse passes of
// the softplus MLPs it is built from (models/acrobot/softplus_mlp.ts), against tfjs's tape over
// the same forward code (adjoint/vjp.ts). The forward code itself is checked against a float64
// reference in symoden_test.ts (a), and its VJP through the tape against float64 finite
// differences there (b); here the hand VJP must equal the tape's.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { vjp } from "../../../adjoint/vjp.ts";
import { useBackend } from "../../../backend.ts";
import { acrobotTrajectories, windowsOf } from "../../../models/acrobot/dataset.ts";
import {
  derivativeVjp,
  gradientPass,
  mlpForward,
  mlpVjp,
  softplusMlp,
  tangentPass,
} from "../../../models/acrobot/softplus_mlp.ts";
import { Symoden } from "../../../models/acrobot/symoden.ts";
import { seededRandom, uniform } from "../../../models/data/random.ts";
import { assertClose } from "../../helpers.ts";

await tf.setBackend("cpu");

const TINY = { massHidden: 6, potentialHidden: 5, inputHidden: 4 };

/**
 * Both VJPs are float32 evaluations of the same derivative, summed in different orders (the hand
 * one stacks the three weight-gradient factors of a layer into one product, and reverses
 * p = M·q̇ through N⁻¹ instead of the closed-form quotient): they differ by rounding, a few ulp
 * (6e-8) of the largest terms summed. Measured: ≤ 1e-6 of each tensor's largest entry at these
 * sizes. 2e-5 of it leaves room for larger sums (width 32, batch 16), while a wrong or missing
 * term (the kind of error this guards against) changes entries by ≥ 1e-3 of the largest.
 */
const REL = 2e-5;

async function assertSameGrad(hand: tf.Tensor, tape: tf.Tensor, what: string): Promise<void> {
  assert.deepEqual(hand.shape, tape.shape, `${what}: shape`);
  const [a, b] = [Array.from(await hand.data()), Array.from(await tape.data())];
  const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assertClose(a, b, { atol: REL * scale + 1e-30 }, what);
}

/** Random states: angles' cos/sin on the circle, velocities and controls of the data's size. */
function states(n: number, seed: number): tf.Tensor2D {
  const rng = seededRandom(seed);
  return tf.tensor2d(Array.from({ length: n }, () => {
    const q = [uniform(rng, -3.14, 3.14), uniform(rng, -3.14, 3.14)];
    return [
      Math.cos(q[0]),
      Math.cos(q[1]),
      Math.sin(q[0]),
      Math.sin(q[1]),
      uniform(rng, -4, 4),
      uniform(rng, -4, 4),
      uniform(rng, -2, 2),
      uniform(rng, -2, 2),
    ];
  }));
}

/** Replaces every weight with random values of ±`scale` (far from the initialisation's regime). */
function randomise(model: Symoden, seed: number, scale: number): void {
  const rng = seededRandom(seed);
  for (const v of model.variables) {
    const t = tf.tensor(Float32Array.from({ length: v.size }, () => uniform(rng, -scale, scale)));
    v.assign(tf.reshape(t, v.shape));
    t.dispose();
  }
}

/** The hand VJP and the tape's of one evaluation, compared tensor by tensor. */
async function compareVjps(model: Symoden, x: tf.Tensor2D, seed: number): Promise<void> {
  const before = tf.memory().numTensors;
  const rng = seededRandom(seed);
  const cot = tf.tensor2d(
    Array.from({ length: x.shape[0] }, () => Array.from({ length: 8 }, () => uniform(rng, -1, 1))),
  );
  const hand = tf.tidy(() => {
    const r = model.field.vjp(0, x, cot);
    return [r.value, r.y, ...r.params];
  });
  const tape = tf.tidy(() => {
    const r = vjp(() => [model.vectorField(0, x)], [x, ...model.variables], [cot]);
    return [...r.value, ...r.grads];
  });
  assert.equal(hand.length, 2 + model.variables.length, "one gradient per variable");
  // The value is the same code as vectorField: equal bit for bit.
  assert.deepEqual(await hand[0].data(), await tape[0].data(), "vjp(...).value = f(t, x)");
  await assertSameGrad(hand[1], tape[1], "aᵀ∂f/∂x");
  for (let k = 0; k < model.variables.length; k++) {
    await assertSameGrad(hand[2 + k], tape[2 + k], `aᵀ∂f/∂${model.variables[k].name}`);
  }
  tf.dispose([hand, tape, cot]);
  assert.equal(tf.memory().numTensors, before, "no tensors left behind");
}

Deno.test("softplus MLP: the reverse of the gradient, tangent and forward passes equals the tape's", async () => {
  const net = softplusMlp(seededRandom(1), [4, 7, 7, 7, 3], "rev_test");
  const rng = seededRandom(2);
  const draw = (r: number, c: number) =>
    tf.tensor2d(
      Array.from({ length: r }, () => Array.from({ length: c }, () => uniform(rng, -1, 1))),
    );
  const [x, cot, v, gBar, tBar, oBar] = [
    draw(5, 4),
    draw(5, 3),
    draw(5, 4),
    draw(5, 4),
    draw(5, 3),
    draw(5, 3),
  ];
  const weights = net.flatMap((l) => [l.W, l.b]);
  // L = ⟨Ḡ, ∇ₓ⟨cot, out⟩⟩ + ⟨T̄, ∂out/∂x·v⟩ + ⟨ō, out⟩, differentiated in x, cot, v and θ.
  const hand = tf.tidy(() => {
    const pass = mlpForward(net, x);
    const derived = derivativeVjp(net, pass, {
      gradient: { pass: gradientPass(net, pass, cot), cotangent: gBar },
      tangent: { pass: tangentPass(net, pass, v), cotangent: tBar },
    });
    const g = mlpVjp(net, pass, oBar, derived);
    return [g.x, derived.cot!, derived.v!, ...g.W.flatMap((w, k) => [w, g.b[k]])];
  });
  const tape = tf.tidy(() =>
    vjp(
      () => {
        const pass = mlpForward(net, x);
        return [
          gradientPass(net, pass, cot).grad,
          tangentPass(net, pass, v).tangent,
          pass.out,
        ];
      },
      [x, cot, v, ...weights],
      [gBar, tBar, oBar],
    ).grads
  );
  const names = ["x", "cot", "v", ...weights.map((w) => w.name)];
  for (let k = 0; k < names.length; k++) await assertSameGrad(hand[k], tape[k], names[k]);
  // Only derivatives, no output cotangent (the potential's case): the last bias gets 0.
  const noOut = tf.tidy(() => {
    const pass = mlpForward(net, x);
    const derived = derivativeVjp(net, pass, {
      gradient: { pass: gradientPass(net, pass, cot), cotangent: gBar },
    });
    return mlpVjp(net, pass, undefined, derived).b[net.length - 1];
  });
  assert.deepEqual(Array.from(await noOut.data()), [0, 0, 0]);
  tf.dispose([hand, tape, noOut, x, cot, v, gBar, tBar, oBar, weights]);
});

Deno.test("Symoden field: hand VJP = tape VJP, at the initial weights and at random ones", async () => {
  const model = new Symoden({ ...TINY, seed: 41 });
  const x = states(7, 42);
  await compareVjps(model, x, 43);
  // Weights of ±0.5 (the initialisation's are ±1/√fan_in ≤ 0.5): every softplus off its
  // linear regime, M⁻¹ far from 0.1·I.
  randomise(model, 44, 0.5);
  await compareVjps(model, x, 45);
  x.dispose();
  model.dispose();
  const wider = new Symoden({ massHidden: 32, potentialHidden: 24, inputHidden: 16, seed: 46 });
  const xs = states(16, 47);
  await compareVjps(wider, xs, 48);
  xs.dispose();
  wider.dispose();
});

Deno.test("Symoden.step: the adjoint with the hand VJP gives the tape's gradients and NFE", async () => {
  const model = new Symoden({ ...TINY, seed: 51 });
  const traj = await acrobotTrajectories({
    trials: 2,
    steps: 9,
    controls: [[0, 1], [-1, 0]],
    cacheDir: false,
  });
  const windows = windowsOf(traj, 0, 2, 8);
  for (const norm of ["default", "seminorm"] as const) {
    const opts = { rtol: 1e-5, atol: 1e-5, adjoint: { norm } };
    const hand = await model.step(windows, opts);
    const tape = await model.step(windows, { ...opts, vjp: "tape" });
    assert.equal(hand.loss, tape.loss, "same forward solve");
    assert.equal(hand.forward.nfe, tape.forward.nfe);
    // The VJPs differ by rounding only (1e-6 relative): the step controller sees the same
    // error estimates to far more digits than its accept/reject decisions need.
    assert.equal(hand.backward.nfe, tape.backward.nfe, `${norm}: backward NFE`);
    for (const v of model.variables) {
      // Rounding-level VJP differences carried through ~10 backward steps: measured ≤ 1e-6 of
      // each gradient's largest entry; 1e-4 of it (far below the solver's 1e-5 tolerance) fails
      // on any wrong term.
      await assertSameGrad(hand.grads[v.name], tape.grads[v.name], `${norm} ${v.name}`);
    }
    tf.dispose([hand.grads, tape.grads]);
  }
  windows.dispose();
  model.dispose();
});

Deno.test("Symoden field on wasm: hand VJP = tape VJP", async () => {
  await useBackend("wasm");
  try {
    const model = new Symoden({ ...TINY, seed: 61 });
    const x = states(5, 62);
    await compareVjps(model, x, 63);
    x.dispose();
    model.dispose();
  } finally {
    await useBackend("cpu");
  }
});

Deno.test("the field checks its input", () => {
  const model = new Symoden(TINY);
  const bad = tf.zeros([3, 6]);
  assert.throws(() => model.field(0, bad), /x must have shape \[batch, 8\]/);
  assert.throws(() => model.field.vjp(0, bad, bad), /x must have shape \[batch, 8\]/);
  assert.equal(model.field.params.length, model.variables.length);
  model.field.params.forEach((p, i) => assert.equal(p, model.variables[i] as tf.Tensor));
  bad.dispose();
  model.dispose();
});
