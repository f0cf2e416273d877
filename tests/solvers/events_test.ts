/**
 * Tests of `solvers/events.ts` through `odeint`: terminal and recorded events located on the
 * dense output, against closed forms (a falling ball's impact, the zeros of sin πt).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { odeint, odeintSync } from "../../solvers/mod.ts";
import { assertClose, values } from "../helpers.ts";

await tf.setBackend("cpu");

const G = 9.81;
/** A ball: y = [height, velocity], y' = [v, −g]. */
const ball = (_t: number, [_x, v]: tf.Tensor[]) => [v, tf.fill([1], -G)];
/** Its height, as a one-element tensor (the solver reads it). */
const height = (_t: number, [x]: tf.Tensor[]) => tf.sum(x);

/** Runs `body` and asserts it created no net tensors. */
async function noLeak(body: () => Promise<void>): Promise<void> {
  const before = tf.memory().numTensors;
  await body();
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
}

Deno.test("bouncing ball: the first impact time matches the closed form", async () => {
  await noLeak(async () => {
    // [0, 2]: the crossing falls in the last step, which runs past t = 2 (it is searched on that
    // step's interpolant only up to 2, with the polynomial still scaled to the whole step).
    for (
      const [v0, ts] of [[0, [0, 0.1, 0.2, 5]], [2, [0, 0.1, 0.2, 5]], [-1, [0, 0.1, 0.2, 5]], [
        3,
        [0, 2],
      ], [2, [0, 2]]] as [number, number[]][]
    ) {
      const h0 = 1;
      // x(t) = h0 + v0·t − g t²/2 = 0  ⇒  t* = (v0 + √(v0² + 2 g h0)) / g.
      const tStar = (v0 + Math.sqrt(v0 * v0 + 2 * G * h0)) / G;
      const y0 = [tf.tensor([h0]), tf.tensor([v0])];
      const sol = await odeint(ball, y0, ts, {
        rtol: 1e-6,
        atol: 1e-8,
        event: { fn: height, direction: "falling" },
      });
      const ev = sol.event!;
      assert.equal(ev.status, "fired");
      // The state is a polynomial of degree 2, which dopri5's quartic interpolant reproduces;
      // what is left is float32 rounding of x (≈ 1e-7) over |v| ≥ 4.4 m/s: ≪ 1e-6 s.
      assert.ok(Math.abs(ev.t! - tStar) < 1e-6, `v0=${v0}: t=${ev.t} vs ${tStar}`);
      assert.deepEqual(ev.times, [ev.t]);
      // The solution ends at the event: outputs before it, then the event time itself.
      const before = ts.filter((t) => t < tStar);
      assert.deepEqual(sol.ts, [...before, ev.t]);
      const n = before.length + 1;
      assert.deepEqual(sol.ys[0].shape, [n, 1]);
      const x = await values(sol.ys[0]), v = await values(sol.ys[1]);
      assert.ok(Math.abs(x[n - 1]) < 1e-5, `height at impact ${x[n - 1]}`);
      assertClose([v[n - 1]], [v0 - G * tStar], { atol: 1e-5 }, "impact velocity");
      assertClose(await values(ev.y![0]), [x[n - 1]], { atol: 0 }, "event.y is the last row");
      assert.equal(sol.status, "success");
      tf.dispose([y0, sol.ys, ev.y!]);
    }
  });
});

Deno.test("an event that never fires returns the full solve with status not_fired", async () => {
  await noLeak(async () => {
    const y0 = [tf.tensor([1]), tf.tensor([0])];
    const sol = await odeint(ball, y0, [0, 0.2], { event: (_t, [x]) => tf.sum(tf.add(x, 10)) });
    assert.equal(sol.event!.status, "not_fired");
    assert.equal(sol.event!.t, undefined);
    assert.equal(sol.event!.y, undefined);
    assert.deepEqual(sol.ts, [0, 0.2]);
    tf.dispose([y0, sol.ys]);
  });
});

