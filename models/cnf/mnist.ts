/**
 * MNIST for the CNF: a loader of the IDX files (LeCun's format) from a folder the user gives
 * (no download: the files must be there, plain or gzipped), and FFJORD's preprocessing:
 * uniform dequantisation `x = (pixel + u) / 256`, `u ~ U[0, 1)`, and the logit transform
 * `y = logit(α + (1 − 2α)·x)` with its log-Jacobian, so that the flow's density of `y` gives
 * the density of `x` on `[0, 1]^D` and bits per dimension.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";

/** An IDX array: its shape and unsigned bytes (types other than `0x08` are refused). */
export interface IdxArray {
  /** The dimensions, outermost first. */
  shape: number[];
  /** The values, row-major. */
  data: Uint8Array;
}

/**
 * Parses an IDX file of unsigned bytes: magic `0, 0, 0x08, rank`, then `rank` big-endian
 * 32-bit sizes, then the data. Throws a `RangeError` saying what is wrong with the bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIdx } from "@fasterode/fasterode/models/cnf";
 * const bytes = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]); // a rank-1 array of 3
 * assert.deepEqual(parseIdx(bytes), { shape: [3], data: new Uint8Array([7, 8, 9]) });
 * ```
 */
export function parseIdx(bytes: Uint8Array, what = "IDX data"): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new RangeError(`${what}: not an IDX file (its first two bytes must be 0)`);
  }
  if (bytes[2] !== 0x08) {
    throw new RangeError(
      `${what}: IDX type 0x${bytes[2].toString(16)} is not unsigned bytes (0x08), as MNIST's are`,
    );
  }
  const rank = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * rank) throw new RangeError(`${what}: truncated IDX header`);
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = shape.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * rank;
  if (bytes.length !== start + size) {
    throw new RangeError(
      `${what}: the header says [${shape}] (${size} bytes) but ${bytes.length - start} follow`,
    );
  }
  return { shape, data: bytes.subarray(start) };
}

/** The MNIST split's images and labels. */
export interface MnistSplit {
  /** Pixels `[n, rows·cols]`, 0–255. */
  images: Uint8Array;
  /** Digit labels `[n]`. */
  labels: Uint8Array;
  /** Number of images. */
  count: number;
  /** Rows per image. */
  rows: number;
  /** Columns per image. */
  cols: number;
}

/** The file stems of each split. */
const STEMS = {
  train: ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"],
  test: ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"],
} as const;

/** Reads `dir/stem`, `dir/stem.gz`, or the `stem` with its last `-` as a `.` (Kaggle's names). */
async function readIdxFile(dir: string, stem: string): Promise<IdxArray> {
  const dotted = stem.replace(/-(idx\d-ubyte)$/, ".$1");
  const names = [stem, `${stem}.gz`, dotted, `${dotted}.gz`];
  for (const name of names) {
    const path = join(dir, name);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    if (name.endsWith(".gz")) {
      const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(
        new DecompressionStream("gzip"),
      );
      bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    }
    return parseIdx(bytes, path);
  }
  throw new Error(
    `MNIST: none of ${names.join(", ")} in ${dir}; put the IDX files of MNIST there ` +
      "(from http://yann.lecun.com/exdb/mnist/ or a mirror; no download is done here)",
  );
}

