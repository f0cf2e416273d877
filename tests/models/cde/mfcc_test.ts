// MFCC features (models/cde/mfcc.ts) against closed forms and a float64 reference written here
// with plain loops, independent of the module's matrices.

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  dctMatrix,
  frameCount,
  frameSignals,
  hannWindow,
  logMelSpectrogram,
  melFilterbank,
  mfcc,
  mfccConfig,
  powerSpectrogram,
} from "../../../models/cde/mfcc.ts";
import { seededRandom } from "../../../models/data/random.ts";
import { useBackend } from "../../../backend.ts";

await useBackend("cpu");

const N_FFT = 200;
const LOG_EPS = Math.log(1e-6);

/** Uniform noise in [-1, 1) from a seeded generator. */
function noise(n: number, seed: number): Float64Array {
  const rand = seededRandom(seed);
  return Float64Array.from({ length: n }, () => 2 * rand() - 1);
}

async function values(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

Deno.test("hannWindow: periodic Hann of 200 (closed form values and symmetry)", () => {
  const w = hannWindow(N_FFT);
  assert.equal(w.length, 200);
  assert.equal(w[0], 0);
  assert.ok(Math.abs(w[50] - 0.5) < 1e-15);
  assert.equal(w[100], 1);
  assert.ok(Math.abs(w[150] - 0.5) < 1e-15);
  // Periodic, not symmetric: w[n] = w[200 − n] and the last sample is not 0.
  for (let n = 1; n < 200; n++) assert.ok(Math.abs(w[n] - w[200 - n]) < 1e-15);
  assert.ok(w[199] > 0);
  // Σ w = 100 exactly for the periodic window (the cosine sums to 0 over a full period).
  assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 100) < 1e-12);
});

Deno.test("frameCount: 1 + floor(length / 100), 161 frames for one second", () => {
  assert.equal(frameCount(16000), 161);
  assert.equal(frameCount(15999), 160);
  assert.equal(frameCount(16001), 161);
  assert.equal(frameCount(16000, { hopLength: 160 }), 101);
});

Deno.test("frameSignals: centred frames with reflect padding at both ends", async () => {
  const length = 16000;
  const x = noise(length, 3);
  const input = tf.tensor2d(Float32Array.from(x), [1, length]);
  const frames = frameSignals(input);
  assert.deepEqual(frames.shape, [1, 161, 200]);
  const got = await values(frames);
  // Reference: pad 100 samples each side by reflection (without repeating the edge sample),
  // then frame f is padded[100 f … 100 f + 199].
  const padded: number[] = [];
  for (let i = 100; i >= 1; i--) padded.push(x[i]);
  for (let i = 0; i < length; i++) padded.push(x[i]);
  for (let i = length - 2; i >= length - 101; i--) padded.push(x[i]);
  assert.equal(padded.length, 16200);
  for (let f = 0; f < 161; f++) {
    for (let j = 0; j < 200; j++) {
      assert.equal(got[f * 200 + j], Math.fround(padded[f * 100 + j]), `frame ${f}, sample ${j}`);
    }
  }
  tf.dispose([input, frames]);
});

