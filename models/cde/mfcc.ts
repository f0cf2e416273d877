/**
 * MFCC features for the Speech Commands experiment, batched in tfjs.
 *
 * With the default options this equals torchaudio's
 * `MFCC(sample_rate=16000, n_mfcc=20, log_mels=True, melkwargs={"n_fft": 200, "n_mels": 64})`
 * (the features of the Neural CDE experiment), stage by stage:
 *
 * 1. frames: reflect-pad `nFft / 2` samples at both ends (`center=True`), then frames of
 *    `nFft` samples every `hopLength` samples: `1 + floor(length / hopLength)` frames
 *    (161 for a one-second clip at 16 kHz);
 * 2. power spectrum: `|DFT(window · frame)|²` with a periodic Hann window of `nFft` samples,
 *    one-sided: `nFft / 2 + 1` bins (101), from one matMul with precomputed cos/sin matrices;
 * 3. mel: `nMels` triangular HTK-mel filters over `[fMin, fMax]`, not area-normalised
 *    (torchaudio's `melscale_fbanks` / `create_fb_matrix`);
 * 4. `log(mel + 1e-6)`;
 * 5. orthonormal DCT-II keeping `nMfcc` coefficients (torchaudio's `create_dct(…, "ortho")`).
 *
 * The constant matrices are computed in float64 in JavaScript and applied in float32 tensors;
 * the result agrees with torchaudio 0.13.1 to about 3e-5 (tests/models/cde/mfcc_test.ts).
 * Large batches are processed `chunkSize` clips at a time so that the intermediate frame and
 * spectrum tensors stay bounded (about 0.4 MB per clip, 25 MB for the default 64-clip chunk).
 * Throughput on one core: about 30 one-second clips/s on the `cpu` backend and 400–500 on
 * `wasm` (the DFT matMul dominates), so featurise whole data sets on `wasm`.
 *
 * @example One second of a 1 kHz tone
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { mfcc } from "@fasterode/fasterode/models/cde";
 *
 * const t = tf.range(0, 16000).div(16000);
 * const x = tf.sin(t.mul(2 * Math.PI * 1000)).expandDims(0) as tf.Tensor2D;
 * const features = await mfcc(x);
 * assert.deepEqual(features.shape, [1, 161, 20]);
 * tf.dispose([t, x, features]);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { rejectUnknownKeys } from "../../mod.ts";

/** Settings of the MFCC transform; every field is optional and defaults to the experiment's. */
export interface MfccOptions {
  /** Sample rate of the signals in Hz. Default 16000. */
  sampleRate?: number;
  /** DFT size and window length in samples (even). Default 200. */
  nFft?: number;
  /** Samples between the starts of consecutive frames. Default `nFft / 2` (100). */
  hopLength?: number;
  /** Number of mel filters. Default 64. */
  nMels?: number;
  /** Number of cepstral coefficients kept (at most `nMels`). Default 20. */
  nMfcc?: number;
  /** Lowest frequency of the mel filterbank in Hz. Default 0. */
  fMin?: number;
  /** Highest frequency of the mel filterbank in Hz. Default `sampleRate / 2` (8000). */
  fMax?: number;
  /** Added to the mel energies before the logarithm. Default 1e-6. */
  logOffset?: number;
  /** Clips per chunk: bounds the memory of the intermediate tensors. Default 64. */
  chunkSize?: number;
}

/** The keys of {@linkcode MfccOptions}. */
const MFCC_KEYS: readonly (keyof MfccOptions)[] = [
  "sampleRate",
  "nFft",
  "hopLength",
  "nMels",
  "nMfcc",
  "fMin",
  "fMax",
  "logOffset",
  "chunkSize",
];

/** {@linkcode MfccOptions} with every default filled in and validated. */
export type MfccConfig = Required<MfccOptions>;

/**
 * Fills in the defaults of {@linkcode MfccOptions} and validates them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mfccConfig } from "@fasterode/fasterode/models/cde";
 *
 * const cfg = mfccConfig();
 * assert.equal(cfg.hopLength, 100);
 * assert.equal(cfg.fMax, 8000);
 * assert.throws(() => mfccConfig({ nMfcc: 100 }), /nMfcc/);
 * assert.throws(() => mfccConfig({ nfft: 256 } as never), /^TypeError: Unknown mfcc option "nfft"/);
 * ```
 *
 * @param options Settings to override.
 * @returns All settings.
 * @throws {TypeError} On an unknown option. {RangeError} On a value out of range.
 */
