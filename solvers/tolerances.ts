/**
 * Tolerances per component: `rtol`/`atol` as one number (every element), a `tf.Tensor`
 * broadcastable to a one-tensor state (per element), or an array with one entry per tensor of a
 * tuple state (each a number or a tensor broadcastable to that tensor).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { StateLayout } from "./state.ts";
import { view } from "./state.ts";

/** A tolerance: a number, a tensor of per-element values, or one entry per tuple part. */
export type Tolerance = number | tf.Tensor | readonly (number | tf.Tensor)[];

/** A checked tolerance: its smallest and largest value, and per-part entries where it varies. */
export interface TolerancePlan {
  min: number;
  max: number;
  /** One entry per part (numbers, or the caller's tensors), when not one number. */
  parts?: (number | tf.Tensor)[];
}

/**
 * Checks a tolerance against the state's layout: numbers finite and ≥ 0, tensors float32,
 * broadcastable to their part, finite and ≥ 0 (read once). Throws a `TypeError` naming `name`
 * for a wrong type or shape, a `RangeError` for a bad value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { planTolerance } from "./tolerances.ts";
 * import { layoutOf } from "./state.ts";
 * const layout = layoutOf([tf.zeros([2]), tf.zeros([3])]);
 * const t = planTolerance("atol", [1e-6, tf.tensor([1e-3, 1e-4, 1e-5])], layout);
 * assert.ok(t.min === Math.fround(1e-6) || t.min === 1e-6);
 * assert.throws(() => planTolerance("rtol", "1e-6" as never, layout), /rtol must be a number/);
 * ```
 */
export function planTolerance(name: string, value: Tolerance, layout: StateLayout): TolerancePlan {
  const describe = (v: unknown) =>
    typeof v === "string" ? `the string ${JSON.stringify(v)}` : `${typeof v} ${String(v)}`;
  const checkNumber = (what: string, v: number) => {
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`${what} must be ≥ 0, got ${v}`);
    return v;
  };
  if (typeof value === "number") {
    checkNumber(name, value);
    return { min: value, max: value };
  }
  const entries: unknown[] = value instanceof tf.Tensor
    ? [value]
    : Array.isArray(value)
    ? value
    : [undefined];
  if (!(value instanceof tf.Tensor) && !Array.isArray(value)) {
    throw new TypeError(
      `${name} must be a number, a tf.Tensor or one entry per state tensor, got ${describe(value)}`,
    );
  }
  if (Array.isArray(value) && !layout.isTuple) {
    throw new TypeError(
      `${name} is an array but the state is one tensor; give a number, or a tf.Tensor of ` +
        `per-element tolerances`,
    );
  }
  if (entries.length !== layout.shapes.length) {
    throw new TypeError(
      `${name} has ${entries.length} entries, but the state has ${layout.shapes.length} tensors`,
    );
  }
  let min = Infinity, max = -Infinity;
  const parts = entries.map((v, p) => {
    const what = layout.isTuple ? `${name}[${p}]` : name;
    if (typeof v === "number") {
      checkNumber(what, v);
      min = Math.min(min, v), max = Math.max(max, v);
      return v;
    }
    if (!(v instanceof tf.Tensor)) {
      throw new TypeError(`${what} must be a number or a tf.Tensor, got ${describe(v)}`);
    }
    if (v.dtype !== "float32") throw new TypeError(`${what} has dtype ${v.dtype}, not float32`);
    const shape = layout.shapes[p];
    try {
      tf.tidy(() => {
        tf.broadcastTo(v, shape);
      });
    } catch {
      throw new TypeError(
        `${what} has shape [${v.shape}], which does not broadcast to its state tensor's [${shape}]`,
      );
    }
    for (const x of v.dataSync()) {
      checkNumber(`every element of ${what}`, x);
      min = Math.min(min, x), max = Math.max(max, x);
    }
    return v;
  });
  return { min, max, parts };
}

/**
 * The per-part tolerances as the error ratio takes them: numbers stay numbers, tensors become
 * rows `[1, n_p]` broadcast to their part (new tensors the caller disposes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { toleranceRows } from "./tolerances.ts";
 * import { layoutOf } from "./state.ts";
 * const layout = layoutOf(tf.zeros([2, 2]));
 * const [row] = toleranceRows([tf.tensor([1, 2])], layout) as tf.Tensor[];
 * assert.deepEqual(Array.from(await row.data()), [1, 2, 1, 2]);
 * row.dispose();
 * ```
 */
export function toleranceRows(
  parts: readonly (number | tf.Tensor)[],
  layout: StateLayout,
): (number | tf.Tensor)[] {
  return parts.map((v, p) =>
    typeof v === "number"
      ? v
      : tf.tidy(() => view(tf.broadcastTo(v, layout.shapes[p]), [1, layout.sizes[p]]))
  );
}
