import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { odeintSync } from "../../../solvers/mod.ts";
import { cdeVectorField, linearInterpolation, NeuralCDE } from "../../../models/cde/mod.ts";
import { seededRandom } from "../../../models/data/random.ts";
import { values } from "../../helpers.ts";

await tf.setBackend("cpu");

Deno.test("NeuralCDE: the paper's sizes, torch.nn.Linear initialisation, seeded, unique names", async () => {
  const before = tf.memory().numTensors;
  const model = new NeuralCDE({ seed: 3, name: "seedsize" });
  // seed-spec §1.3: 86,050 (vector field) + 1,980 (initial) + 910 (readout).
  assert.equal(model.parameterCount, 88940);
  assert.equal(model.fieldVariables.reduce((n, v) => n + v.size, 0), 86050);
  const names = model.variables.map((v) => v.name);
  assert.equal(new Set(names).size, names.length);
  assert.deepEqual(names.slice(0, 4), [
    "seedsize/initial/W",
    "seedsize/initial/b",
    "seedsize/field/0/W",
    "seedsize/field/0/b",
  ]);
  assert.deepEqual(model.variables.map((v) => v.shape).slice(2, 12), [
    [90, 40],
    [40],
    [40, 40],
    [40],
    [40, 40],
    [40],
    [40, 40],
    [40],
    [40, 1890],
    [1890],
  ]);
  // U(±1/√fan_in), weights and biases; bounds nearly reached (thousands of draws).
  for (const v of model.variables) {
    const fanIn = v.name.endsWith("/W") ? v.shape[0] : null;
    const layerW = model.variables.find((w) => w.name === v.name.replace(/b$/, "W"))!;
    const bound = 1 / Math.sqrt(fanIn ?? layerW.shape[0]);
    const vals = await values(v);
    const maxAbs = vals.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    assert.ok(maxAbs <= bound, `${v.name}: ${maxAbs} > ${bound}`);
    if (vals.length > 1000) assert.ok(maxAbs > 0.99 * bound, `${v.name}: ${maxAbs}`);
  }
  assert.throws(() => new NeuralCDE({ name: "seedsize" }), /already exist/);
  const again = new NeuralCDE({ seed: 3, name: "seedsize2" });
  assert.deepEqual(await values(again.variables[5]), await values(model.variables[5]));
  model.dispose();
  again.dispose();
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
  assert.throws(() => new NeuralCDE({ hiddenChannels: 0 }), /hiddenChannels/);
});

/** A batch of paths `[batch, length, 1 + features]` with time as channel 0. */
function paths(batch: number, length: number, seed: number, label: (b: number) => number) {
  const rng = seededRandom(seed);
  const t = Array.from({ length }, (_, i) => i);
  const data = Array.from({ length: batch }, (_, b) => {
    const slope = label(b) === 0 ? 0.4 : -0.4;
    return t.map((ti) => [ti / (length - 1), slope * ti / (length - 1) + 0.3 * (rng() - 0.5)]);
  });
  return { x: tf.tensor3d(data), t };
}

Deno.test("adjoint gradients agree with backpropagation through the solver (odeintSync)", async () => {
  const model = new NeuralCDE({
    inputChannels: 2,
    hiddenChannels: 3,
    hiddenHiddenChannels: 5,
    numHiddenLayers: 2,
    classes: 2,
    seed: 7,
  });
  const labels = [0, 1, 1];
  const { x, t } = paths(3, 6, 1, (b) => labels[b]);
  const X = await linearInterpolation(x, t);
  const rtol = 1e-6;
  const atol = 1e-8;
  const before = tf.memory().numTensors;
  const step = await model.lossAndGrads(X, labels, { rtol, atol, adjoint: { norm: "seminorm" } });
  // Discretise-then-optimise: differentiate through every operation of the same solve.
  const labelT = tf.tensor1d(labels, "int32");
  const dto = tf.variableGrads(() => {
    const z0 = model.initialState(X);
    const sol = odeintSync(cdeVectorField(X, (tt, z) => model.vectorField(tt, z)), z0, [0, 5], {
      rtol,
      atol,
      jumpT: X.knots.slice(1, -1),
    });
    const zT = tf.squeeze(tf.slice(sol.ys, [1, 0, 0], [1, -1, -1]), [0]);
    const logits = model.readout(zT);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(labelT, 2), logits) as tf.Scalar;
  }, model.variables);
  assert.ok(Math.abs((await values(dto.value))[0] - step.loss) < 1e-5, "same loss");
  for (const v of model.variables) {
    const a = await values(step.grads[v.name]);
    const b = await values(dto.grads[v.name]);
    // Both approximate the exact gradient to about the tolerance (1e-6 relative per solve; seen:
    // ≤ 3e-7); the scale is the largest entry of the gradient, to compare small entries
    // absolutely. 1e-4 leaves room for float32 rounding on other machines.
    const scale = Math.max(1e-3, ...b.map(Math.abs));
    a.forEach((ai, i) =>
      assert.ok(Math.abs(ai - b[i]) <= 1e-4 * scale, `${v.name}[${i}]: ${ai} vs ${b[i]}`)
    );
  }
  assert.ok(step.correct >= 0 && step.correct <= 3 && step.count === 3);
  assert.ok(step.forward.nfe > 0 && step.backward.nfe > 0);
  tf.dispose([step.grads, dto.grads, dto.value, labelT]);
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
  tf.dispose(x);
  X.dispose();
  model.dispose();
});