export function mfccConfig(options: MfccOptions = {}): MfccConfig {
  rejectUnknownKeys("mfcc", options, MFCC_KEYS);
  const sampleRate = options.sampleRate ?? 16000;
  const nFft = options.nFft ?? 200;
  const cfg: MfccConfig = {
    sampleRate,
    nFft,
    hopLength: options.hopLength ?? Math.floor(nFft / 2),
    nMels: options.nMels ?? 64,
    nMfcc: options.nMfcc ?? 20,
    fMin: options.fMin ?? 0,
    fMax: options.fMax ?? sampleRate / 2,
    logOffset: options.logOffset ?? 1e-6,
    chunkSize: options.chunkSize ?? 64,
  };
  const positiveInt = (name: keyof MfccConfig): void => {
    const v = cfg[name];
    if (!Number.isInteger(v) || v <= 0) {
      throw new RangeError(`mfcc: ${name} must be a positive integer, got ${v}`);
    }
  };
  for (const name of ["nFft", "hopLength", "nMels", "nMfcc", "chunkSize"] as const) {
    positiveInt(name);
  }
  if (!(sampleRate > 0)) throw new RangeError(`mfcc: sampleRate must be > 0, got ${sampleRate}`);
  if (nFft % 2 !== 0) throw new RangeError(`mfcc: nFft must be even, got ${nFft}`);
  if (cfg.nMfcc > cfg.nMels) {
    throw new RangeError(`mfcc: nMfcc (${cfg.nMfcc}) must not exceed nMels (${cfg.nMels})`);
  }
  if (!(cfg.fMin >= 0 && cfg.fMin < cfg.fMax && cfg.fMax <= sampleRate / 2)) {
    throw new RangeError(
      `mfcc: need 0 <= fMin < fMax <= sampleRate / 2, got fMin ${cfg.fMin}, fMax ${cfg.fMax}`,
    );
  }
  if (!(cfg.logOffset > 0)) throw new RangeError(`mfcc: logOffset must be > 0`);
  return cfg;
}

/**
 * Number of frames of a centred STFT: `1 + floor(length / hopLength)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { frameCount } from "@fasterode/fasterode/models/cde";
 *
 * assert.equal(frameCount(16000), 161);
 * ```
 *
 * @param length Samples per signal.
 * @param options MFCC settings (`hopLength`).
 * @returns The number of frames.
 */
export function frameCount(length: number, options: MfccOptions = {}): number {
  return 1 + Math.floor(length / mfccConfig(options).hopLength);
}

/**
 * The periodic Hann window `w[n] = 0.5 − 0.5·cos(2πn/size)`, `n = 0 … size−1` (torch's
 * `hann_window(size, periodic=True)`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hannWindow } from "@fasterode/fasterode/models/cde";
 *
 * const w = hannWindow(4);
 * assert.deepEqual(Array.from(w, (v) => Math.round(v * 1e12) / 1e12), [0, 0.5, 1, 0.5]);
 * ```
 *
 * @param size Window length.
 * @returns The window in float64.
 */
export function hannWindow(size: number): Float64Array {
  const w = new Float64Array(size);
  for (let n = 0; n < size; n++) w[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / size);
  return w;
}

/** HTK mel scale: `2595·log10(1 + f/700)`. */
function hzToMel(f: number): number {
  return 2595 * Math.log10(1 + f / 700);
}

/** Inverse of the HTK mel scale. */
function melToHz(m: number): number {
  return 700 * (10 ** (m / 2595) - 1);
}

/**
 * The triangular HTK-mel filterbank as a `[nFft/2 + 1][nMels]` matrix (torchaudio's
 * `melscale_fbanks` with `norm=None`, `mel_scale="htk"`): filter `m` rises linearly from
 * `f[m]` to `f[m+1]` and falls to `f[m+2]`, where `f` are `nMels + 2` points equally spaced on
 * the mel scale from `fMin` to `fMax`, evaluated at the bin frequencies
 * `linspace(0, sampleRate/2, nFft/2 + 1)`.
 *
 * With the default settings filters 0 and 3 fall between two bins and are all zeros.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { melFilterbank } from "@fasterode/fasterode/models/cde";
 *
 * const fb = melFilterbank();
 * assert.equal(fb.length, 101);
 * assert.equal(fb[0].length, 64);
 * assert.ok(fb.every((row) => row[0] === 0 && row[3] === 0));
 * ```
 *
 * @param options MFCC settings (`sampleRate`, `nFft`, `nMels`, `fMin`, `fMax`).
 * @returns `fb[bin][filter]` in float64.
 */
