/**
 * The command line shared by the experiments (`deno task cde`, `deno task acrobot`): strict flags
 * with messages that say what was wrong and point to `--help` ({@linkcode parseFlags},
 * {@linkcode choice}, {@linkcode numberFlag}), usage errors as exit code 2
 * ({@linkcode parseCommandLine}), the flags every experiment has ({@linkcode EXPERIMENT_FLAGS},
 * {@linkcode experimentFlags}), the root of a run's files ({@linkcode ROOT_USAGE},
 * {@linkcode withRoot}), the backend for a preset ({@linkcode experimentBackend}) and the entry
 * point's error handling ({@linkcode runMain}, which turns a write outside the allowed folders
 * into a one-line hint, {@linkcode writePermissionHint}).
 *
 * @module
 */
import { isAbsolute, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { type BackendName, chooseBackend, NORM_NAMES, type NormName } from "../../mod.ts";
import { fasterodeRoot, setFasterodeRoot } from "../../models/data/mod.ts";
import { TrainingInterrupted } from "./checkpoint.ts";

/**
 * Parses `args` against `options` (node:util `parseArgs`, strict, no positionals), turning its
 * errors into `TypeError`s that name the flag and point to `--help`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags } from "@fasterode/fasterode/experiments";
 * const flags = { epochs: { type: "string" } } as const;
 * assert.equal(parseFlags(["--epochs", "3"], flags).epochs, "3");
 * assert.throws(() => parseFlags(["--epoch", "3"], flags), /unknown flag --epoch/);
 * // A negative number is a value, not a flag, so that range checks can name it.
 * assert.equal(parseFlags(["--epochs", "-1"], flags).epochs, "-1");
 * ```
 */
export function parseFlags(
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({
      args: joinNegativeValues(args, options),
      options,
      strict: true,
      allowPositionals: false,
    }).values as Record<
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
 * `--flag -1` as `--flag=-1` for flags that take a value: node:util's parser reads `-1` as a short
 * option and reports the flag as "ambiguous".
 */
function joinNegativeValues(
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith("--") ? args[i].slice(2) : undefined;
    const next = args[i + 1];
    if (
      name !== undefined && options[name]?.type === "string" && next !== undefined &&
      /^-\d|^-\.\d|^-Infinity$/.test(next)
    ) {
      out.push(`${args[i]}=${next}`);
      i++;
    } else {
      out.push(args[i]);
    }
  }
  return out;
}

/**
 * The value of `--flag` if it is one of `choices`; a `RangeError` listing them otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { choice } from "@fasterode/fasterode/experiments";
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
 * import { numberFlag } from "@fasterode/fasterode/experiments";
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

/** The flags every experiment takes (each adds its own); see {@linkcode experimentFlags}. */
export const EXPERIMENT_FLAGS = {
  norm: { type: "string" },
  preset: { type: "string" },
  rtol: { type: "string" },
  atol: { type: "string" },
  epochs: { type: "string" },
  "batch-size": { type: "string" },
  lr: { type: "string" },
  "metric-every": { type: "string" },
  seed: { type: "string" },
  backend: { type: "string" },
  out: { type: "string" },
  root: { type: "string" },
  checkpoint: { type: "string" },
  resume: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * The help lines of `--root`, the same in every experiment's usage (after `--out`'s, whose
 * default is `<root>/results`).
 */
export const ROOT_USAGE =
  `  --root DIR          the folder under which data/, .cache/ and results/ go (default
                      $FASTERODE_ROOT, else the project folder: the nearest folder upwards
                      holding a deno.json or package.json); --out, --data-dir and
                      --checkpoint, when given, win (relative to the current directory)`;

/** The help lines of the checkpoint flags, the same in every experiment's usage. */
export const CHECKPOINT_USAGE =
  `  --checkpoint DIR    checkpoint folder (default <out>/checkpoints/<experiment>/<time>-<pid>);
                      a checkpoint is saved after every epoch, and on Ctrl-C / SIGTERM after
                      the current step (a second Ctrl-C quits at once)
  --resume DIR        continue the run whose checkpoint folder DIR is, with the same flags:
                      finished norms are kept, the interrupted one ends as it would have`;

/**
 * The options that {@linkcode EXPERIMENT_FLAGS} give, as the experiments name them; `P` is the
 * names of the experiment's presets.
 */
export interface ExperimentFlags<P extends string = "small" | "paper"> {
  /** `--norm`: one norm, or both (`both`). */
  norms?: NormName[];
  /** `--preset`: one of the experiment's presets. */
  preset?: P;
  /** `--rtol`. */
  rtol?: number;
  /** `--atol`. */
  atol?: number;
  /** `--epochs`. */
  epochs?: number;
  /** `--batch-size`. */
  batchSize?: number;
  /** `--lr`. */
  learningRate?: number;
  /** `--metric-every`. */
  epochsPerMetric?: number;
  /** `--seed`. */
  seed?: number;
  /** `--backend`. */
  backend?: BackendName;
  /** `--out`. */
  out?: string;
  /** `--root`: the root of the run's default paths (see {@linkcode withRoot}). */
  root?: string;
  /** `--checkpoint`. */
  checkpoint?: string;
  /** `--resume`. */
  resume?: string;
}

/**
 * The options of the flags every experiment takes ({@linkcode EXPERIMENT_FLAGS}), checked; flags
 * not given are absent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EXPERIMENT_FLAGS, experimentFlags, parseFlags } from "@fasterode/fasterode/experiments";
 *
 * const values = parseFlags(["--norm", "both", "--lr", "1e-3"], EXPERIMENT_FLAGS);
 * assert.deepEqual(experimentFlags(values), {
 *   norms: ["default", "seminorm"],
 *   learningRate: 1e-3,
 * });
 * assert.throws(() => experimentFlags({ out: "" }), /--out must be a directory/);
 * ```
 *
 * @param values what {@linkcode parseFlags} read
 * @param presets the names `--preset` may take (default `small`, `paper`)
 * @returns the options
 * @throws {RangeError} naming a flag with a bad value
 */
export function experimentFlags<P extends string = "small" | "paper">(
  values: Record<string, string | boolean | undefined>,
  presets: readonly P[] = ["small", "paper"] as unknown as readonly P[],
): ExperimentFlags<P> {
  const o: ExperimentFlags<P> = {};
  const str = (flag: keyof typeof EXPERIMENT_FLAGS) => values[flag] as string | undefined;
  const int = (flag: keyof typeof EXPERIMENT_FLAGS, min: number) =>
    numberFlag(flag, str(flag)!, true, min);
  const real = (flag: keyof typeof EXPERIMENT_FLAGS) => numberFlag(flag, str(flag)!, false, 0);
  if (str("norm") !== undefined) {
    const n = choice("norm", str("norm")!, [...NORM_NAMES, "both"] as const);
    o.norms = n === "both" ? [...NORM_NAMES] : [n];
  }
  if (str("preset") !== undefined) {
    o.preset = choice("preset", str("preset")!, presets);
  }
  if (str("rtol") !== undefined) o.rtol = real("rtol");
  if (str("atol") !== undefined) o.atol = real("atol");
  if (str("epochs") !== undefined) o.epochs = int("epochs", 1);
  if (str("batch-size") !== undefined) o.batchSize = int("batch-size", 1);
  if (str("lr") !== undefined) o.learningRate = real("lr");
  if (str("metric-every") !== undefined) o.epochsPerMetric = int("metric-every", 1);
  if (str("seed") !== undefined) o.seed = int("seed", 0);
  if (str("backend") !== undefined) {
    o.backend = choice("backend", str("backend")!, ["cpu", "wasm", "webgpu"] as const);
  }
  if (str("out") !== undefined) o.out = pathFlag("out", str("out")!);
  if (str("root") !== undefined) o.root = pathFlag("root", str("root")!);
  if (str("checkpoint") !== undefined) o.checkpoint = pathFlag("checkpoint", str("checkpoint")!);
  if (str("resume") !== undefined) o.resume = pathFlag("resume", str("resume")!);
  if (o.checkpoint !== undefined && o.resume !== undefined) {
    throw new TypeError("--checkpoint and --resume exclude each other: a resume uses its folder");
  }
  return o;
}

/**
 * The directory in `--flag`; a `RangeError` for an empty one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pathFlag } from "@fasterode/fasterode/experiments";
 * assert.equal(pathFlag("data", "data/speech"), "data/speech");
 * assert.throws(() => pathFlag("data", ""), /--data must be a directory/);
 * ```
 */
export function pathFlag(flag: string, text: string): string {
  if (text === "") throw new RangeError(`--${flag} must be a directory, got an empty string`);
  return text;
}

/** The message of a thrown value. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Parses an experiment's command line: `parse` turns the flags into options (or `"help"`), and
 * `check` may reject options before any work starts. A usage error is printed as `error: …` and
 * gives exit code 2, `--help` prints `usage` and gives 0; otherwise the options are returned.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberFlag, parseCommandLine, parseFlags } from "@fasterode/fasterode/experiments";
 *
 * const parse = (args: string[]) => {
 *   const values = parseFlags(args, { epochs: { type: "string" }, help: { type: "boolean" } });
 *   if (values.help) return "help" as const;
 *   return { epochs: numberFlag("epochs", String(values.epochs ?? "1"), true, 1) };
 * };
 * assert.deepEqual(parseCommandLine(["--epochs", "3"], parse, "Usage: …"), { epochs: 3 });
 * assert.equal(parseCommandLine(["--epochs", "0"], parse, "Usage: …"), 2); // prints the error
 * assert.equal(parseCommandLine(["--help"], parse, "Usage: …"), 0); // prints the usage
 * ```
 *
 * @param args the command line's arguments
 * @param parse flags to options, or `"help"`
 * @param usage the `--help` text
 * @param check throws on options that cannot run (optional)
 * @returns the options, or the exit code when there is nothing to run
 */
export function parseCommandLine<T>(
  args: string[],
  parse: (args: string[]) => T | "help",
  usage: string,
  check: (options: T) => void = () => {},
): T | number {
  try {
    const options = parse(args);
    if (options === "help") {
      console.log(usage);
      return 0;
    }
    check(options);
    return options;
  } catch (error) {
    console.error(`error: ${messageOf(error)}`);
    return 2;
  }
}

/**
 * Starts the backend an experiment runs on with the library's one policy (`chooseBackend`): the
 * one asked for, else `FASTERODE_BACKEND`, else `webgpu` on a hardware GPU, else `wasm`; says on
 * stderr when the `paper` preset runs without a GPU (slow).
 *
 * @param asked the `--backend` flag, if given
 * @param preset the preset
 * @returns the active backend
 */
export async function experimentBackend(
  asked: BackendName | undefined,
  preset: string | undefined,
): Promise<BackendName> {
  const { backend, reason } = await chooseBackend({ requested: asked ?? "auto" });
  if (preset === "paper" && backend !== "webgpu") {
    console.error(`running the paper preset on ${backend} (${reason}): slow without a GPU`);
  }
  return backend;
}

/**
 * Runs `body` with the root of the default paths (`fasterodeRoot` of models/data/root.ts) set to
 * `root`, the `--root` flag, and the previous root restored after; without `root`, as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolve } from "node:path";
 * import { withRoot } from "@fasterode/fasterode/experiments";
 * import { fasterodeRoot, rootPath } from "@fasterode/fasterode/models/data";
 * const before = fasterodeRoot();
 * assert.equal(await withRoot("elsewhere", () => Promise.resolve(rootPath())), resolve("elsewhere"));
 * assert.equal(fasterodeRoot(), before);
 * ```
 *
 * @param root the folder (relative to the current directory), or `undefined`
 * @param body the run
 * @returns what `body` returns
 */
export async function withRoot<T>(root: string | undefined, body: () => Promise<T>): Promise<T> {
  if (root === undefined) return await body();
  const previous = setFasterodeRoot(root);
  try {
    return await body();
  } finally {
    setFasterodeRoot(previous);
  }
}

/**
 * The one-line message for a write the process was not allowed to make (Deno's `NotCapable`
 * "Requires write access to …", also as the `cause` of another error): the folder to allow and
 * how (`deno task` allows writes only inside the project folder); `undefined` for any other
 * error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writePermissionHint } from "@fasterode/fasterode/experiments";
 * const error = new Deno.errors.NotCapable(
 *   'Requires write access to "/elsewhere/results/acrobot", run again with the --allow-write flag',
 * );
 * const line = writePermissionHint(error, "deno task acrobot", "/elsewhere");
 * assert.match(line!, /^cannot write \/elsewhere\/results\/acrobot: deno task acrobot may write/);
 * assert.match(line!, /--allow-write=\/elsewhere /);
 * assert.equal(writePermissionHint(new Error("disk full"), "deno task acrobot"), undefined);
 * ```
 *
 * @param error what the run threw
 * @param command how the user started it (`"deno task cde"`)
 * @param root the root of the run (default `fasterodeRoot()`): the folder to allow when the path
 *   is inside it, else the path itself
 * @returns the message, or `undefined`
 */
export function writePermissionHint(
  error: unknown,
  command: string,
  root: string = fasterodeRoot(),
): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (!(e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied)) {
      continue;
    }
    const path = /Requires write access to "([^"]+)"/.exec(e.message)?.[1];
    if (path === undefined) continue;
    const inside = !relative(root, path).startsWith("..") && !isAbsolute(relative(root, path));
    const allow = inside ? root : path;
    let script = "<script>";
    try {
      script = relative(Deno.cwd(), fileURLToPath(Deno.mainModule));
    } catch { /* not a file module, or the current directory is not readable */ }
    return `cannot write ${path}: ${command} may write only inside the project folder; run ` +
      `deno run --allow-write=${allow} (with the task's other flags, see deno.json) ${script} ` +
      `[options], or choose a --root inside the project folder`;
  }
  return undefined;
}