Deno.test("powerSpectrogram: a tone on bin 25 has |A·N/4|² there and (A·N/8)² beside", async () => {
  // x[n] = A cos(2π·25 n / 200) (2 kHz). With the periodic Hann window w = ½ − ½cos(2πn/N),
  // the DFT of w·x has, at bin 25, A/2 · Σw = A·N/4 = 50 A, and at bins 24 and 26,
  // −A/4 · N/2 = −25 A; every other bin is 0. Frames 0…159 hold the tone exactly (frame 0's
  // reflected half equals the tone since cos is even around n = 0).
  const A = 0.8;
  const x = Float32Array.from(
    { length: 16000 },
    (_, n) => A * Math.cos((2 * Math.PI * 25 * n) / 200),
  );
  const input = tf.tensor2d(x, [1, 16000]);
  const p = await powerSpectrogram(input);
  assert.deepEqual(p.shape, [1, 161, 101]);
  const got = await values(p);
  const peak = (A * 50) ** 2;
  for (let f = 0; f < 160; f++) {
    const row = got.subarray(f * 101, (f + 1) * 101);
    let argmax = 0;
    for (let k = 1; k < 101; k++) if (row[k] > row[argmax]) argmax = k;
    assert.equal(argmax, 25, `frame ${f}`);
    // float32: the matMul sums 200 products of size ≤ 0.8, rounding ~1e-7 relative each.
    assert.ok(Math.abs(row[25] - peak) < 1e-4 * peak, `frame ${f}: ${row[25]} vs ${peak}`);
    for (const k of [24, 26]) {
      assert.ok(Math.abs(row[k] - (A * 25) ** 2) < 1e-4 * peak, `frame ${f}, bin ${k}`);
    }
    for (let k = 0; k < 101; k++) {
      if (k < 24 || k > 26) assert.ok(row[k] < 1e-8 * peak, `frame ${f}, bin ${k}: ${row[k]}`);
    }
  }
  tf.dispose([input, p]);
});

Deno.test("dctMatrix: orthonormal DCT-II (DᵀD = I), closed-form entries", () => {
  const d = dctMatrix(20, 64);
  assert.equal(d.length, 64);
  assert.equal(d[0].length, 20);
  for (let a = 0; a < 20; a++) {
    for (let b = 0; b < 20; b++) {
      let dot = 0;
      for (let n = 0; n < 64; n++) dot += d[n][a] * d[n][b];
      assert.ok(Math.abs(dot - (a === b ? 1 : 0)) < 1e-13, `column ${a}·${b} = ${dot}`);
    }
  }
  // The full 64×64 matrix is orthogonal, so rows are orthonormal as well.
  const full = dctMatrix(64, 64);
  for (let a = 0; a < 64; a += 7) {
    for (let b = 0; b < 64; b += 5) {
      let dot = 0;
      for (let k = 0; k < 64; k++) dot += full[a][k] * full[b][k];
      assert.ok(Math.abs(dot - (a === b ? 1 : 0)) < 1e-13);
    }
  }
  assert.ok(Math.abs(d[10][0] - Math.sqrt(1 / 64)) < 1e-15);
  assert.ok(Math.abs(d[3][2] - Math.sqrt(2 / 64) * Math.cos((Math.PI / 64) * 3.5 * 2)) < 1e-15);
});

Deno.test("melFilterbank: HTK triangles, filters 0 and 3 contain no bin", () => {
  const fb = melFilterbank();
  assert.equal(fb.length, 101);
  assert.ok(fb.every((row) => row.length === 64));
  // Filter edges: 66 points equally spaced in mel from 0 to mel(8000) = 2840.02…
  const melMax = 2595 * Math.log10(1 + 8000 / 700);
  assert.ok(Math.abs(melMax - 2840.023046708319) < 1e-9);
  const edge = (i: number): number => 700 * (10 ** ((melMax * i) / 65 / 2595) - 1);
  // f_pts[0..4] = 0, 27.7, 56.4, 86.3, 117.4, 149.7 Hz: bins are 80 Hz apart, so filter 0
  // (0–56.4 Hz) holds only bin 0 at its zero-weight left edge and filter 3 (86.3–149.7 Hz)
  // lies between bins 1 (80 Hz) and 2 (160 Hz).
  assert.ok(Math.abs(edge(1) - 27.67137227945198) < 1e-9);
  const empty: number[] = [];
  for (let m = 0; m < 64; m++) if (fb.every((row) => row[m] === 0)) empty.push(m);
  assert.deepEqual(empty, [0, 3]);
  // A closed-form weight: bin 1 (80 Hz) on filter 1's falling edge (56.4 → 86.3 Hz).
  assert.ok(Math.abs(fb[1][1] - (edge(3) - 80) / (edge(3) - edge(2))) < 1e-12);
  // Triangles: weights in [0, 1]; the top filter ends at 8000 Hz, so the last bin has weight 0.
  assert.ok(fb.every((row) => row.every((v) => v >= 0 && v <= 1)));
  assert.ok(fb[100][63] < 1e-12); // 0 up to the mel round trip of 8000 Hz
  assert.ok(fb[99][63] > 0);
});

