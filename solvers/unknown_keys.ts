/**
 * The check that an options object has no unknown keys, shared by every options object of the
 * library and its models (a leaf module, so that any solver file can import it without a cycle).
 *
 * @module
 */

/**
 * Throws a `TypeError` naming the first key of `options` that is not in `known`, and the valid
 * ones: the one check behind every options object of the library and its models, so that a typo
 * is never silently ignored. `extra` is appended to the message (e.g. where other keys belong).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rejectUnknownKeys } from "@fasterode/fasterode";
 * rejectUnknownKeys("demo", { rtol: 1e-3 }, ["rtol", "atol"]);
 * assert.throws(
 *   () => rejectUnknownKeys("demo", { rTol: 1e-3 }, ["rtol", "atol"]),
 *   /^TypeError: Unknown demo option "rTol"; valid: rtol, atol$/,
 * );
 * ```
 *
 * @param what whose options they are, for the message (`"odeint"`, `"NeuralCDE"`, …)
 * @param options the options object given
 * @param known the valid keys
 * @param extra text appended to the message
 * @throws {TypeError} If `options` is not an object, or has a key not in `known`.
 */
export function rejectUnknownKeys(
  what: string,
  options: object,
  known: readonly string[],
  extra = "",
): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${what} options must be an object; got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`Unknown ${what} option "${key}"; valid: ${known.join(", ")}${extra}`);
    }
  }
}
