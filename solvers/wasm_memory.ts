/**
 * The wasm backend's memory ceiling, told as such.
 *
 * tfjs-backend-wasm keeps every tensor in one WebAssembly memory, which grows on demand up to
 * 4 GiB − 64 KiB (`getHeapMax()` of its emscripten build, 4.22: the wasm32 limit; a runtime may
 * cap it lower). Past that, an allocation fails without a JavaScript error: the backend then
 * computes on memory it does not own, and what surfaces is a WebAssembly trap
 * (`RuntimeError: memory access out of bounds`, `Aborted()`) or garbage that the solver reports
 * as NaN/Inf in a stage. {@link wasmMemoryError} recognises those failures after the fact (the
 * solve's normal path reads nothing for it) and says what happened, how large the memory and
 * the state were, and what to do.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { NonFiniteError } from "./errors.ts";
import type { OdeSolution } from "./solution.ts";
import type { State, StateLayout } from "./state.ts";

/** The largest WebAssembly memory tfjs-backend-wasm grows to, in bytes (4 GiB − 64 KiB). */
export const WASM_MEMORY_MAX = 4294901760;

/** What {@link classifyWasmFailure} needs to know besides the error. */
export interface WasmFailureContext {
  /** The active tfjs backend. */
  backend: string;
  /** The backend's WebAssembly memory now, in bytes. */
  memoryBytes: number;
  /** The most it can grow to, in bytes. */
  maxBytes: number;
  /** Bytes of one state of the failed solve (float32). */
  stateBytes: number;
  /** What the state is, for the message (e.g. "the state", "the backward state [y, a_y, a_θ]"). */
  state?: string;
}

/**
 * A solve on the wasm backend ran out of WebAssembly memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WASM_MEMORY_MAX, WasmMemoryError } from "@fasterode/fasterode";
 * const trap = new WebAssembly.RuntimeError("memory access out of bounds");
 * const context = { backend: "wasm", memoryBytes: WASM_MEMORY_MAX, maxBytes: WASM_MEMORY_MAX };
 * const e = new WasmMemoryError({ ...context, stateBytes: 4e8 }, trap);
 * assert.ok(e instanceof RangeError);
 * assert.equal(e.cause, trap);
 * assert.match(e.message, /4\.00 GiB of its 4\.00 GiB ceiling.*smaller batch.*cpu backend/);
 * ```
 */
export class WasmMemoryError extends RangeError {
  /** The backend's WebAssembly memory when the failure was caught, in bytes. */
  readonly memoryBytes: number;
  /** Its ceiling, in bytes. */
  readonly maxBytes: number;
  /** Bytes of one state of the solve. */
  readonly stateBytes: number;

  /** `cause` is the failure as the backend reported it. */
  constructor(context: WasmFailureContext, cause: unknown) {
    const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
    const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
    const elements = Math.round(context.stateBytes / 4);
    const what = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(
      `The wasm backend ran out of memory: tfjs-backend-wasm's WebAssembly memory is at ` +
        `${gib(context.memoryBytes)} of its ${gib(context.maxBytes)} ceiling, and ` +
        `${context.state ?? "the state"} holds ${elements} float32 elements ` +
        `(${mb(context.stateBytes)}), of which a solve keeps about 10–20 copies alive at its ` +
        `peak. The backend reported "${what.slice(0, 200)}". ` +
        `Use a smaller batch (or state), or the cpu backend (useBackend("cpu")), which is ` +
        `limited only by the JavaScript heap. The wasm backend's memory may be corrupt after ` +
        `this: start a new process before using it again`,
      { cause },
    );
    this.name = "WasmMemoryError";
    this.memoryBytes = context.memoryBytes;
    this.maxBytes = context.maxBytes;
    this.stateBytes = context.stateBytes;
  }
}

/** Messages of WebAssembly traps and emscripten aborts that mean memory ran out. */
const MEMORY_TRAP = new RegExp(
  [
    "memory access out of bounds", // V8's trap for an access past the memory's end
    "out of bounds memory access", // SpiderMonkey's and JavaScriptCore's
    "^Aborted\\(", // emscripten's abort(), e.g. on a failed malloc
    "Cannot enlarge memory",
    "out of memory",
    "Maximum memory size exceeded", // WebAssembly.Memory.grow past its maximum
  ].join("|"),
  "i",
);