Deno.test("logMelSpectrogram: the empty filters give log(1e-6) for any signal", async () => {
  const x = tf.tensor2d(Float32Array.from(noise(2 * 4000, 5)), [2, 4000]);
  const m = await logMelSpectrogram(x);
  assert.deepEqual(m.shape, [2, 41, 64]);
  const got = await values(m);
  for (let i = 0; i < 2 * 41; i++) {
    // log of the float32 1e-6: |log(fround(1e-6)) − log(1e-6)| < 1e-7.
    assert.ok(Math.abs(got[i * 64] - LOG_EPS) < 1e-6);
    assert.ok(Math.abs(got[i * 64 + 3] - LOG_EPS) < 1e-6);
    assert.ok(got[i * 64 + 1] > LOG_EPS + 1);
  }
  tf.dispose([x, m]);
});

/** The whole MFCC in float64 with plain loops, straight from the definitions. */
function referenceMfcc(x: Float64Array): number[][] {
  const L = x.length, nFrames = 1 + Math.floor(L / 100);
  const at = (p: number): number => x[p < 0 ? -p : p >= L ? 2 * (L - 1) - p : p];
  const mel = (f: number): number => 2595 * Math.log10(1 + f / 700);
  const hz = (m: number): number => 700 * (10 ** (m / 2595) - 1);
  const fPts = Array.from({ length: 66 }, (_, i) => hz((mel(8000) * i) / 65));
  const out: number[][] = [];
  for (let f = 0; f < nFrames; f++) {
    const power: number[] = [];
    for (let k = 0; k <= 100; k++) {
      let re = 0, im = 0;
      for (let n = 0; n < 200; n++) {
        const v = (0.5 - 0.5 * Math.cos((2 * Math.PI * n) / 200)) * at(f * 100 + n - 100);
        re += v * Math.cos((2 * Math.PI * k * n) / 200);
        im -= v * Math.sin((2 * Math.PI * k * n) / 200);
      }
      power.push(re * re + im * im);
    }
    const logmel: number[] = [];
    for (let m = 0; m < 64; m++) {
      let s = 0;
      for (let k = 0; k <= 100; k++) {
        const freq = 80 * k;
        const w = Math.min(
          (freq - fPts[m]) / (fPts[m + 1] - fPts[m]),
          (fPts[m + 2] - freq) / (fPts[m + 2] - fPts[m + 1]),
        );
        if (w > 0) s += w * power[k];
      }
      logmel.push(Math.log(s + 1e-6));
    }
    const coeffs: number[] = [];
    for (let k = 0; k < 20; k++) {
      let s = 0;
      for (let n = 0; n < 64; n++) s += logmel[n] * Math.cos((Math.PI / 64) * (n + 0.5) * k);
      coeffs.push(s * Math.sqrt(2 / 64) * (k === 0 ? Math.SQRT1_2 : 1));
    }
    out.push(coeffs);
  }
  return out;
}

