/**
 * The demo (`deno task demo`): the spiral neural ODE trained once per backward norm. Its
 * settings (`settings.ts`), the run ({@link runDemo}, `run.ts`), the table (`report.ts`) and the
 * command line ({@link demoMain}, `main.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEMO_SETTINGS, parseDemoArgs } from "@fasterode/fasterode/experiments";
 * assert.deepEqual(parseDemoArgs([]), {});
 * assert.equal(DEMO_SETTINGS.width, 128);
 * ```
 *
 * @module
 */
export {
  DEMO_SETTINGS,
  type DemoOptions,
  type DemoSettings,
  resolveDemoSettings,
} from "./settings.ts";
export { type DemoRun, runDemo } from "./run.ts";
export { formatDemoTable } from "./report.ts";
export { DEMO_USAGE, type DemoCliOptions, demoMain, parseDemoArgs } from "./main.ts";
