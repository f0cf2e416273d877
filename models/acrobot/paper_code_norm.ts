/**
 * The paper's code's mis-sliced acrobot "seminorm" (its `make_norm`), as an adjoint norm to
 * compare with the correct one.
 *
 * torchdiffeq 0.1's adjoint flattens the augmented backward state as
 * `[a_t (1), y (B·8), a_y (B·8), a_θ (every parameter, in torch's registration order)]`, and
 * the paper's `make_norm(x)` took `state_size = x.numel()` from the whole data batch `x`
 * `[B, T, 8]` (`T` = 8 window points) instead of the state `[B, 8]`: with `S = T·8·B` its norm
 * was `max(rms(aug[1 : 1+S]), rms(aug[1+S : 1+2S]))`, every entry the scaled error (error over
 * `atol + rtol·|·|`) as in any norm. For B = 256 that is `S = 16,384`:
 *
 * - first slice: `y` (2,048), `a_y` (2,048) and the first 12,288 parameter-adjoint entries;
 * - second slice: the next 16,384 parameter-adjoint entries;
 *
 * 28,672 of the 509,108 parameter channels at the paper's sizes, all in the `M⁻¹` net:
 * `linear1.weight` (400×4), `linear1.bias` (400) and the first 26,672 entries of
 * `linear2.weight` (rows 0…66 of its 400 output rows, and 272 of the 400 inputs of row 66).
 *
 * torch's order is ours ({@link Symoden.variables}: `M⁻¹` net, `V` net, `g` net; per layer the
 * weight then the bias), but torch stores a `Linear` weight as `(out, in)` row-major while a
 * {@link DenseLayer}'s `W` is `[in, out]`: torch's flat weight index `o·in + i` is our `W[i, o]`.
 * The norm reads only the columns of `W` that the slices reach, transposed.
 *
 * @example The slices on a tiny model: B = 1, T = 1, so S = 8 and the slices are y and a_y
 * (the correct seminorm), whatever the parameter adjoints hold
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { paperCodeSeminorm } from "@fasterode/fasterode/models/acrobot";
 * const norm = paperCodeSeminorm({ timePoints: 1 });
 * const n = norm({
 *   y: [tf.fill([1, 8], 0.5)],
 *   adjY: [tf.fill([1, 8], 2)],
 *   adjParams: [tf.fill([4, 3], 100), tf.fill([3], 100)],
 * });
 * assert.ok(Math.abs((await n.data())[0] - 2) < 1e-6);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { AdjointNorm, AdjointState } from "../../mod.ts";

/** Options of {@link paperCodeSeminorm}. */
export interface PaperCodeSeminormOptions {
  /**
   * Points per window `T` (default 8, the experiment's): the paper's slice length is `T` times
   * the state's size.
   */
  timePoints?: number;
}

/** One parameter adjoint's part of a torch-order prefix: its first `count` entries, flat. */
function torchPrefix(param: tf.Tensor, count: number): tf.Tensor1D {
  if (param.rank === 2) {
    // ours [in, out]; torch's (out, in) row-major: rows of torch = columns of ours
    const [fanIn, fanOut] = param.shape as [number, number];
    const rows = Math.min(fanOut, Math.ceil(count / fanIn));
    const cols = tf.slice(param, [0, 0], [fanIn, rows]);
    return tf.slice(tf.reshape(tf.transpose(cols), [-1]), 0, count) as tf.Tensor1D;
  }
  return tf.slice(tf.reshape(param, [-1]), 0, count) as tf.Tensor1D;
}

/**
 * The first `length` entries of torch's flat parameter-adjoint vector, from our parameter
 * adjoints (`[in, out]` weights and biases in {@link Symoden.variables}'s order).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import assert from "node:assert/strict";
 * import { torchOrderPrefix } from "@fasterode/fasterode/models/acrobot";
 * // W [in 2, out 3] = [[1, 2, 3], [4, 5, 6]]: torch's (3, 2) row-major is 1, 4, 2, 5, 3, 6
 * const flat = torchOrderPrefix([tf.tensor2d([[1, 2, 3], [4, 5, 6]]), tf.tensor1d([7, 8, 9])], 8);
 * assert.deepEqual(Array.from(await flat.data()), [1, 4, 2, 5, 3, 6, 7, 8]);
 * ```
 *
 * @param params the parameter adjoints, in our order and layout
 * @param length how many entries (clipped to their total)
 * @returns the entries, flat, in torch's order
 */