Deno.test("mfcc: equals a float64 reference on a tone with noise and on a constant with noise", async () => {
  // A tone alone (or a constant alone) leaves most bins at exactly 0 in exact arithmetic, so
  // their float32 rounding noise (~1e-10 against log offset 1e-6) would be compared instead of
  // the transform; a noise floor 40 dB down keeps every non-empty filter well above 1e-6.
  const L = 16000;
  const n1 = noise(L, 11), n2 = noise(L, 12);
  const a = Float64Array.from(
    n1,
    (v, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000) + 0.01 * v,
  );
  const b = Float64Array.from(n2, (v) => 0.3 + 0.01 * v);
  // Inputs are float32 in tfjs; give the reference the same rounded samples.
  const a32 = Float32Array.from(a), b32 = Float32Array.from(b);
  const input = tf.tensor2d([...a32, ...b32], [2, L]);
  const before = tf.memory().numTensors;
  const got = await mfcc(input, { chunkSize: 1 });
  assert.equal(tf.memory().numTensors, before + 1, "mfcc leaked tensors");
  assert.deepEqual(got.shape, [2, 161, 20]);
  const data = await values(got);
  let maxErr = 0;
  for (const [clip, sig] of [a32, b32].entries()) {
    const ref = referenceMfcc(Float64Array.from(sig));
    for (let f = 0; f < 161; f++) {
      for (let k = 0; k < 20; k++) {
        const g = data[(clip * 161 + f) * 20 + k], r = ref[f][k];
        maxErr = Math.max(maxErr, Math.abs(g - r));
        // float32 pipeline: each power value is accurate to ~1e-6 relative (200-term sums with
        // a float32 window·DFT matrix), so each log-mel value to ~1e-6 absolute where the power
        // is well above the 1e-6 offset; the DCT adds 64 such terms with weights ≤ 0.18, and
        // c0 (a scaled sum of all 64 log-mels, tens in size) carries float32 rounding of ~1e-5.
        // Measured max error 3e-5 on cpu and 2.5e-4 on wasm (XNNPACK's matMul rounds about 5×
        // more than cpu's); 1e-3 + 1e-5·|r| leaves a margin for other backends.
        assert.ok(
          Math.abs(g - r) <= 1e-3 + 1e-5 * Math.abs(r),
          `clip ${clip}, frame ${f}, coefficient ${k}: ${g} vs ${r}`,
        );
      }
    }
  }
  console.log(`mfcc vs float64 reference: max abs error ${maxErr.toExponential(2)}`);
  tf.dispose([input, got]);
});

Deno.test("mfcc: chunking does not change the result; bad input fails clearly", async () => {
  const x = tf.tensor2d(Float32Array.from(noise(5 * 3000, 21)), [5, 3000]);
  const whole = await mfcc(x, { chunkSize: 64 });
  const chunked = await mfcc(x, { chunkSize: 2 });
  assert.deepEqual(Array.from(await values(whole)), Array.from(await values(chunked)));
  tf.dispose([x, whole, chunked]);

  const before = tf.memory().numTensors;
  const empty = tf.zeros([0, 16000]) as tf.Tensor2D;
  const none = await mfcc(empty);
  assert.deepEqual(none.shape, [0, 161, 20]);
  tf.dispose([empty, none]);
  const rank1 = tf.zeros([16000]);
  await assert.rejects(mfcc(rank1 as unknown as tf.Tensor2D), /rank-2/);
  const short = tf.zeros([1, 100]) as tf.Tensor2D;
  await assert.rejects(mfcc(short), /more than nFft\/2 = 100 samples/);
  const ints = tf.zeros([1, 1000], "int32") as tf.Tensor2D;
  await assert.rejects(mfcc(ints), /float32/);
  // NaN or Inf anywhere in a clip: an error naming the clips (not NaN features), before any
  // work, for each stage, and no tensor left behind.
  const holes = new Float32Array(4 * 1000);
  holes[1000 + 17] = NaN;
  holes[3000 + 999] = -Infinity;
  const nan = tf.tensor2d(holes, [4, 1000]);
  await assert.rejects(
    mfcc(nan),
    /^RangeError: mfcc: signals hold NaN or Inf in clips 1, 3 \(of 4\); the features would be NaN/,
  );
  await assert.rejects(powerSpectrogram(nan), /powerSpectrogram: signals hold NaN or Inf/);
  await assert.rejects(logMelSpectrogram(nan), /logMelSpectrogram: signals hold NaN or Inf/);
  tf.dispose([rank1, short, ints, nan]);
  assert.equal(tf.memory().numTensors, before);
  assert.throws(
    () => mfccConfig({ nfft: 256 } as never),
    /^TypeError: Unknown mfcc option "nfft"; valid: sampleRate, nFft, hopLength, nMels, nMfcc, fMin, fMax, logOffset, chunkSize$/,
  );
  assert.throws(() => mfccConfig({ nFft: 201 }), /even/);
  assert.throws(() => mfccConfig({ fMax: 9000 }), /fMax/);
});

