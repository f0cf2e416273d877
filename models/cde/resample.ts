/**
 * Band-limited resampling by windowed-sinc interpolation, used to bring espeak-ng's 22050 Hz
 * speech to the 16 kHz of Speech Commands.
 *
 * @module
 */

/** Options of {@linkcode resample}. */
export interface ResampleOptions {
  /** Zero crossings of the sinc kept on each side of the centre. Default 16. */
  zeroCrossings?: number;
  /** Low-pass cutoff as a fraction of the lower of the two Nyquist frequencies. Default 0.95. */
  rolloff?: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Band-limited resampling by windowed-sinc interpolation (J. O. Smith's method): output sample
 * `n` sits at input position `t = n·fromRate/toRate` and is `Σ_k x[k]·h(t − k)` with
 * `h(u) = c·sinc(c·u)·hann(u / W)`, a low-pass at `c = rolloff·min(1, toRate/fromRate)` of the
 * input Nyquist frequency (7.6 kHz for 22050 → 16000 Hz), windowed to `W = zeroCrossings / c`
 * input samples each side. For integer rates the weights repeat with period `toRate/g` outputs
 * (g the rates' gcd), so they are computed once per phase and normalised to unit DC gain.
 * Samples outside the input count as 0. The output has `floor(length·toRate/fromRate)` samples.
 *
 * @example A 1 kHz tone from 22050 Hz to 16 kHz
 * ```ts
 * import assert from "node:assert/strict";
 * import { resample } from "@fasterode/fasterode/models/cde";
 *
 * const x = Float32Array.from({ length: 22050 }, (_, i) => Math.sin(2 * Math.PI * 1000 * i / 22050));
 * const y = resample(x, 22050, 16000);
 * assert.equal(y.length, 16000);
 * for (let n = 100; n < 15900; n += 97) {
 *   assert.ok(Math.abs(y[n] - Math.sin(2 * Math.PI * 1000 * n / 16000)) < 1e-3);
 * }
 * ```
 *
 * @param x Input samples.
 * @param fromRate Input sample rate (a positive integer).
 * @param toRate Output sample rate (a positive integer).
 * @param options Filter length and cutoff.
 * @returns The resampled signal.
 * @throws {RangeError} On non-integer or non-positive rates or bad options.
 */
export function resample(
  x: Float32Array,
  fromRate: number,
  toRate: number,
  options: ResampleOptions = {},
): Float32Array {
  const { zeroCrossings = 16, rolloff = 0.95 } = options;
  for (const [name, v] of [["fromRate", fromRate], ["toRate", toRate]] as const) {
    if (!Number.isInteger(v) || v <= 0) {
      throw new RangeError(`resample: ${name} must be a positive integer, got ${v}`);
    }
  }
  if (!(zeroCrossings >= 1 && rolloff > 0 && rolloff <= 1)) {
    throw new RangeError(`resample: need zeroCrossings >= 1 and 0 < rolloff <= 1`);
  }
  if (fromRate === toRate) return Float32Array.from(x);
  const g = gcd(fromRate, toRate);
  const up = toRate / g, down = fromRate / g; // t = n·down/up
  const c = rolloff * Math.min(1, toRate / fromRate);
  const halfWidth = zeroCrossings / c;
  const taps = Math.ceil(halfWidth);
  // Weights for phase p (t − floor(t) = p/up), taps k = floor(t) − taps + 1 … floor(t) + taps.
  const width = 2 * taps;
  const table = new Float64Array(up * width);
  for (let p = 0; p < up; p++) {
    const frac = p / up;
    let sum = 0;
    for (let j = 0; j < width; j++) {
      const u = frac - (j - taps + 1); // t − k
      let h = 0;
      if (Math.abs(u) < halfWidth) {
        const s = u === 0 ? 1 : Math.sin(Math.PI * c * u) / (Math.PI * c * u);
        h = c * s * (0.5 + 0.5 * Math.cos((Math.PI * u) / halfWidth));
      }
      table[p * width + j] = h;
      sum += h;
    }
    for (let j = 0; j < width; j++) table[p * width + j] /= sum;
  }
  const outLength = Math.floor((x.length * up) / down);
  const y = new Float32Array(outLength);
  for (let n = 0; n < outLength; n++) {
    const num = n * down;
    const base = Math.floor(num / up), p = num % up;
    const first = base - taps + 1;
    let acc = 0;
    for (let j = 0; j < width; j++) {
      const k = first + j;
      if (k >= 0 && k < x.length) acc += x[k] * table[p * width + j];
    }
    y[n] = acc;
  }
  return y;
}
