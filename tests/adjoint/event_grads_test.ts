import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { odeintAdjoint } from "../../adjoint/mod.ts";
import { assertClose, values } from "../helpers.ts";

await tf.setBackend("cpu");

/**
 * A falling ball: y = [height, velocity], y' = [v, −g], the event g(t, y) = height − floor
 * (falling). From rest at height h: t* = √(2(h − floor)/g), v(t*) = −√(2g(h − floor)).
 */
function ball(gravity: tf.Tensor, floor: tf.Tensor) {
  const f = (_t: number, y: tf.Tensor) =>
    tf.stack([tf.slice(y, [1], [1]).reshape([]), tf.neg(gravity)]);
  const event = {
    fn: (_t: number, y: tf.Tensor) => tf.sub(tf.slice(y, [0], [1]), floor),
    direction: "falling" as const,
  };
  return { f, event };
}

Deno.test("bouncing ball: the first impact time and its gradients equal the closed form", async () => {
  const h = 2, g0 = 9.81, c0 = 0.3;
  const gravity = tf.variable(tf.scalar(g0), true, "ball_gravity");
  const floor = tf.variable(tf.scalar(c0), true, "ball_floor");
  const { f, event } = ball(gravity, floor);
  const y0 = tf.tensor([h, 0]);
  const before = tf.memory().numTensors;
  const sol = await odeintAdjoint(f, y0, [0, 5], [gravity, floor], {
    rtol: 1e-7,
    atol: 1e-8,
    event,
  });
  const d = h - c0;
  const tStar = Math.sqrt(2 * d / g0);
  assert.equal(sol.event?.status, "fired");
  // The event time is located to a few ulps on a dense output of error ~rtol.
  assert.ok(Math.abs(sol.event!.t! - tStar) < 1e-5, `t* = ${sol.event!.t}, expected ${tStar}`);
  assert.equal(sol.ts.length, 2);

  // L = t*: dt*/dh = 1/√(2g·d), dt*/dv0 = 1/g (from t* = (v0 + √(v0² + 2g·d))/g at v0 = 0),
  // dt*/dg = −t*/(2g), dt*/dfloor = −1/√(2g·d).
  const zero = tf.zeros([2, 2]);
  const gt = await sol.backward(zero, { eventTime: 1 });
  const rtol = 1e-4; // solves at 1e-7 in float32; the event's ġ is exact here (∂g/∂t = 0)
  assertClose(await values(gt.y0), [1 / Math.sqrt(2 * g0 * d), 1 / g0], { rtol }, "dt*/dy0");
  assertClose(await values(gt.params[0]), [-tStar / (2 * g0)], { rtol }, "dt*/dg");
  assertClose(await values(gt.params[1]), [-1 / Math.sqrt(2 * g0 * d)], { rtol }, "dt*/dfloor");

  // L = v(t*) = −√(2g·d) (the impact speed, read off the last output): the cotangent of y(t*)
  // goes through the event time too. dL/dh = −g/√(2g·d), dL/dv0 = 0 at v0 = 0 (v(t*) =
  // −√(v0² + 2g·d)), dL/dg = −d/√(2g·d), dL/dfloor = g/√(2g·d).
  const cv = tf.tensor([[0, 0], [0, 1]]);
  const gv = await sol.backward(cv);
  const s = Math.sqrt(2 * g0 * d);
  assertClose(await values(gv.y0), [-g0 / s, 0], { rtol, atol: 1e-5 }, "dv*/dy0");
  assertClose(await values(gv.params[0]), [-d / s], { rtol }, "dv*/dg");
  assertClose(await values(gv.params[1]), [g0 / s], { rtol }, "dv*/dfloor");
  tf.dispose([sol.ys, sol.event!.y!, zero, cv, gt.y0, gt.params, gv.y0, gv.params]);
  assert.equal(tf.memory().numTensors, before, "event gradients leaked tensors");
  tf.dispose([gravity, floor, y0]);
});

Deno.test("event gradients: a time-dependent event, dL/dts, and the errors", async () => {
  // y' = −y from y0 at t0 until y = c·e^{−t/2} (a moving threshold: ∂g/∂t ≠ 0):
  // y0·e^{−(t−t0)} = c·e^{−t/2} gives t* = 2 ln(y0/c) + 2·t0, so dt*/dy0 = 2/y0, dt*/dt0 = 2.
  const c = 0.5, y00 = 1.5;
  const y0 = tf.tensor([y00]);
  const f = (_t: number, y: tf.Tensor) => tf.neg(y);
  const event = (t: number, y: tf.Tensor) => tf.sub(tf.sum(y), c * Math.exp(-t / 2));
  const sol = await odeintAdjoint(f, y0, [0, 0.5, 10], [], {
    rtol: 1e-7,
    atol: 1e-9,
    event,
    gradTs: true,
  });
  const tStar = 2 * Math.log(y00 / c);
  assert.ok(Math.abs(sol.event!.t! - tStar) < 1e-5);
  assert.deepEqual(sol.ts.slice(0, 2), [0, 0.5]);
  const dLdys = tf.zeros([3, 1]);
  const g = await sol.backward(dLdys, { eventTime: 1 });
  // ∂g/∂t from a central difference (h = 5e-3·t*: relative error ~h²/24 ≈ 1e-5): 1e-4.
  assertClose(await values(g.y0), [2 / y00], { rtol: 1e-4 }, "dt*/dy0");
  // dL/dts: dt*/dt0 = 2; ts[1] is not read; the event time's entry is 0.
  assertClose(await values(g.ts!), [2, 0, 0], { rtol: 1e-4, atol: 1e-6 }, "dL/dts");
  tf.dispose([g.y0, g.params, g.ts!]);

  // eventTime without a terminal event that fired is named.
  const plain = await odeintAdjoint(f, y0, [0, 1], []);
  const ones = tf.ones([2, 1]);
  await assert.rejects(
    plain.backward(ones, { eventTime: 1 }),
    /eventTime needs a terminal event.*no event/,
  );
  await assert.rejects(
    plain.backward(ones, { evenTime: 1 } as never),
    /Unknown backward option "evenTime"/,
  );
  const never = await odeintAdjoint(f, y0, [0, 1], [], { event: (_t, y) => tf.add(tf.sum(y), 1) });
  assert.equal(never.event?.status, "not_fired");
  await assert.rejects(never.backward(ones, { eventTime: 1 }), /did not fire/);
  // An event that reads a trainable variable left out of params is named.
  const level = tf.variable(tf.scalar(0.5), true, "event_level");
  const hidden = await odeintAdjoint(f, y0, [0, 5], [], {
    event: (_t, y) => tf.sub(tf.sum(y), level),
  });
  await assert.rejects(
    hidden.backward(ones, { eventTime: 1 }),
    /event function reads the trainable variable\(s\) "event_level"/,
  );
  tf.dispose([
    sol.ys,
    sol.event!.y!,
    dLdys,
    plain.ys,
    never.ys,
    hidden.ys,
    hidden.event!.y!,
    ones,
    level,
    y0,
  ]);
});
