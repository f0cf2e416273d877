/**
 * Command-line parsing shared by the experiments (`deno task cde`, `deno task acrobot`): strict
 * flags with messages that say what was wrong and point to `--help`.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/**
 * Parses `args` against `options` (node:util `parseArgs`, strict, no positionals), turning its
 * errors into `TypeError`s that name the flag and point to `--help`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags } from "./cli.ts";
 * const flags = { epochs: { type: "string" } } as const;
 * assert.equal(parseFlags(["--epochs", "3"], flags).epochs, "3");
 * assert.throws(() => parseFlags(["--epoch", "3"], flags), /unknown flag --epoch/);
 * ```
 */
export function parseFlags(
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const flag = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new TypeError(`unknown flag ${flag}; run with --help to see the flags`);
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      const arg = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new TypeError(
        `unexpected argument "${arg}": every option is a flag; run with --help to see them`,
      );
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      throw new TypeError(`${message.split(/\.\s/)[0]}; run with --help to see the flags`);
    }
    throw error;
  }
}

/**
 * The value of `--flag` if it is one of `choices`; a `RangeError` listing them otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { choice } from "./cli.ts";
 * assert.equal(choice("norm", "seminorm", ["default", "seminorm"] as const), "seminorm");
 * assert.throws(() => choice("norm", "semi", ["default", "seminorm"]), /must be one of/);
 * ```
 */
export function choice<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) {
    throw new RangeError(`--${flag} must be one of ${choices.join(", ")}, got "${text}"`);
  }
  return text as T;
}

/**
 * The number in `--flag`: an integer ≥ `min`, or (with `integer` false) a number > `min`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberFlag } from "./cli.ts";
 * assert.equal(numberFlag("epochs", "3", true, 1), 3);
 * assert.throws(() => numberFlag("rtol", "-1", false, 0), /must be a number > 0/);
 * ```
 */
export function numberFlag(flag: string, text: string, integer: boolean, min: number): number {
  const value = Number(text);
  const ok = text.trim() !== "" && Number.isFinite(value) &&
    (integer ? Number.isInteger(value) && value >= min : value > min);
  if (!ok) {
    const what = integer ? `an integer >= ${min}` : `a number > ${min}`;
    throw new RangeError(`--${flag} must be ${what}, got "${text}"`);
  }
  return value;
}