Deno.test("training steps on lossAndGrads reduce the loss on a tiny classification problem", async () => {
  const model = new NeuralCDE({
    inputChannels: 2,
    hiddenChannels: 6,
    hiddenHiddenChannels: 12,
    numHiddenLayers: 1,
    classes: 2,
    seed: 11,
  });
  const labels = Array.from({ length: 16 }, (_, b) => b % 2);
  const { x, t } = paths(16, 6, 5, (b) => labels[b]);
  const X = await linearInterpolation(x, t);
  const before = tf.memory().numTensors;
  const optimizer = tf.train.adam(0.05);
  const first = await model.evaluate(X, labels, { rtol: 1e-3, atol: 1e-5 });
  for (let i = 0; i < 12; i++) {
    const step = await model.lossAndGrads(X, labels, {
      rtol: 1e-3,
      atol: 1e-5,
      adjoint: { norm: "seminorm" },
    });
    // A step's loss is that of the current weights: the forward-only evaluation agrees.
    if (i === 0) assert.ok(Math.abs(step.loss - first.loss) < 1e-5, "lossAndGrads vs evaluate");
    optimizer.applyGradients(
      step.grads as unknown as Parameters<typeof optimizer.applyGradients>[0],
    );
    tf.dispose(step.grads);
  }
  const last = await model.evaluate(X, labels, { rtol: 1e-3, atol: 1e-5 });
  assert.ok(
    last.loss < 0.7 * first.loss,
    `loss ${first.loss.toFixed(4)} → ${last.loss.toFixed(4)} should drop by 30%`,
  );
  assert.ok(last.correct >= 12, `correct ${last.correct}/16`);
  const logits = await model.predict(X);
  assert.deepEqual(logits.shape, [16, 2]);
  logits.dispose();
  await assert.rejects(model.lossAndGrads(X, [0, 1]), /labels must hold 16/);
  await assert.rejects(model.evaluate(X, labels, { tol: 1 } as never), /Unknown NeuralCDE option/);
  optimizer.dispose(); // its moment estimates
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
  tf.dispose(x);
  X.dispose();
  model.dispose();
});

Deno.test("NeuralCDE: the control must have inputChannels channels", async () => {
  const model = new NeuralCDE({ inputChannels: 3, hiddenChannels: 2, hiddenHiddenChannels: 2 });
  const x = tf.zeros([1, 4, 2]);
  const X = await linearInterpolation(x);
  await assert.rejects(
    model.predict(X),
    /X has 2 channels but the model expects inputChannels = 3/,
  );
  tf.dispose(x);
  X.dispose();
  model.dispose();
});

Deno.test("NeuralCDE: an unknown option and out-of-range labels are errors naming them", async () => {
  const before = tf.memory().numTensors;
  assert.throws(
    () => new NeuralCDE({ hidenChannels: 8 } as never),
    /Unknown NeuralCDE option "hidenChannels"; valid: inputChannels, hiddenChannels,.*name/,
  );
  assert.equal(tf.memory().numTensors, before, "no weights made before the check");
  const model = new NeuralCDE({
    inputChannels: 2,
    hiddenChannels: 2,
    hiddenHiddenChannels: 3,
    numHiddenLayers: 1,
    classes: 3,
  });
  const x = tf.tensor3d([[[0, 0], [1, 1]], [[0, 1], [1, 0]]]);
  const X = await linearInterpolation(x);
  const afterSetup = tf.memory().numTensors;
  // 7 of 3 classes, as an int32 tensor (the training harness's form) and as an array.
  const bad = tf.tensor1d([0, 7], "int32");
  await assert.rejects(
    model.lossAndGrads(X, bad),
    /labels must be integers in \[0, 2\] \(the model has 3 classes\); labels\[1\] is 7/,
  );
  await assert.rejects(model.evaluate(X, bad), /labels\[1\] is 7/);
  await assert.rejects(model.lossAndGrads(X, [-1, 0]), /labels\[0\] is -1/);
  const fractional = tf.tensor1d([0.5, 1]);
  await assert.rejects(model.evaluate(X, fractional), /labels\[0\] is 0.5/);
  tf.dispose([bad, fractional]);
  assert.equal(tf.memory().numTensors, afterSetup, "leaked tensors");
  await assert.rejects(
    model.lossAndGrads(X, [0, 1], { rtol: 1e-3, Rtol: 1 } as never),
    /Unknown NeuralCDE option "Rtol"/,
  );
  tf.dispose(x);
  X.dispose();
  model.dispose();
});
