/**
 * The registry of Runge–Kutta methods by name. Adding a method is adding a tableau file and a
 * line here.
 *
 * @module
 */
import { adaptiveHeun } from "./adaptive_heun.ts";
import { bosh3 } from "./bosh3.ts";
import { dopri5 } from "./dopri5.ts";
import { dopri8 } from "./dopri8.ts";
import { dop853 } from "./dop853.ts";
import { euler } from "./euler.ts";
import { fehlberg2 } from "./fehlberg2.ts";
import { heun } from "./heun.ts";
import { kvaerno5 } from "./kvaerno5.ts";
import { midpoint } from "./midpoint.ts";
import { rk4 } from "./rk4.ts";
import { tsit5 } from "./tsit5.ts";
import type { Tableau } from "./tableau.ts";

/** Every method, by the name `odeint` accepts. */
export const METHODS = {
  dopri5,
  tsit5,
  bosh3,
  fehlberg2,
  adaptive_heun: adaptiveHeun,
  dopri8,
  dop853,
  euler,
  midpoint,
  rk4,
  heun,
  kvaerno5,
} as const satisfies Record<string, Tableau>;

/** A method name accepted by `odeint`. */
export type MethodName = keyof typeof METHODS;

/**
 * The tableau of a method; throws a `TypeError` listing the valid names for an unknown one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getMethod } from "@fasterode/fasterode";
 * assert.ok(getMethod("dopri5").order === 5);
 * ```
 */
export function getMethod(name: string): Tableau {
  const tableau = (METHODS as Record<string, Tableau>)[name];
  if (tableau === undefined || !Object.hasOwn(METHODS, name)) {
    throw new TypeError(`Unknown method "${name}"; available: ${Object.keys(METHODS).join(", ")}`);
  }
  return tableau;
}