export function torchOrderPrefix(params: tf.Tensor[], length: number): tf.Tensor1D {
  return tf.tidy(() => {
    const parts: tf.Tensor1D[] = [];
    let left = length;
    for (const p of params) {
      if (left <= 0) break;
      const take = Math.min(left, p.size);
      parts.push(torchPrefix(p, take));
      left -= take;
    }
    return parts.length === 0 ? tf.tensor1d([]) : tf.concat(parts) as tf.Tensor1D;
  });
}

/** `sqrt(mean(x²))` of a non-empty flat tensor. */
function rms(x: tf.Tensor): tf.Scalar {
  return tf.sqrt(tf.mean(tf.square(x))) as tf.Scalar;
}

/**
 * The paper's acrobot "seminorm" (see the module documentation): an adjoint norm that slices the
 * torch-ordered backward state `[y, a_y, a_θ]` at `S = T · size(y)` instead of `size(y)`.
 * `size(y)` is read from the state at each call, so a short last batch is measured as the paper's code
 * measured it (its `make_norm(x)` was built per batch).
 *
 * @example At the paper's sizes it measures y, a_y and 28,672 parameter channels
 * ```ts
 * import assert from "node:assert/strict";
 * import { paperCodeSeminormChannels } from "@fasterode/fasterode/models/acrobot";
 * assert.deepEqual(paperCodeSeminormChannels(256 * 8, 509_108), { first: 12_288, second: 16_384 });
 * ```
 *
 * @param options the window length `T`
 * @returns the norm, for `adjoint: { norm }`
 */
export function paperCodeSeminorm(options: PaperCodeSeminormOptions = {}): AdjointNorm {
  const timePoints = options.timePoints ?? 8;
  if (!Number.isInteger(timePoints) || timePoints < 1) {
    throw new RangeError(
      `paperCodeSeminorm: timePoints must be a positive integer, got ${timePoints}`,
    );
  }
  return ({ y, adjY, adjParams }: AdjointState) =>
    tf.tidy(() => {
      const flat = (xs: tf.Tensor[]) => tf.concat(xs.map((x) => tf.reshape(x, [-1])));
      const ys = flat(y);
      const adj = flat(adjY);
      const n = ys.size;
      const total = adjParams.reduce((k, p) => k + p.size, 0);
      const { first, second } = paperCodeSeminormChannels(n, total, timePoints);
      // aug[1:] = [y, a_y, a_θ (torch order)], as far as the two slices reach
      const aug = tf.concat([ys, adj, torchOrderPrefix(adjParams, first + second)]);
      const slice = timePoints * n;
      const norms = [rms(tf.slice(aug, 0, Math.min(slice, aug.size)))];
      if (aug.size > slice) {
        norms.push(rms(tf.slice(aug, slice, Math.min(slice, aug.size - slice))));
      }
      return tf.max(tf.stack(norms)) as tf.Scalar;
    });
}

/**
 * How many parameter-adjoint channels each of the paper's two slices takes, for a state of
 * `stateSize` entries and `parameters` parameters.
 *
 * @param stateSize entries of the state `y` (`B · 8`)
 * @param parameters entries of all parameters
 * @param timePoints points per window `T` (default 8)
 * @returns parameter entries in the first slice (after `y` and `a_y`) and in the second
 */
export function paperCodeSeminormChannels(
  stateSize: number,
  parameters: number,
  timePoints = 8,
): { first: number; second: number } {
  const slice = timePoints * stateSize;
  const first = Math.max(0, Math.min(parameters, slice - 2 * stateSize));
  // second slice: aug[1+S : 1+2S] → parameter entries [S − 2n, 2S − 2n)
  const start = Math.max(0, slice - 2 * stateSize);
  const second = Math.max(0, Math.min(parameters, 2 * slice - 2 * stateSize) - start);
  return { first, second };
}