export function melFilterbank(options: MfccOptions = {}): number[][] {
  const { sampleRate, nFft, nMels, fMin, fMax } = mfccConfig(options);
  const nFreqs = nFft / 2 + 1;
  const mMin = hzToMel(fMin), mMax = hzToMel(fMax);
  const fPts: number[] = [];
  for (let i = 0; i < nMels + 2; i++) fPts.push(melToHz(mMin + ((mMax - mMin) * i) / (nMels + 1)));
  const fb: number[][] = [];
  for (let k = 0; k < nFreqs; k++) {
    const f = ((sampleRate / 2) * k) / (nFreqs - 1);
    const row: number[] = [];
    for (let m = 0; m < nMels; m++) {
      const down = (f - fPts[m]) / (fPts[m + 1] - fPts[m]);
      const up = (fPts[m + 2] - f) / (fPts[m + 2] - fPts[m + 1]);
      row.push(Math.max(0, Math.min(down, up)));
    }
    fb.push(row);
  }
  return fb;
}

/**
 * The orthonormal DCT-II matrix `D[n][k] = s_k·cos(π/nMels·(n + ½)·k)`, `n < nMels`,
 * `k < nMfcc`, with `s_0 = √(1/nMels)` and `s_k = √(2/nMels)` otherwise (torchaudio's
 * `create_dct(nMfcc, nMels, "ortho")`). The coefficients are `logmel · D`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dctMatrix } from "@fasterode/fasterode/models/cde";
 *
 * const d = dctMatrix(20, 64);
 * assert.equal(d.length, 64);
 * assert.ok(Math.abs(d[5][0] - 1 / 8) < 1e-15);
 * ```
 *
 * @param nMfcc Coefficients kept (columns).
 * @param nMels Inputs (rows).
 * @returns `D[n][k]` in float64.
 */
export function dctMatrix(nMfcc: number, nMels: number): number[][] {
  const d: number[][] = [];
  for (let n = 0; n < nMels; n++) {
    const row: number[] = [];
    for (let k = 0; k < nMfcc; k++) {
      const scale = Math.sqrt((k === 0 ? 1 : 2) / nMels);
      row.push(scale * Math.cos((Math.PI / nMels) * (n + 0.5) * k));
    }
    d.push(row);
  }
  return d;
}

/** The windowed DFT as one `[nFft, 2·nBins]` matrix: cos columns, then −sin columns. */
function windowedDftMatrix(nFft: number): Float32Array {
  const nBins = nFft / 2 + 1;
  const w = hannWindow(nFft);
  const m = new Float32Array(nFft * 2 * nBins);
  for (let n = 0; n < nFft; n++) {
    for (let k = 0; k < nBins; k++) {
      const angle = (2 * Math.PI * ((n * k) % nFft)) / nFft; // reduced mod nFft: exact phase
      m[n * 2 * nBins + k] = w[n] * Math.cos(angle);
      m[n * 2 * nBins + nBins + k] = -w[n] * Math.sin(angle);
    }
  }
  return m;
}

function checkSignals(signals: tf.Tensor, cfg: MfccConfig, fn: string): void {
  if (!(signals instanceof tf.Tensor) || signals.rank !== 2) {
    throw new TypeError(`${fn}: signals must be a rank-2 tensor [clips, samples]`);
  }
  if (signals.dtype !== "float32") {
    throw new TypeError(`${fn}: signals must be float32, got ${signals.dtype}`);
  }
  const pad = cfg.nFft / 2;
  if ((signals.shape[1] ?? 0) <= pad) {
    throw new RangeError(
      `${fn}: signals need more than nFft/2 = ${pad} samples for reflect padding, ` +
        `got ${signals.shape[1]}`,
    );
  }
}

/** Throws, naming the clips, if `signals` holds NaN or Inf (which the transform would spread
 * over every frame it touches). One reduction to a flag per clip, read back. */
async function checkFinite(signals: tf.Tensor2D, fn: string): Promise<void> {
  const flags = tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(signals)), 1));
  let bad: Uint8Array | Int32Array | Float32Array;
  try {
    bad = await flags.data() as Uint8Array;
  } finally {
    flags.dispose();
  }
  const clips: number[] = [];
  bad.forEach((b, i) => b && clips.push(i));
  if (clips.length === 0) return;
  const shown = clips.slice(0, 5).join(", ") +
    (clips.length > 5 ? ` and ${clips.length - 5} more` : "");
  throw new RangeError(
    `${fn}: signals hold NaN or Inf in clip${clips.length === 1 ? "" : "s"} ${shown} ` +
      `(of ${signals.shape[0]}); the features would be NaN. Check the audio (or its scaling) ` +
      `before the transform`,
  );
}