/**
 * Runs an experiment's `main` as the program: exits with its code, or prints the error of a
 * failed run (`error: …`, without a stack; a write outside the allowed folders as the line of
 * {@linkcode writePermissionHint}) and exits with 1. A run stopped by a signal
 * ({@link TrainingInterrupted}) prints what was saved and the command that resumes it
 * ({@link interruptedReport}) and exits with 130.
 *
 * @param main the command line's function
 * @param args the arguments (default `Deno.args`)
 * @param command how the user started it, for the resume command (`"deno task cde"`)
 */
export async function runMain(
  main: (args: string[]) => Promise<number>,
  args: string[] = Deno.args,
  command?: string,
): Promise<never> {
  try {
    Deno.exit(await main(args));
  } catch (error) {
    if (error instanceof TrainingInterrupted) {
      for (const line of interruptedReport(error, command ?? "deno run -A <script>", args)) {
        console.error(line);
      }
      Deno.exit(130);
    }
    const hint = writePermissionHint(error, command ?? "this command");
    console.error(`error: ${hint ?? messageOf(error)}`);
    Deno.exit(1);
  }
}

/**
 * `args` with `--resume`/`--checkpoint` and their values removed and `--resume dir` added: the
 * command line that continues an interrupted run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resumeArgs } from "@fasterode/fasterode/experiments";
 * assert.deepEqual(
 *   resumeArgs(["--epochs", "3", "--checkpoint", "old", "--resume=x"], "ck"),
 *   ["--epochs", "3", "--resume", "ck"],
 * );
 * ```
 */
