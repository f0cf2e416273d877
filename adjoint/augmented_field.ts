/**
 * The right-hand side of the adjoint's backward solve, on the augmented parts
 * `[z…, a_z…, a_θ…]`: the field's own VJP when it has one, else tfjs's tape, which also checks
 * (on the first evaluation) that `f` reads no trainable variable left out of `params`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  checkLike,
  fromParts,
  partsOf,
  type State,
  type StateLayout,
  type VectorField,
} from "../solvers/state.ts";
import { vjp } from "./vjp.ts";
import { isVjpField } from "./vjp_field.ts";

/**
 * The augmented dynamics of the backward solve on the parts `[z…, a_z…, a_θ…]`: returns
 * `[f(t, z)…, aᵀ∂f/∂z…, aᵀ∂f/∂θ…]` (the solver integrates the last two negated). From the
 * field's own VJP when it has one ({@link withVjp}), else from the tape (one forward pass of
 * `f` under it and one backward pass; a single-tensor state is not packed).
 */
export function augmentedField(
  f: VectorField,
  layout: StateLayout,
  params: tf.Tensor[],
  zeroFor: (k: number) => tf.Tensor,
): VectorField {
  const nY = layout.shapes.length;
  if (isVjpField(f)) {
    // Where each of the field's parameters sits in `params` (−1: not asked for).
    const own = f.params.map((q) => params.indexOf(q));
    return (t: number, aug: State): tf.Tensor[] => {
      const parts = aug as tf.Tensor[];
      const z = fromParts(parts.slice(0, nY), layout);
      const a = fromParts(parts.slice(nY, 2 * nY), layout);
      const r = f.vjp(t, z, a);
      checkLike(r.y, layout, "vjp(t, y, a).y");
      if (!Array.isArray(r.params) || r.params.length !== f.params.length) {
        throw new TypeError(
          `vjp(t, y, a).params must hold one gradient per field parameter (${f.params.length}), ` +
            `got ${Array.isArray(r.params) ? r.params.length : typeof r.params}`,
        );
      }
      const gθ = params.map((_, k) => {
        const j = own.indexOf(k);
        return j >= 0 ? r.params[j] : zeroFor(k);
      });
      return [...partsOf(r.value), ...partsOf(r.y), ...gθ];
    };
  }
  // The first evaluation also asks the tape about every other trainable variable: one that `f`
  // reads would have its gradient dropped, so it is an error (at no extra cost: same pass).
  let probe: tf.Variable[] | undefined = unlistedVariables(params);
  return (t: number, aug: State): tf.Tensor[] => {
    const parts = aug as tf.Tensor[];
    const z = parts.slice(0, nY);
    const a = parts.slice(nY, 2 * nY);
    const extra = probe ?? [];
    probe = undefined;
    const xs = [...z, ...params, ...extra];
    let result: tf.Tensor[];
    let reached: boolean[];
    if (!layout.isTuple) {
      const { value, grads } = tf.engine().gradients(
        () => {
          const out = f(t, z[0]);
          checkLike(out, layout, "f(t, y)");
          return out as tf.Tensor;
        },
        xs,
        a[0],
        true,
      );
      reached = grads.map((g) => g != null);
      result = [
        value,
        ...grads.slice(0, 1 + params.length).map((g, k) =>
          g ?? (k === 0 ? tf.zerosLike(z[0]) : zeroFor(k - 1))
        ),
      ];
    } else {
      const r = vjp(() => partsOf(f(t, fromParts(z, layout))), xs, a);
      reached = r.reached;
      result = [...r.value, ...r.grads.slice(0, nY + params.length)];
    }
    const missed = extra.filter((_, k) => reached[nY + params.length + k]);
    if (missed.length > 0) {
      const names = missed.map((v) => `"${v.name}"`).join(", ");
      throw new TypeError(
        `f reads the trainable variable${missed.length > 1 ? "s" : ""} ${names}, not in params: ` +
          `the adjoint would silently drop ${missed.length > 1 ? "their" : "its"} gradient. Add ` +
          `${missed.length > 1 ? "them" : "it"} to odeintAdjoint's params, or freeze ` +
          `${missed.length > 1 ? "them" : "it"} with v.trainable = false`,
      );
    }
    return result;
  };
}

/** The registered trainable variables that are not among `params` (none: `undefined`). */
function unlistedVariables(params: tf.Tensor[]): tf.Variable[] | undefined {
  const listed = new Set(params);
  const others = Object.values(tf.engine().registeredVariables).filter((v) =>
    v.trainable && !listed.has(v)
  );
  return others.length > 0 ? others : undefined;
}