/**
 * Frames inside a tidy (no validation): one gather whose indices already reflect at the ends,
 * `p < 0 → −p` and `p ≥ length → 2(length − 1) − p` (the same as reflect padding first).
 */
function framesOf(signals: tf.Tensor2D, cfg: MfccConfig): tf.Tensor3D {
  const [n, length] = signals.shape;
  const pad = cfg.nFft / 2;
  const frames = 1 + Math.floor(length / cfg.hopLength);
  const idx = new Int32Array(frames * cfg.nFft);
  for (let f = 0; f < frames; f++) {
    for (let j = 0; j < cfg.nFft; j++) {
      const p = f * cfg.hopLength + j - pad;
      idx[f * cfg.nFft + j] = p < 0 ? -p : p >= length ? 2 * (length - 1) - p : p;
    }
  }
  return tf.gather(signals, tf.tensor1d(idx, "int32"), 1).reshape([n, frames, cfg.nFft]);
}

/**
 * The centred frames of each signal: reflect padding of `nFft/2` samples at both ends, then
 * `frameCount(length)` frames of `nFft` samples every `hopLength` samples (no window).
 *
 * @example Frame 0 is centred on sample 0, its first half mirrored
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { frameSignals } from "@fasterode/fasterode/models/cde";
 *
 * const x = tf.range(0, 10).expandDims(0) as tf.Tensor2D;
 * const frames = frameSignals(x, { nFft: 4, hopLength: 2 });
 * assert.deepEqual(frames.shape, [1, 6, 4]);
 * assert.deepEqual(Array.from((await frames.data()).slice(0, 8)), [2, 1, 0, 1, 0, 1, 2, 3]);
 * tf.dispose([x, frames]);
 * ```
 *
 * @param signals `[clips, samples]` float32.
 * @param options MFCC settings (`nFft`, `hopLength`).
 * @returns `[clips, frames, nFft]`.
 */
export function frameSignals(signals: tf.Tensor2D, options: MfccOptions = {}): tf.Tensor3D {
  const cfg = mfccConfig(options);
  checkSignals(signals, cfg, "frameSignals");
  return tf.tidy(() => framesOf(signals, cfg));
}

/** Host constants of one configuration, as tensors (created inside the caller's tidy). */
interface Constants {
  dft: tf.Tensor2D;
  fb: tf.Tensor2D;
  dct: tf.Tensor2D;
}

function constants(cfg: MfccConfig): Constants {
  const nBins = cfg.nFft / 2 + 1;
  return {
    dft: tf.tensor2d(windowedDftMatrix(cfg.nFft), [cfg.nFft, 2 * nBins]),
    fb: tf.tensor2d(melFilterbank(cfg)),
    dct: tf.tensor2d(dctMatrix(cfg.nMfcc, cfg.nMels)),
  };
}

type Stage = "power" | "logmel" | "mfcc";

function chunkStage(x: tf.Tensor2D, cfg: MfccConfig, c: Constants, stage: Stage): tf.Tensor3D {
  const nBins = cfg.nFft / 2 + 1;
  const frames = framesOf(x, cfg);
  const [n, nFrames] = frames.shape;
  const spec = tf.matMul(frames.reshape([n * nFrames, cfg.nFft]), c.dft);
  const re = spec.slice([0, 0], [-1, nBins]);
  const im = spec.slice([0, nBins], [-1, nBins]);
  const power = tf.add(tf.square(re), tf.square(im)) as tf.Tensor2D;
  if (stage === "power") return power.reshape([n, nFrames, nBins]);
  const logmel = tf.log(tf.add(tf.matMul(power, c.fb), cfg.logOffset)) as tf.Tensor2D;
  if (stage === "logmel") return logmel.reshape([n, nFrames, cfg.nMels]);
  return tf.matMul(logmel, c.dct).reshape([n, nFrames, cfg.nMfcc]);
}