/**
 * Whether `error` is the wasm backend running out of memory, as a {@link WasmMemoryError}
 * (`undefined` if not): a memory trap on the wasm backend, or NaN/Inf in a stage
 * ({@link NonFiniteError}) while the memory is within two states of its ceiling (a blow-up
 * of the field does not fill the memory; an allocation that failed leaves garbage).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifyWasmFailure, WasmMemoryError } from "@fasterode/fasterode";
 * const context = { backend: "wasm", memoryBytes: 4.2e9, maxBytes: 4294901760, stateBytes: 4e8 };
 * const trap = new WebAssembly.RuntimeError("memory access out of bounds");
 * const e = classifyWasmFailure(trap, context);
 * assert.ok(e instanceof WasmMemoryError);
 * assert.match(e.message, /3\.91 GiB of its 4\.00 GiB ceiling.*100000000 float32 elements/);
 * assert.equal(classifyWasmFailure(trap, { ...context, backend: "cpu" }), undefined);
 * assert.equal(classifyWasmFailure(new TypeError("bad y0"), context), undefined);
 * ```
 */
export function classifyWasmFailure(
  error: unknown,
  context: WasmFailureContext,
): WasmMemoryError | undefined {
  if (context.backend !== "wasm") return undefined;
  if (error instanceof WasmMemoryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const trap = error instanceof WebAssembly.RuntimeError || MEMORY_TRAP.test(message);
  const full = context.memoryBytes + 2 * context.stateBytes > context.maxBytes;
  if (trap || (error instanceof NonFiniteError && full)) {
    return new WasmMemoryError(context, error);
  }
  return undefined;
}

/** The wasm backend's WebAssembly memory in bytes (`undefined` on another backend). */
function wasmMemoryBytes(): number | undefined {
  if (tf.getBackend() !== "wasm") return undefined;
  const wasm = (tf.backend() as unknown as { wasm?: { HEAP8?: Int8Array } }).wasm;
  return wasm?.HEAP8?.buffer.byteLength;
}

/**
 * `error` explained as the wasm memory ceiling when it is one ({@link classifyWasmFailure} with
 * the live memory size), else `error` itself; `stateElements` is the size of the solve's state.
 * Called only where a solve has already failed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { explainWasmFailure } from "./wasm_memory.ts";
 * // On the cpu backend (the default here) every error is passed through unchanged.
 * const e = new WebAssembly.RuntimeError("memory access out of bounds");
 * assert.equal(explainWasmFailure(e, 1000), e);
 * ```
 */
export function explainWasmFailure(error: unknown, stateElements: number, state?: string): unknown {
  const memoryBytes = wasmMemoryBytes();
  if (memoryBytes === undefined) return error;
  return classifyWasmFailure(error, {
    backend: "wasm",
    memoryBytes,
    maxBytes: WASM_MEMORY_MAX,
    stateBytes: 4 * stateElements,
    state,
  }) ?? error;
}

/**
 * `sol` itself, unless it is a failure returned by `onFailure: "return"` that is the wasm
 * backend out of memory (garbage read as NaN: no result): then its tensors are disposed and the
 * {@link WasmMemoryError} is thrown. Reads nothing for a successful solve.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { odeint } from "@fasterode/fasterode";
 * import { checkWasmSolution } from "./wasm_memory.ts";
 * const y0 = tf.tensor([1]);
 * const sol = await odeint((_t, y) => tf.neg(y), y0, [0, 1]);
 * const layout = { isTuple: false, shapes: [[1]], sizes: [1], size: 1 };
 * assert.equal(checkWasmSolution(sol, layout), sol); // a success is returned as it is
 * tf.dispose([y0, sol.ys]);
 * ```
 */
export function checkWasmSolution<S extends State>(
  sol: OdeSolution<State>,
  layout: StateLayout,
): OdeSolution<S> {
  if (sol.status === "non_finite") {
    const explained = explainWasmFailure(sol.error, layout.size);
    if (explained !== sol.error) {
      sol.dense?.dispose();
      tf.dispose([sol.ys, sol.event?.y].flat().filter((x): x is tf.Tensor => x !== undefined));
      throw explained;
    }
  }
  return sol as OdeSolution<S>;
}
