/**
 * An experiment's settings: a named preset, with the options a caller gives overriding its
 * values, each checked. Shared by the experiments (`resolveCdeSettings`, `resolveAcrobotSettings`,
 * `resolveDemoSettings`).
 *
 * @module
 */

/** What {@linkcode resolvePreset} needs to know besides the presets. */
export interface PresetRules {
  /** The experiment's name, which starts every message (`"cde"`, `"acrobot"`). */
  experiment: string;
  /** Options the experiment takes besides the presets' settings and `preset`. */
  options: readonly string[];
  /** Settings that must be integers ≥ 1; `weightDecay` must be ≥ 0; any other must be > 0. */
  integers: ReadonlySet<string>;
}

/**
 * The settings of `options.preset` (default `"small"`) with every setting given in `options`
 * in place of the preset's, checked: integers ≥ 1 for `rules.integers`, a finite number ≥ 0 for
 * `weightDecay`, a finite number > 0 otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolvePreset } from "@fasterode/fasterode/experiments";
 *
 * const presets = { small: { width: 16, lr: 1e-2 }, paper: { width: 400, lr: 1e-3 } };
 * const rules = { experiment: "demo", options: ["seed"], integers: new Set(["width"]) };
 * assert.deepEqual(resolvePreset(presets, { preset: "paper", lr: 5e-4 }, rules), {
 *   preset: "paper",
 *   settings: { width: 400, lr: 5e-4 },
 * });
 * assert.throws(() => resolvePreset(presets, { width: 2.5 }, rules), /demo: width must be an integer >= 1/);
 * const typo = { wdith: 2 } as { width?: number }; // e.g. from untyped JavaScript
 * assert.throws(() => resolvePreset(presets, typo, rules), /demo: unknown option "wdith"/);
 * assert.throws(() => resolvePreset(presets, { preset: "huge" }, rules), /unknown preset "huge"/);
 * ```
 *
 * @param presets the presets by name (one named `small`, the default)
 * @param options the caller's options: `preset`, overrides, and the experiment's other options
 * @param rules the experiment's name, its other options and its integer settings
 * @returns the preset's name and the settings
 * @throws {TypeError} On options that are not an object or name an unknown option.
 * @throws {RangeError} On an unknown preset or a bad value.
 */
export function resolvePreset<P extends string, S extends object>(
  presets: Readonly<Record<P, Readonly<S>>>,
  options: Partial<S> & { preset?: string },
  rules: PresetRules,
): { preset: P; settings: S } {
  const { experiment, integers } = rules;
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${experiment}: options must be an object`);
  }
  const names = Object.keys(presets) as P[];
  const known = [...Object.keys(presets[names[0]]), "preset", ...rules.options];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${experiment}: unknown option "${key}" (known: ${known.join(", ")})`);
    }
  }
  const preset = (options.preset ?? "small") as P;
  if (!Object.hasOwn(presets, preset)) {
    throw new RangeError(
      `${experiment}: unknown preset "${preset}" (${names.join(" or ")})`,
    );
  }
  const given = options as Record<string, unknown>;
  const settings: Record<string, unknown> = { ...presets[preset] };
  for (const key of Object.keys(settings)) {
    const value = given[key];
    if (value === undefined) continue;
    const ok = typeof value === "number" && Number.isFinite(value) &&
      (integers.has(key)
        ? Number.isInteger(value) && value >= 1
        : key === "weightDecay"
        ? value >= 0
        : value > 0);
    if (!ok) {
      const what = integers.has(key)
        ? "an integer >= 1"
        : key === "weightDecay"
        ? "a finite number >= 0"
        : "a finite number > 0";
      throw new RangeError(`${experiment}: ${key} must be ${what}, got ${value}`);
    }
    settings[key] = value;
  }
  return { preset, settings: settings as S };
}