/**
 * Loads a split of MNIST from the IDX files in `dir` (`train-images-idx3-ubyte`,
 * `train-labels-idx1-ubyte`, `t10k-…` for the test split; each may be gzipped). Throws naming
 * the folder and the files looked for when they are missing, and when images and labels do
 * not match.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadMnist } from "@fasterode/fasterode/models/cnf";
 * const dir = await Deno.makeTempDir();
 * const header = (magic: number, dims: number[]) => {
 *   const b = new DataView(new ArrayBuffer(4 + 4 * dims.length));
 *   b.setUint32(0, magic);
 *   dims.forEach((d, i) => b.setUint32(4 + 4 * i, d));
 *   return new Uint8Array(b.buffer);
 * };
 * await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`,
 *   new Uint8Array([...header(0x803, [1, 2, 2]), 0, 64, 128, 255]));
 * await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, new Uint8Array([...header(0x801, [1]), 7]));
 * const test = await loadMnist(dir, "test");
 * assert.deepEqual([test.count, test.rows, test.cols, test.labels[0]], [1, 2, 2, 7]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadMnist(dir: string, split: "train" | "test"): Promise<MnistSplit> {
  const stems = STEMS[split];
  if (stems === undefined) throw new RangeError(`MNIST: split must be "train" or "test"`);
  const images = await readIdxFile(dir, stems[0]);
  const labels = await readIdxFile(dir, stems[1]);
  if (images.shape.length !== 3) {
    throw new RangeError(`MNIST: ${stems[0]} must be [n, rows, cols], got [${images.shape}]`);
  }
  if (labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new RangeError(
      `MNIST: ${stems[1]} holds [${labels.shape}] labels for ${images.shape[0]} images`,
    );
  }
  const [count, rows, cols] = images.shape;
  return { images: images.data, labels: labels.data, count, rows, cols };
}

/**
 * FFJORD's uniform dequantisation: `(pixel + u) / 256` with `u ~ U[0, 1)` from `random`, for
 * pixels 0–255 of any shape; the result lies in `[0, 1)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { seededRandom } from "@fasterode/fasterode/models/data";
 * import { dequantize } from "@fasterode/fasterode/models/cnf";
 * const x = dequantize(tf.tensor2d([[0, 255]]), seededRandom(0)).dataSync();
 * assert.ok(x[0] >= 0 && x[0] < 1 / 256 && x[1] >= 255 / 256 && x[1] < 1);
 * ```
 */
export function dequantize(pixels: tf.Tensor, random: () => number): tf.Tensor {
  const u = new Float32Array(pixels.size);
  for (let i = 0; i < u.length; i++) u[i] = random();
  return tf.tidy(() => tf.div(tf.add(tf.cast(pixels, "float32"), tf.tensor(u, pixels.shape)), 256));
}

/**
 * FFJORD's logit transform of data `x` `[B, D]` in `[0, 1]`: `y = logit(s)`,
 * `s = α + (1 − 2α)·x`, and its log-Jacobian per example,
 * `Σ_d [log(1 − 2α) − log s − log(1 − s)]`, which is added to the flow's `log p(y)` to give
 * `log p(x)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { logitTransform } from "@fasterode/fasterode/models/cnf";
 * const { y, logDet } = logitTransform(tf.tensor2d([[0.5, 0.5]]));
 * assert.ok(Math.abs(y.dataSync()[0]) < 1e-6);
 * // dy/dx = (1 − 2α)/(s(1 − s)) = 4 at x = ½ (α ≈ 0), for each of the two coordinates.
 * assert.ok(Math.abs(logDet.dataSync()[0] - 2 * Math.log(4)) < 1e-4);
 * ```
 */
export function logitTransform(
  x: tf.Tensor2D,
  alpha = 1e-6,
): { y: tf.Tensor2D; logDet: tf.Tensor1D } {
  if (!(alpha >= 0 && alpha < 0.5)) {
    throw new RangeError(`logitTransform: alpha must be in [0, 0.5), got ${alpha}`);
  }
  return tf.tidy(() => {
    const s = tf.add(alpha, tf.mul(1 - 2 * alpha, x));
    const logS = tf.log(s);
    const log1mS = tf.log1p(tf.neg(s));
    const y = tf.sub(logS, log1mS) as tf.Tensor2D;
    const logDet = tf.sum(tf.sub(Math.log(1 - 2 * alpha), tf.add(logS, log1mS)), 1) as tf.Tensor1D;
    return { y, logDet };
  });
}
