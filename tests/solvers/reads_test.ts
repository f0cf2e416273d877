/**
 * Tests of `solvers/reads.ts`: a differentiated `odeintSync` that throws frees what the tape
 * saved (tfjs keeps those clones until a gradient is taken, which never happens after a throw).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { MaxStepsError, odeintSync } from "../../solvers/mod.ts";

await tf.setBackend("cpu");

Deno.test("odeintSync under tf.grad that throws leaves no tensors behind", () => {
  const w = tf.variable(tf.tensor([[0.5, -1], [1, 0.5]]));
  const y0 = tf.tensor([[1, 0]]);
  const f = (_t: number, y: tf.Tensor) => tf.tanh(tf.matMul(y, w));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    // maxSteps: the solve fails after 5 steps, each of which the tape recorded.
    assert.throws(
      () => tf.variableGrads(() => tf.sum(odeintSync(f, y0, [0, 100], { maxSteps: 5 }).ys)),
      MaxStepsError,
    );
    // A field that throws in the middle of a step.
    let calls = 0;
    const boom = (t: number, y: tf.Tensor) => {
      if (++calls === 20) throw new Error("boom");
      return f(t, y);
    };
    assert.throws(() => tf.variableGrads(() => tf.sum(odeintSync(boom, y0, [0, 1]).ys)), /boom/);
  }
  assert.equal(tf.memory().numTensors, before, "the tape's saved tensors leaked");
  // A solve that succeeds still differentiates (and frees the tape as tfjs does).
  const { value, grads } = tf.variableGrads(() =>
    tf.sum(odeintSync(f, y0, [0, 1], { rtol: 1e-5 }).ys)
  );
  assert.ok(Number.isFinite(value.dataSync()[0]));
  assert.ok(grads[w.name].dataSync().every(Number.isFinite));
  tf.dispose([value, grads[w.name]]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([w, y0]);
});
