/**
 * The command line that prepares the Neural CDE experiment's data (`deno task speech-data`):
 * `synthetic` speaks the ten Speech Commands words with espeak-ng into a folder in the data
 * set's layout (`generateSyntheticSpeech`), `prepare` computes a data folder's MFCC splits into
 * its cache and prints their sizes (`loadSpeechCommands`, optionally downloading the data set
 * first).
 *
 * ```sh
 * deno task speech-data synthetic --out data/synthetic_speech --count 3000 --seed 0
 * deno task speech-data prepare --dir data/speech_commands [--download] [--cache-dir DIR] \
 *   [--seed 0] [--backend wasm]
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePrepareArgs, SPEECH_DATA_USAGE } from "./data_main.ts";
 * assert.match(SPEECH_DATA_USAGE, /^Usage: deno task speech-data <command>/);
 * assert.equal(parsePrepareArgs(["--dir", "d", "--seed", "2"]).options?.seed, 2);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { chooseBackend } from "../../mod.ts";
import {
  generateSyntheticSpeech,
  loadSpeechCommands,
  SPEECH_COMMANDS_CLASSES,
  SpeechDataUnavailableError,
  type SyntheticSpeechOptions,
} from "../../models/cde/mod.ts";
import {
  choice,
  numberFlag,
  parseCommandLine,
  parseFlags,
  pathFlag,
  runMain,
} from "../harness/mod.ts";

/** The usage text of `deno task speech-data` without a command. */
export const SPEECH_DATA_USAGE = `Usage: deno task speech-data <command> [options]

Prepares the data of the Neural CDE experiment (deno task cde).

Commands:
  synthetic   speak the ten words with espeak-ng into DIR/<word>/*.wav (16 kHz, 1 s)
  prepare     compute the MFCC splits of a Speech Commands folder into its cache

Run deno task speech-data <command> --help for the flags of a command.`;

/** The usage text of `deno task speech-data synthetic`. */
export const SYNTHETIC_USAGE = `Usage: deno task speech-data synthetic --out DIR [options]

Speaks the ten Speech Commands words with espeak-ng into DIR/<word>/*.wav (16 kHz, 1 s).

  --out DIR          output directory                         (required)
  --count N          number of clips (default 3000)
  --seed S           seed (default 0)
  --concurrency K    espeak-ng processes at once (default 2)
  --help             this text`;

/** The usage text of `deno task speech-data prepare`. */
export const PREPARE_USAGE = `Usage: deno task speech-data prepare --dir DIR [options]

Preprocesses Speech Commands (or a synthetic set in the same layout) into cached splits.

  --dir DIR         folder with one subfolder per word (yes, no, …)   (required)
  --download        download and unpack the data set into DIR first if it is missing
  --cache-dir DIR   cache folder (default DIR/.fasterode_cache)
  --seed N          split seed (default 0)
  --backend NAME    tfjs backend for the features: wasm (default) or cpu
  --help            this text`;

/** The `synthetic` command line, parsed: `--help`, or the generator's options. */
export type SyntheticSpeechArgs =
  | { help: true }
  | { help: false; options: Required<Omit<SyntheticSpeechOptions, "espeak" | "onProgress">> };

/**
 * Parses the flags of `deno task speech-data synthetic` (`--out DIR --count N --seed S
 * --concurrency K --help`). Unknown flags, positional arguments and malformed numbers are
 * errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSyntheticSpeechArgs } from "./data_main.ts";
 *
 * assert.deepEqual(parseSyntheticSpeechArgs(["--out", "d", "--count", "50"]), {
 *   help: false,
 *   options: { out: "d", count: 50, seed: 0, concurrency: 2 },
 * });
 * assert.throws(() => parseSyntheticSpeechArgs(["--out", "d", "--cuont", "5"]), /cuont/);
 * ```
 *
 * @param args The arguments after the command.
 * @returns `{ help: true }` for `--help`, else the options.
 * @throws {Error} On an unknown flag, a missing `--out` or a bad number.
 */