export function resumeArgs(args: string[], dir: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--resume" || a === "--checkpoint") i++;
    else if (!a.startsWith("--resume=") && !a.startsWith("--checkpoint=")) out.push(a);
  }
  return [...out, "--resume", dir];
}

/** A shell word, quoted when it needs to be. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * What an interrupted experiment prints: what was saved, the finished runs kept, and the command
 * that resumes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TrainingInterrupted, interruptedReport } from "@fasterode/fasterode/experiments";
 * const e = new TrainingInterrupted("SIGINT", "ck", "saved ck/seminorm/checkpoint.json (after epoch 2 of 5)");
 * e.finished = ["results/x/0.json"];
 * const lines = interruptedReport(e, "deno task cde", ["--epochs", "5"]);
 * assert.match(lines[0], /^interrupted by SIGINT: saved ck\/seminorm/);
 * assert.match(lines[1], /finished runs kept: results\/x\/0\.json/);
 * assert.equal(lines[2], "resume with: deno task cde --epochs 5 --resume ck");
 * ```
 */
export function interruptedReport(
  error: TrainingInterrupted,
  command: string,
  args: string[],
): string[] {
  const lines = [error.message];
  if (error.finished.length > 0) lines.push(`finished runs kept: ${error.finished.join(", ")}`);
  lines.push(
    `resume with: ${command} ${resumeArgs(args, error.resumeDir).map(shellWord).join(" ")}`,
  );
  return lines;
}
