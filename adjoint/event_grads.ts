/**
 * Gradients through the time of a terminal event.
 *
 * A terminal event ends the solve where `g(t, y(t)) = 0`, so its time `t_e` depends on `y0` and
 * the parameters, and so does the last output `y(t_e)`. By the implicit function rule
 * (torchdiffeq's `odeint_event`, diffrax's `Event`), a variation `δΦ` of the flow at the fixed
 * time `t_e` and `δθ` of the parameters move the event by
 *
 * ```
 * δt_e = −(∂g/∂y · δΦ + ∂g/∂θ · δθ) / ġ,        ġ = ∂g/∂y · f(t_e, y_e) + ∂g/∂t
 * ```
 *
 * and the last output by `δΦ + f(t_e, y_e)·δt_e`. For cotangents `c_y` (of `y(t_e)`) and `c_t`
 * (of `t_e`), the adjoint therefore starts at `t_e` from
 *
 * ```
 * a(t_e) = c_y − λ·∂g/∂y,   with λ = (c_yᵀ f(t_e, y_e) + c_t) / ġ,
 * ```
 *
 * plus `−λ·∂g/∂θ` added directly to the parameter gradients (when `g` reads parameters); the
 * backward solve is then the usual one.
 *
 * `∂g/∂y` and `∂g/∂θ` come from tfjs's tape (one pass of `g`); `∂g/∂t`, as `g` takes `t` as a
 * number, from a central difference with step `5e-3·max(1, |t_e|)` (≈ the cube root of float32's
 * epsilon: truncation and rounding balanced), exactly 0 when `g` does not change with `t`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { EventPlan } from "../solvers/events.ts";
import {
  checkLike,
  fromParts,
  partsOf,
  type State,
  type StateLayout,
  type VectorField,
} from "../solvers/state.ts";

/** What {@link eventCotangent} returns (tensors the caller disposes). */
export interface EventCotangent {
  /** `a(t_e)`, one tensor per part of the state. */
  adjY: tf.Tensor[];
  /** `−λ·∂g/∂θ` per parameter (`undefined` where `g` does not read it). */
  params: (tf.Tensor | undefined)[];
  /** Evaluations of `f` made (one). */
  nfe: number;
}

/** `g(t, y)` as a scalar tensor (a number becomes a constant), checked to have one element. */
function eventScalar(event: EventPlan, t: number, y: State): tf.Scalar {
  const g = event.fn(t, y);
  if (typeof g === "number") return tf.scalar(g);
  if (!(g instanceof tf.Tensor) || g.size !== 1) {
    throw new TypeError("the event function must return a number or a one-element tensor");
  }
  return tf.reshape(g, []) as tf.Scalar;
}

/**
 * The adjoint's starting value at a terminal event (see the module notes): from the state
 * `yE` (parts) at the event time `tE`, the cotangent `cY` (parts) of `y(t_e)` and `cT` of `t_e`.
 * Throws a `RangeError` when the crossing is tangential (`ġ = 0`: the event time has no
 * gradient), and a `TypeError` when `g` reads a trainable variable not in `params`.
 */
export async function eventCotangent(
  f: VectorField,
  event: EventPlan,
  tE: number,
  yE: tf.Tensor[],
  cY: tf.Tensor[],
  cT: number,
  params: tf.Tensor[],
  layout: StateLayout,
): Promise<EventCotangent> {
  const unlisted = Object.values(tf.engine().registeredVariables).filter((v) =>
    v.trainable && !params.includes(v)
  );
  const nY = yE.length;
  // ∂g/∂y, ∂g/∂θ (null where not reached) by the tape, ∂g/∂t by a central difference.
  const { gY, gTheta, missed } = tf.tidy(() => {
    const xs = [...yE, ...params, ...unlisted];
    const { grads } = tf.engine().gradients(
      () => eventScalar(event, tE, fromParts(yE, layout)),
      xs,
      undefined,
      true,
    );
    return {
      gY: grads.slice(0, nY).map((g, k) => g ?? tf.zerosLike(yE[k])),
      gTheta: grads.slice(nY, nY + params.length),
      missed: unlisted.filter((_, k) => grads[nY + params.length + k] != null),
    };
  });
  const extra = gTheta.filter((g): g is tf.Tensor => g != null);
  try {
    if (missed.length > 0) {
      throw new TypeError(
        `the event function reads the trainable variable(s) ` +
          `${missed.map((v) => `"${v.name}"`).join(", ")}, not in params: their gradient ` +
          `through the event time would be dropped. Add them to params, or freeze them with ` +
          `v.trainable = false`,
      );
    }
    const h = 5e-3 * Math.max(1, Math.abs(tE));
    const pair = tf.tidy(() => {
      const y = fromParts(yE, layout);
      return tf.stack([eventScalar(event, tE + h, y), eventScalar(event, tE - h, y)]);
    });
    const [gPlus, gMinus] = await pair.data();
    pair.dispose();
    const gT = gPlus === gMinus ? 0 : (gPlus - gMinus) / (2 * h);
    const fE = tf.tidy(() => {
      const out = f(tE, fromParts(yE, layout));
      checkLike(out, layout, "f(t, y)");
      return partsOf(out).map((x) => tf.clone(x));
    });
    const dots = tf.tidy(() =>
      tf.stack([
        tf.addN(gY.map((g, k) => tf.sum(tf.mul(g, fE[k])))),
        tf.addN(cY.map((c, k) => tf.sum(tf.mul(c, fE[k])))),
      ])
    );
    const [gyF, cyF] = await dots.data();
    tf.dispose([dots, fE]);
    const gDot = gyF + gT;
    if (!(Number.isFinite(gDot) && Math.abs(gDot) > 0)) {
      throw new RangeError(
        `the event crosses zero tangentially at t = ${tE} (dg/dt along the solution is ` +
          `${gDot}): its time has no gradient. Use an event function that crosses transversally`,
      );
    }
    const lambda = (cyF + cT) / gDot;
    const adjY = tf.tidy(() => cY.map((c, k) => tf.sub(c, tf.mul(gY[k], lambda))));
    const out = gTheta.map((g) => g == null ? undefined : tf.mul(g, -lambda));
    return { adjY, params: out, nfe: 1 };
  } finally {
    tf.dispose([gY, extra]);
  }
}