export function parseSyntheticSpeechArgs(args: string[]): SyntheticSpeechArgs {
  const values = parseFlags(args, {
    out: { type: "string" },
    count: { type: "string", default: "3000" },
    seed: { type: "string", default: "0" },
    concurrency: { type: "string", default: "2" },
    help: { type: "boolean", default: false },
  });
  if (values.help) return { help: true };
  if (values.out === undefined) {
    throw new TypeError("--out is required: the folder to write; run with --help to see the flags");
  }
  return {
    help: false,
    options: {
      out: pathFlag("out", String(values.out)),
      count: numberFlag("count", String(values.count), true, SPEECH_COMMANDS_CLASSES.length),
      seed: numberFlag("seed", String(values.seed), true, -(2 ** 31)),
      concurrency: numberFlag("concurrency", String(values.concurrency), true, 1),
    },
  };
}

/** The options of `deno task speech-data prepare`. */
export interface PrepareOptions {
  /** The folder of word folders. */
  dir: string;
  /** Download the data set into `dir` first if it is missing. */
  download: boolean;
  /** The cache folder (default: `loadSpeechCommands`'s, `<dir>/.fasterode_cache`). */
  cacheDir?: string;
  /** Split seed. */
  seed: number;
  /** The tfjs backend for the features. */
  backend: "wasm" | "cpu";
}

/**
 * Parses the flags of `deno task speech-data prepare` (`--dir DIR --download --cache-dir DIR
 * --seed N --backend wasm|cpu --help`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePrepareArgs } from "./data_main.ts";
 *
 * assert.deepEqual(parsePrepareArgs(["--dir", "d"]), {
 *   help: false,
 *   options: { dir: "d", download: false, cacheDir: undefined, seed: 0, backend: "wasm" },
 * });
 * assert.throws(() => parsePrepareArgs(["--dir", "d", "--backend", "gpu"]), /wasm, cpu/);
 * ```
 *
 * @param args The arguments after the command.
 * @returns `{ help: true }` for `--help`, else the options.
 * @throws {Error} On an unknown flag, a missing `--dir` or a bad value.
 */
export function parsePrepareArgs(
  args: string[],
): { help: true; options?: undefined } | { help: false; options: PrepareOptions } {
  const values = parseFlags(args, {
    dir: { type: "string" },
    download: { type: "boolean", default: false },
    "cache-dir": { type: "string" },
    seed: { type: "string", default: "0" },
    backend: { type: "string", default: "wasm" },
    help: { type: "boolean", default: false },
  });
  if (values.help) return { help: true };
  if (values.dir === undefined) {
    throw new TypeError("--dir is required: the data folder; run with --help to see the flags");
  }
  const cacheDir = values["cache-dir"];
  return {
    help: false,
    options: {
      dir: pathFlag("dir", String(values.dir)),
      download: values.download === true,
      cacheDir: cacheDir === undefined ? undefined : pathFlag("cache-dir", String(cacheDir)),
      seed: numberFlag("seed", String(values.seed), true, -(2 ** 31)),
      backend: choice("backend", String(values.backend), ["wasm", "cpu"] as const),
    },
  };
}

/** Writes a synthetic set, printing progress about 20 times. */
async function synthetic(options: Required<Omit<SyntheticSpeechOptions, "espeak" | "onProgress">>) {
  const { out, count, seed, concurrency } = options;
  console.log(`writing ${count} clips to ${out} (seed ${seed}, ${concurrency} at a time)`);
  const started = performance.now();
  const step = Math.max(1, Math.round(count / 20));
  const result = await generateSyntheticSpeech({
    ...options,
    onProgress: (done, total) => {
      if (done % step === 0 || done === total) {
        const secs = (performance.now() - started) / 1000;
        console.log(`  ${done}/${total} clips (${(done / secs).toFixed(1)} clips/s)`);
      }
    },
  });
  console.log(
    `done: ${result.count} clips in ${result.seconds.toFixed(1)} s; per word ` +
      SPEECH_COMMANDS_CLASSES.map((w, i) => `${w} ${result.perClass[i]}`).join(", "),
  );
}