// torchaudio 0.13.1 (Debian's python3-torchaudio), computed once in float64:
//   MFCC(sample_rate=16000, n_mfcc=20, log_mels=True, melkwargs={"n_fft": 200, "n_mels": 64})
// on x[n] = 0.4 sin(2π·440 n/16000) + 0.2 (s_n/2³² − ½), s_n the 32-bit LCG below, rounded to
// float32; rows are frames 0, 1, 80, 159, 160 (8 significant digits). torchaudio's own float32
// run differs from these by at most 6e-6.
// deno-fmt-ignore
const TORCHAUDIO_FRAMES: Record<number, number[]> = {
  0: [-0.082316933, 5.617881, 1.4051687, -6.3666367, -7.9006837, -8.4022178, -5.3984124, -4.4681053, -5.0944819, -1.0724837, -2.4550165, 0.72159136, -3.0551326, -2.4220234, -0.19616342, 1.248991, 0.31504394, -0.84697409, 1.5048222, 0.17518056],
  1: [-11.632093, -5.7099663, 0.7837534, -4.3436157, -10.660078, -10.751039, -10.103971, -4.6879415, 0.20969132, 3.664993, 4.5750638, 2.256036, 2.7588412, 2.4110926, -0.40513835, -1.5343805, -0.82931031, -0.29012128, -1.8570677, -2.57107],
  80: [-7.9257002, -2.5410725, 0.27734147, -4.4120587, -8.0876276, -10.392099, -10.271514, -5.5917264, -2.7425209, 0.14498581, 1.887431, 2.1776063, 0.6261078, -0.36639483, -1.0295882, -1.0199826, -3.0888516, -1.508811, 1.4154443, 1.5801975],
  159: [-8.4990111, -2.8616948, -0.76690058, -5.2982128, -7.0924212, -10.580597, -9.7167041, -7.3567502, -3.1541488, 0.15848515, 2.0319268, 2.4289902, 1.1440775, -0.7229516, -1.0272384, -3.8815377, -1.824999, -0.14132505, 0.75499995, 0.99377091],
  160: [-1.826953, 6.5117699, 1.5156668, -7.2488683, -6.9498996, -8.0556274, -6.6896069, -1.4352753, -5.8791874, -4.6393474, -0.90417741, 0.99324794, -2.699095, -1.418857, 0.84181444, -0.42859205, 1.6153875, -0.06498425, -1.2686232, 0.80454647],
};

Deno.test("mfcc: matches torchaudio 0.13.1 on a tone with noise", async () => {
  const x = new Float32Array(16000);
  let s = 12345;
  for (let n = 0; n < 16000; n++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0; // s·1664525 + 1013904223 mod 2³²
    x[n] = 0.4 * Math.sin((2 * Math.PI * 440 * n) / 16000) + 0.2 * (s / 2 ** 32 - 0.5);
  }
  const input = tf.tensor2d(x, [1, 16000]);
  const got = await mfcc(input);
  const data = await values(got);
  for (const [frame, row] of Object.entries(TORCHAUDIO_FRAMES)) {
    for (let k = 0; k < 20; k++) {
      const g = data[Number(frame) * 20 + k];
      // Measured over all 161 frames: 1.5e-5 on cpu, 3e-5 on wasm (float32 matMul vs
      // torch's float64 here); 2e-4 leaves room for other backends.
      assert.ok(Math.abs(g - row[k]) < 2e-4, `frame ${frame}, c${k}: ${g} vs ${row[k]}`);
    }
  }
  tf.dispose([input, got]);
});