Deno.test("non-terminal events record every crossing; direction selects them", async () => {
  await noLeak(async () => {
    // y' = 1: g = sin(π y) = sin(π t) crosses zero at t = 1 (falling), 2 (rising), 3 (falling);
    // the zero at the start does not count. Crossings are found from g's signs at step ends, so
    // dtMax keeps two of them out of one step (y' = 1 has no error, and steps would grow 10×).
    const y0 = tf.tensor([0]);
    const g = (_t: number, y: tf.Tensor) => tf.sum(tf.sin(tf.mul(y, Math.PI)));
    const f = (_t: number, y: tf.Tensor) => tf.onesLike(y);
    const all = await odeint(f, y0, [0, 3.5], {
      dtMax: 0.25,
      event: { fn: g, terminal: false },
    });
    // y(t) = t exactly up to float32 rounding of y (≈ 2e-7 at t = 3) over |dg/dt| = π.
    assertClose(all.event!.times, [1, 2, 3], { atol: 1e-6 }, "all crossings");
    assert.ok(Math.abs(all.event!.t! - 1) < 1e-6);
    assert.deepEqual(all.ts, [0, 3.5], "a non-terminal event does not stop the solve");
    const rising = await odeint(f, y0, [0, 3.5], {
      dtMax: 0.25,
      event: { fn: g, terminal: false, direction: "rising" },
    });
    assertClose(rising.event!.times, [2], { atol: 1e-6 }, "rising only");
    // A number-valued event (no tensor), solved backwards from t = 3.5: crossings at 3, 2, 1, 0.
    const y35 = tf.tensor([3.5]);
    const back = await odeint(f, y35, [3.5, 0], {
      dtMax: 0.25,
      event: { fn: (t) => Math.sin(Math.PI * t), terminal: false },
    });
    // (g ends exactly at 0 at t = 0: an end on zero counts, a start on zero does not.)
    assertClose(back.event!.times, [3, 2, 1, 0], { atol: 1e-6 }, "backwards");
    tf.dispose([y0, y35, all.ys, rising.ys, back.ys, all.event!.y!, rising.event!.y!]);
    tf.dispose(back.event!.y!);
  });
});

Deno.test("odeintSync locates the same event", () => {
  const y0 = [tf.tensor([1]), tf.tensor([0])];
  const sol = odeintSync(ball, y0, [0, 5], { event: height });
  assert.ok(Math.abs(sol.event!.t! - Math.sqrt(2 / G)) < 1e-6);
  tf.dispose([y0, sol.ys, sol.event!.y!]);
});

Deno.test("bad event options are rejected before any work", async () => {
  let calls = 0;
  const f = (_t: number, y: tf.Tensor) => (calls++, tf.neg(y));
  const y0 = tf.tensor([1, 2]);
  await noLeak(async () => {
    await assert.rejects(
      odeint(f, y0, [0, 1], { event: { fn: () => 1, direction: "up" as never } }),
      /event.direction must be "rising", "falling" or "both", got "up"/,
    );
    await assert.rejects(
      odeint(f, y0, [0, 1], { event: { fn: () => 1, when: 1 } as never }),
      /Unknown event option "when"/,
    );
    await assert.rejects(odeint(f, y0, [0, 1], { event: 3 as never }), /event must be a function/);
    await assert.rejects(
      odeint(f, y0, [0, 1], { event: { fn: () => 1, terminal: "yes" as never } }),
      /event.terminal must be true or false/,
    );
  });
  assert.equal(calls, 0);
  await noLeak(async () => {
    // A two-element event value is caught at its first call (f0 has been evaluated then).
    await assert.rejects(
      odeint(f, y0, [0, 1], { event: (_t, y) => tf.mul(y, 1) }),
      /event function must return a number or a one-element tensor, got a tensor of shape \[2\]/,
    );
    await assert.rejects(
      odeint(f, y0, [0, 1], { event: () => NaN }),
      /event function returned NaN at t=0/,
    );
  });
  y0.dispose();
});

Deno.test("a crossing past the last output time does not count (the last step overshoots)", async () => {
  const before = tf.memory().numTensors;
  // y' = 1 from 0: g = y − 1.2 crosses at t = 1.2, after the end t = 1; dopri5's last step goes
  // well past t = 1 (steps grow 10× on this error-free problem).
  const y0 = tf.tensor([0]);
  const f = (_t: number, y: tf.Tensor) => tf.onesLike(y);
  const sol = await odeint(f, y0, [0, 1], {
    event: (_t, y) => tf.sum(tf.sub(y, 1.2)),
    record: true,
  });
  assert.ok(sol.stats.acceptTs!.at(-1)! > 1.2, `last step ends at ${sol.stats.acceptTs!.at(-1)}`);
  assert.equal(sol.event!.status, "not_fired");
  assert.deepEqual(sol.ts, [0, 1]);
  // ... while one at t = 0.9, inside that last step, does.
  const hit = await odeint(f, y0, [0, 1], { event: (_t, y) => tf.sum(tf.sub(y, 0.9)) });
  assert.ok(Math.abs(hit.event!.t! - 0.9) < 1e-6);
  tf.dispose([y0, sol.ys, hit.ys, hit.event!.y!]);
  assert.equal(tf.memory().numTensors, before);
});