async function runStage(
  signals: tf.Tensor2D,
  options: MfccOptions,
  stage: Stage,
  fn: string,
): Promise<tf.Tensor3D> {
  const cfg = mfccConfig(options);
  checkSignals(signals, cfg, fn);
  await checkFinite(signals, fn);
  const [n, length] = signals.shape;
  if (n === 0) {
    const width = { power: cfg.nFft / 2 + 1, logmel: cfg.nMels, mfcc: cfg.nMfcc }[stage];
    return tf.zeros([0, 1 + Math.floor(length / cfg.hopLength), width]);
  }
  return tf.tidy(() => {
    const c = constants(cfg);
    const parts: tf.Tensor3D[] = [];
    for (let start = 0; start < n; start += cfg.chunkSize) {
      const size = Math.min(cfg.chunkSize, n - start);
      parts.push(tf.tidy(() => chunkStage(signals.slice([start, 0], [size, -1]), cfg, c, stage)));
    }
    return parts.length === 1 ? parts[0] : tf.concat(parts, 0);
  });
}

/**
 * The one-sided power spectrogram `|DFT(hann · frame)|²` of each signal (stages 1–2).
 *
 * @example A tone on bin 25 (2 kHz) peaks at bin 25
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { powerSpectrogram } from "@fasterode/fasterode/models/cde";
 *
 * const x = tf.cos(tf.range(0, 16000).mul(2 * Math.PI * 2000 / 16000)).expandDims(0);
 * const p = await powerSpectrogram(x as tf.Tensor2D);
 * assert.deepEqual(p.shape, [1, 161, 101]);
 * assert.equal((await p.slice([0, 80, 0], [1, 1, -1]).argMax(-1).data())[0], 25);
 * tf.dispose([x, p]);
 * ```
 *
 * @param signals `[clips, samples]` float32.
 * @param options MFCC settings.
 * @returns `[clips, frames, nFft/2 + 1]`.
 */
export function powerSpectrogram(
  signals: tf.Tensor2D,
  options: MfccOptions = {},
): Promise<tf.Tensor3D> {
  return runStage(signals, options, "power", "powerSpectrogram");
}

/**
 * `log(melFilterbank · power + logOffset)` of each frame (stages 1–4).
 *
 * @example Silence gives log(1e-6) everywhere
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { logMelSpectrogram } from "@fasterode/fasterode/models/cde";
 *
 * const x = tf.zeros([1, 1000]) as tf.Tensor2D;
 * const m = await logMelSpectrogram(x);
 * assert.deepEqual(m.shape, [1, 11, 64]);
 * assert.ok((await m.data()).every((v) => Math.abs(v - Math.log(1e-6)) < 1e-5));
 * tf.dispose([x, m]);
 * ```
 *
 * @param signals `[clips, samples]` float32.
 * @param options MFCC settings.
 * @returns `[clips, frames, nMels]`.
 */
export function logMelSpectrogram(
  signals: tf.Tensor2D,
  options: MfccOptions = {},
): Promise<tf.Tensor3D> {
  return runStage(signals, options, "logmel", "logMelSpectrogram");
}

/**
 * MFCC features of a batch of signals, frame-major: `[clips, samples]` → `[clips, frames,
 * nMfcc]` (`[N, 16000]` → `[N, 161, 20]` with the defaults, torchaudio's output transposed).
 *
 * Processes `chunkSize` clips at a time; intermediate tensors are disposed, the result is the
 * caller's to dispose.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { mfcc } from "@fasterode/fasterode/models/cde";
 *
 * const x = tf.randomUniform([3, 16000], -1, 1, "float32", 0) as tf.Tensor2D;
 * const before = tf.memory().numTensors;
 * const features = await mfcc(x, { chunkSize: 2 });
 * assert.deepEqual(features.shape, [3, 161, 20]);
 * assert.equal(tf.memory().numTensors, before + 1);
 * // NaN or Inf in the input is an error naming the clips, not NaN features.
 * const bad = tf.tensor2d([[0, 1, NaN, ...new Array(997).fill(0)]]);
 * await assert.rejects(mfcc(bad), /mfcc: signals hold NaN or Inf in clip 0 \(of 1\)/);
 * tf.dispose([x, features, bad]);
 * ```
 *
 * @param signals `[clips, samples]` float32, e.g. 16-bit samples scaled to [-1, 1].
 * @param options MFCC settings (defaults: the Speech Commands experiment's).
 * @returns `[clips, frames, nMfcc]` float32 (async: the input is checked for NaN and Inf first).
 * @throws {TypeError | RangeError} On a tensor of the wrong rank or dtype, a signal too short
 *   for reflect padding, NaN or Inf in `signals` (naming the clips), or bad options.
 */
export function mfcc(
  signals: tf.Tensor2D,
  options: MfccOptions = {},
): Promise<tf.Tensor3D> {
  return runStage(signals, options, "mfcc", "mfcc");
}