/**
 * The error of a data command with the library's option names replaced by this command line's
 * flags: a missing data set says `--download` and `deno task speech-data synthetic --out DIR`
 * instead of `download: true` and `generateSyntheticSpeech`. Other errors are returned as they
 * are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SpeechDataUnavailableError } from "@fasterode/fasterode/models/cde";
 * import { inFlagTerms } from "./data_main.ts";
 *
 * const e = inFlagTerms(new SpeechDataUnavailableError("d", "d/yes not found", "folders")) as Error;
 * assert.match(e.message, /^d\/yes not found\. Pass --download /);
 * assert.match(e.message, /deno task speech-data synthetic --out d$/);
 * assert.doesNotMatch(e.message, /download: true|generateSyntheticSpeech/);
 * ```
 *
 * @param error What a data command threw.
 * @returns The error to report.
 */
export function inFlagTerms(error: unknown): unknown {
  if (!(error instanceof SpeechDataUnavailableError)) return error;
  return new Error(
    error.explain({
      download: "--download",
      synthetic: (dir) => `deno task speech-data synthetic --out ${dir}`,
    }),
    { cause: error },
  );
}

/** Computes (or reads) the cached splits and prints their shapes and class counts. */
async function prepare(options: PrepareOptions): Promise<void> {
  await chooseBackend({ requested: options.backend });
  const t0 = performance.now();
  const data = await loadSpeechCommands({
    dir: options.dir,
    cacheDir: options.cacheDir,
    seed: options.seed,
    download: options.download,
    log: (m) => console.log(m),
  }).catch((e) => {
    throw inFlagTerms(e);
  });
  if (data.fromCache && data.dropped > 0) {
    const names = data.droppedFiles;
    const more = names.length > 5 ? ` and ${names.length - 5} more` : "";
    console.log(
      `dropped ${names.length} clips not 16000 samples long: ${
        names.slice(0, 5).join(", ")
      }${more}`,
    );
  }
  for (const s of ["train", "val", "test"] as const) {
    const y = await data[s].y.data();
    const counts = data.classes.map((_, c) => y.filter((v) => v === c).length);
    console.log(`${s}: X ${JSON.stringify(data[s].X.shape)}, per class ${counts.join(" ")}`);
  }
  console.log(
    `done in ${((performance.now() - t0) / 1000).toFixed(1)} s (key ${data.key.slice(0, 20)})`,
  );
  tf.dispose([data.train, data.val, data.test]);
}

/**
 * The command line: `synthetic …` or `prepare …` (see {@linkcode SPEECH_DATA_USAGE}). A usage
 * error prints `error: …` and gives 2; `--help` prints the usage and gives 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { speechDataMain } from "./data_main.ts";
 * assert.equal(await speechDataMain(["synthetic", "--help"]), 0); // prints the usage
 * ```
 *
 * @param args The arguments, e.g. `Deno.args`.
 * @returns The exit code.
 */
export async function speechDataMain(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === "synthetic") {
    const parsed = parseCommandLine(rest, (a) => {
      const p = parseSyntheticSpeechArgs(a);
      return p.help ? "help" : p.options;
    }, SYNTHETIC_USAGE);
    if (typeof parsed === "number") return parsed;
    await synthetic(parsed);
    return 0;
  }
  if (command === "prepare") {
    const parsed = parseCommandLine(rest, (a) => {
      const p = parsePrepareArgs(a);
      return p.help ? "help" : p.options;
    }, PREPARE_USAGE);
    if (typeof parsed === "number") return parsed;
    await prepare(parsed);
    return 0;
  }
  if (command === undefined || command === "--help" || command === "help") {
    console.log(SPEECH_DATA_USAGE);
    return command === undefined ? 2 : 0;
  }
  console.error(
    `error: unknown command "${command}": the commands are synthetic and prepare; run with --help`,
  );
  return 2;
}

if (import.meta.main) await runMain(speechDataMain);
