/**
 * Access to Deno's Jupyter kernel, for the notebooks' helpers: whether code runs in it
 * ({@linkcode inJupyter}), its API ({@linkcode jupyterApi}), and the pauses that keep a cell's
 * output from being lost ({@linkcode settle}, {@linkcode flush}). Outside the kernel (in
 * `deno test`, a script) there is no API and nothing waits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flush, inJupyter, jupyterApi } from "./jupyter.ts";
 *
 * assert.equal(inJupyter(), false); // under `deno test`
 * assert.equal(jupyterApi(), undefined);
 * await flush(); // returns at once outside Jupyter
 * ```
 *
 * @module
 */

/** The part of `Deno.jupyter` that the notebooks' helpers use. */
export interface JupyterApi {
  /**
   * `Deno.jupyter.display`: sends an output; with `display_id`, `update: true` redraws the output
   * of that id in place.
   */
  display(
    obj: unknown,
    options?: { raw?: boolean; display_id?: string; update?: boolean },
  ): Promise<void>;
  /** `Deno.jupyter.broadcast`, to send a message such as `display_data` with metadata. */
  broadcast?(msgType: string, content: Record<string, unknown>): Promise<void>;
}

/**
 * `Deno.jupyter` inside Deno's Jupyter kernel (`deno jupyter`); undefined elsewhere, where
 * reading it throws.
 *
 * @example
 * ```ts
 * import { jupyterApi } from "./jupyter.ts";
 *
 * const jupyter = jupyterApi();
 * if (jupyter === undefined) console.log("a line");
 * else await jupyter.display({ "text/plain": "a line" }, { raw: true });
 * ```
 *
 * @returns the kernel's API, or undefined outside the kernel
 */
export function jupyterApi(): JupyterApi | undefined {
  try {
    return Deno.jupyter;
  } catch {
    return undefined;
  }
}

/**
 * Whether this code runs in Deno's Jupyter kernel, where `Deno.jupyter` exists.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inJupyter } from "./jupyter.ts";
 *
 * assert.equal(inJupyter(), false); // under `deno test`
 * ```
 *
 * @returns true inside the kernel
 */
export function inJupyter(): boolean {
  return jupyterApi() !== undefined;
}

/**
 * Waits `milliseconds` (default 50) so that the kernel sends pending messages: after a display,
 * before the next one or the end of a cell. 50 ms before a cell ends (20 ms sufficed in 45 of 45
 * tries); 20 ms between the parts of a long output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { settle } from "./jupyter.ts";
 *
 * const start = performance.now();
 * await settle(20);
 * assert.ok(performance.now() - start >= 15);
 * ```
 *
 * @param milliseconds how long to wait
 */
export function settle(milliseconds = 50): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/**
 * Gives the kernel time to send what the cell printed: end a cell that prints with
 * `await flush()`. Deno's Jupyter kernel (2.x) can send a cell's last lines of output after it
 * reports the cell finished, and headless runners (`nbconvert --execute`, nbclient) then drop
 * them: about one cell in ten that ends with `console.log` loses its last lines. A short pause
 * ({@linkcode settle}) before the cell ends lets them out. Outside Jupyter it returns at once.
 *
 * @example
 * ```ts
 * import { flush } from "./jupyter.ts";
 *
 * console.log("the last line of a cell");
 * await flush();
 * ```
 */
export async function flush(): Promise<void> {
  if (inJupyter()) await settle();
}
