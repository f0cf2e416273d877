import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { seededRandom } from "../../../models/data/random.ts";
import {
  paperCodeSeminorm,
  paperCodeSeminormChannels,
  torchOrderPrefix,
} from "../../../models/acrobot/paper_code_norm.ts";
import { Symoden } from "../../../models/acrobot/symoden.ts";

await tf.setBackend("cpu");

function uniform(rng: () => number, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + (hi - lo) * rng());
}

/**
 * Brute force: torch's flat augmented state (without a_t) written out entry by entry from the
 * arrays, torch's (out, in) row-major weights, then the paper's two slices of length T·size(y).
 */
function bruteForce(
  y: number[],
  adjY: number[],
  params: { values: number[]; shape: number[] }[],
  timePoints: number,
): number {
  const aug: number[] = [...y, ...adjY];
  for (const { values, shape } of params) {
    if (shape.length === 2) {
      const [fanIn, fanOut] = shape; // ours [in, out]
      for (let o = 0; o < fanOut; o++) {
        for (let i = 0; i < fanIn; i++) aug.push(values[i * fanOut + o]);
      }
    } else aug.push(...values);
  }
  const s = timePoints * y.length;
  const rms = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + x * x, 0) / xs.length);
  const a = aug.slice(0, s);
  const b = aug.slice(s, 2 * s);
  return b.length > 0 ? Math.max(rms(a), rms(b)) : rms(a);
}

Deno.test("paperCodeSeminorm matches a brute-force torch-order slicing on a Symoden's shapes", async () => {
  const model = new Symoden({ massHidden: 5, potentialHidden: 4, inputHidden: 3, name: "seedn" });
  try {
    const rng = seededRandom(3);
    const batch = 3;
    const y = uniform(rng, batch * 8, -1, 1);
    const adjY = uniform(rng, batch * 8, -1, 1);
    // parameter adjoints growing along the torch order, so a wrong order changes the norm
    let k = 0;
    const params = model.variables.map((v) => {
      const values = uniform(rng, v.size, 0, 1).map((x) => x * (1 + (k++) * 0.3));
      return { values, shape: v.shape };
    });
    const state = {
      y: [tf.tensor2d(y, [batch, 8])],
      adjY: [tf.tensor2d(adjY, [batch, 8])],
      adjParams: params.map((p) => tf.tensor(p.values, p.shape)),
    };
    // T = 1: the correct seminorm; 2: second slice all parameters; 4, 8: both slices; 20: past
    // the end of the parameters (clipped, as torch slices clip)
    for (const t of [1, 2, 4, 8, 20]) {
      const n = paperCodeSeminorm({ timePoints: t })(state);
      const got = (await n.data())[0];
      n.dispose();
      const want = bruteForce(y, adjY, params, t);
      assert.ok(Math.abs(got - want) <= 1e-5 * want, `T = ${t}: ${got} vs brute force ${want}`);
    }
    // and the transposition matters: the same values in our (untransposed) order differ
    const flatOurs = tf.concat(state.adjParams.map((p) => tf.reshape(p, [-1])));
    const torch = torchOrderPrefix(state.adjParams, flatOurs.size);
    const diff = tf.max(tf.abs(tf.sub(flatOurs, torch)));
    assert.ok((await diff.data())[0] > 0.1);
    tf.dispose([flatOurs, torch, diff, ...state.y, ...state.adjY, ...state.adjParams]);
  } finally {
    model.dispose();
  }
});

Deno.test("paperCodeSeminorm counts the paper's code's channels at the paper's sizes", () => {
  // 1 + 2048 + 2048 + 509,108 augmented entries; slices of 16,384
  assert.deepEqual(paperCodeSeminormChannels(2048, 509_108), { first: 12_288, second: 16_384 });
  // a short last batch of 20,025 mod 256 = 57 windows
  assert.deepEqual(paperCodeSeminormChannels(57 * 8, 509_108), { first: 2736, second: 3648 });
  assert.deepEqual(paperCodeSeminormChannels(8, 10, 1), { first: 0, second: 0 });
});

Deno.test("paperCodeSeminorm leaks no tensors and rejects a bad window length", () => {
  const state = { y: [tf.ones([2, 8])], adjY: [tf.ones([2, 8])], adjParams: [tf.ones([4, 3])] };
  const before = tf.memory().numTensors;
  const n = paperCodeSeminorm()(state);
  assert.equal(tf.memory().numTensors, before + 1);
  tf.dispose([n, ...state.y, ...state.adjY, ...state.adjParams]);
  assert.throws(
    () => paperCodeSeminorm({ timePoints: 0 }),
    /timePoints must be a positive integer/,
  );
});
