/**
 * States: one tensor, or a tuple of tensors solved together.
 *
 * Inside the solver each tensor of a state is kept apart, as a row `[1, n_p]` (a {@link view}
 * of it: no copy, no kernel), so that a Runge–Kutta stage is one matrix product over the stacked
 * stages per tensor whatever its shape, and a tuple is never packed into one tensor.
 * {@link StateLayout} remembers the structure.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A state: one float32 tensor, or a tuple of float32 tensors of any shapes. */
export type State = tf.Tensor | tf.Tensor[];

/** A vector field `dy/dt = f(t, y)`: returns tensors of the same structure and shapes as `y`. */
export type VectorField<S extends State = State> = (t: number, y: S) => S;

/** The structure of a state: its tensors' shapes and sizes. */
export interface StateLayout {
  /** True when the state is an array of tensors (even an array of one). */
  readonly isTuple: boolean;
  /** Shape of each tensor. */
  readonly shapes: readonly number[][];
  /** Number of elements of each tensor. */
  readonly sizes: readonly number[];
  /** Total number of elements `n`. */
  readonly size: number;
}

/**
 * The layout of a state; throws a `TypeError` for an empty tuple or a tensor that is not float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { layoutOf } from "./state.ts";
 * const layout = layoutOf([tf.zeros([2, 3]), tf.zeros([4])]);
 * assert.ok(layout.size === 10 && layout.isTuple);
 * ```
 */
export function layoutOf(y: State, what = "y0"): StateLayout {
  const isTuple = Array.isArray(y);
  const parts = isTuple ? y : [y];
  if (parts.length === 0) {
    throw new TypeError(`${what} is an empty tuple; give at least one tensor`);
  }
  parts.forEach((p, i) => {
    if (!(p instanceof tf.Tensor)) {
      throw new TypeError(`${what}${isTuple ? `[${i}]` : ""} is not a tf.Tensor`);
    }
    if (p.dtype !== "float32") {
      throw new TypeError(
        `${what}${
          isTuple ? `[${i}]` : ""
        } has dtype ${p.dtype}; states must be float32 (tf.cast it)`,
      );
    }
  });
  const shapes = parts.map((p) => p.shape.slice());
  const sizes = parts.map((p) => p.size);
  return { isTuple, shapes, sizes, size: sizes.reduce((a, b) => a + b, 0) };
}

/** The tensors of a state as a list (a single tensor becomes a list of one). */
export function partsOf(y: State): tf.Tensor[] {
  return Array.isArray(y) ? y : [y];
}

/** Builds a state of `layout`'s structure from its list of tensors. */
export function fromParts(parts: tf.Tensor[], layout: StateLayout): State {
  return layout.isTuple ? parts : parts[0];
}

/**
 * Checks that `value` has the structure and shapes of `layout`; throws a `TypeError` naming
 * the first mismatch. `what` says where the value came from ("f(t, y)", "dL/dys", …).
 */
export function checkLike(value: unknown, layout: StateLayout, what: string, lead: number[] = []) {
  const expected = layout.shapes.map((s) => [...lead, ...s]);
  const fmt = (s: number[]) => `[${s.join(", ")}]`;
  if (layout.isTuple !== Array.isArray(value)) {
    throw new TypeError(
      `${what} must be ${
        layout.isTuple ? `an array of ${layout.shapes.length} tensors` : "one tensor"
      }` +
        `, like the state, but got ${Array.isArray(value) ? "an array" : typeof value}`,
    );
  }
  const parts = (Array.isArray(value) ? value : [value]) as unknown[];
  if (parts.length !== expected.length) {
    throw new TypeError(
      `${what} has ${parts.length} tensors, but the state has ${expected.length}`,
    );
  }
  parts.forEach((p, i) => {
    const name = layout.isTuple ? `${what}[${i}]` : what;
    if (!(p instanceof tf.Tensor)) throw new TypeError(`${name} is not a tf.Tensor`);
    if (!tf.util.arraysEqual(p.shape, expected[i])) {
      throw new TypeError(`${name} has shape ${fmt(p.shape)}, expected ${fmt(expected[i])}`);
    }
    if (p.dtype !== "float32") {
      throw new TypeError(`${name} has dtype ${p.dtype}, expected float32`);
    }
  });
}

/**
 * Backends whose `Reshape` kernel only relabels the data (`incRef` and a new shape), so that a
 * view made without launching the kernel is exactly what the kernel would return.
 */
const METADATA_RESHAPE = new Set(["cpu", "wasm", "webgpu"]);

/**
 * `x` under a new shape of the same size, sharing its data. Outside a gradient tape, on the
 * cpu, wasm and webgpu backends (whose `Reshape` kernel does nothing but this), the view is made
 * directly, without a kernel launch (a launch costs 3–8 µs of engine bookkeeping, and the
 * solver makes several per stage); under a tape, or on another backend, it is `tf.reshape`, so
 * gradients flow. Either way the result is a new tensor that the caller disposes (disposing it
 * never frees `x`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { view } from "./state.ts";
 * const x = tf.tensor2d([[1, 2], [3, 4]]);
 * const row = view(x, [1, 4]);
 * assert.deepEqual(row.shape, [1, 4]);
 * row.dispose();
 * assert.deepEqual(Array.from(await x.data()), [1, 2, 3, 4]); // x is still alive
 * x.dispose();
 * ```
 */
export function view(x: tf.Tensor, shape: number[]): tf.Tensor {
  const engine = tf.engine();
  if (
    engine.isTapeOn() || !METADATA_RESHAPE.has(engine.backendName) ||
    engine.state.tensorInfo.get(x.dataId)?.backend !== engine.backend // not yet moved here
  ) {
    return tf.reshape(x, shape);
  }
  if (tf.util.sizeFromShape(shape) !== x.size) {
    throw new RangeError(`view: shape [${shape}] does not hold the ${x.size} elements of x`);
  }
  engine.backend.incRef(x.dataId);
  return engine.makeTensorFromTensorInfo({ dataId: x.dataId, shape, dtype: x.dtype });
}
