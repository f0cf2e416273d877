/**
 * The command line of the Neural CDE experiment (`deno task cde`): parses the flags
 * ({@link parseCdeArgs}, {@link CDE_USAGE}), chooses the backend, runs `runCdeExperiment` and
 * prints the table.
 *
 * ```sh
 * deno task cde                          # small preset, 2000 synthetic clips
 * deno task cde --synthetic 3000 --norm seminorm
 * deno task cde --preset paper --data data/speech_commands --download
 * deno task cde --help
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CDE_USAGE } from "@fasterode/fasterode/experiments";
 * assert.match(CDE_USAGE, /^Usage: deno task cde \[options\]/);
 * ```
 *
 * @module
 */
import type { BackendName } from "../../mod.ts";
import { SPEECH_COMMANDS_CLASSES } from "../../models/cde/mod.ts";
import {
  CHECKPOINT_USAGE,
  EXPERIMENT_FLAGS,
  experimentBackend,
  experimentFlags,
  numberFlag,
  parseCommandLine,
  parseFlags,
  pathFlag,
  ROOT_USAGE,
  runMain,
  withRoot,
} from "../harness/mod.ts";
import { cdeTableNote, describeCdeExperiment, formatCdeTable } from "./report.ts";
import { runCdeExperiment } from "./run.ts";
import {
  CDE_PRESET_NAMES,
  CDE_PRESET_NOTES,
  CDE_PRESETS,
  type CdeExperimentOptions,
  type CdeSettings,
  CPU_SYNTHETIC_CLIPS,
  resolveCdeData,
  resolveCdeSettings,
  SMALL_SYNTHETIC_CLIPS,
} from "./settings.ts";

/** `small X, cpu Y, paper Z` for a setting, from the presets. */
function presets(key: keyof CdeSettings, show: (x: number) => string = String): string {
  return `small ${show(CDE_PRESETS.small[key])}, cpu ${show(CDE_PRESETS.cpu[key])}, ` +
    `paper ${show(CDE_PRESETS.paper[key])}`;
}

/** A small number as the flags write it: `1e-3`, `1.6e-3`. */
function sci(x: number): string {
  return x < 0.1 ? x.toExponential() : String(x);
}

const TIME_SCALES = presets("timeChannelScale", (x) => x === 1 ? "1" : `1/${Math.round(1 / x)}`);
const METRIC_EVERY = presets("epochsPerMetric");

/**
 * The usage text of the command line (`--help`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CDE_USAGE } from "@fasterode/fasterode/experiments";
 * assert.match(CDE_USAGE, /--epochs N +training epochs \(small 3, cpu 6, paper 200\)/);
 * ```
 */
export const CDE_USAGE: string = `Usage: deno task cde [options]
       (deno run -A experiments/cde/main.ts [options])

Trains the paper's Neural CDE on Speech Commands (or synthetic espeak-ng clips), once per
backward norm (same seed), and prints test accuracy, backward NFE and time. Results:
<out>/speech_commands/<preset>-<data>-<norm>-<rtol>-<atol>/<n>.json.

Data (one of; the small preset defaults to --synthetic ${SMALL_SYNTHETIC_CLIPS}, cpu to ${CPU_SYNTHETIC_CLIPS}):
  --data DIR          a Speech Commands v0.02 directory (yes/, no/, … of 16 kHz WAV files)
  --download          with --data: download and unpack the official 2.3 GB archive into DIR
                      first if the word folders are missing (needs internet)
  --synthetic N       speak N clips with espeak-ng into DATA_DIR/synthetic-N-DATA_SEED (made
                      once, reused later; 10–25 clips/s on 2 cores)
  --data-dir DIR      where synthetic sets go (default <root>/data)

Run:
  --norm NAME         default, seminorm or both (default both)
  --preset NAME       small (default), cpu or paper
  --rtol X            relative tolerance of both solves (default ${sci(CDE_PRESETS.small.rtol)})
  --atol X            absolute tolerance of both solves (default ${
  sci(CDE_PRESETS.small.atol)
}); one of --rtol/--atol
                      alone takes its partner from the paper's pairs (1e-3, 1e-6), (1e-4, 1e-7),
                      (1e-5, 1e-8)
  --epochs N          training epochs (${presets("epochs")})
  --batch-size N      clips per batch (${presets("batchSize")})
  --hidden N          hidden state size (${presets("hiddenChannels")})
  --hidden-hidden N   vector field width (${presets("hiddenHiddenChannels")})
  --layers N          vector field hidden layers (${presets("numHiddenLayers")})
  --frame-stride N    keep every Nth of the 161 MFCC frames (${presets("frameStride")})
  --time-scale X      factor on the time channel 0 … 160 (${TIME_SCALES})
  --lr X              AdamW learning rate (${presets("learningRate", sci)})
  --metric-every N    metric passes every N epochs and after the last (${METRIC_EVERY})
  --seed N            seed of the initial weights and the batch order (default 0)
  --data-seed N       seed of the train/val/test split and the synthetic clips (default 0)
  --backend NAME      cpu, wasm or webgpu (small: wasm; paper: webgpu when a hardware GPU is
                      present, else wasm)
  --out DIR           results directory (default <root>/results; root = $FASTERODE_ROOT or
                      the project folder, see --root)
${ROOT_USAGE}
${CHECKPOINT_USAGE}
  --record-times      record every evaluation and step time in the metric passes
  --help              this text

${CDE_PRESET_NOTES}`;

/** The command line's options, parsed. */
export interface CdeCliOptions extends Omit<CdeExperimentOptions, "onProgress" | "log"> {
  /** The tfjs backend; `undefined` picks the preset's default. */
  backend?: BackendName;
  /** `--root`: the root of the run's default paths (data, caches, results). */
  root?: string;
}

const FLAGS = {
  ...EXPERIMENT_FLAGS,
  hidden: { type: "string" },
  "hidden-hidden": { type: "string" },
  layers: { type: "string" },
  "frame-stride": { type: "string" },
  "time-scale": { type: "string" },
  "data-seed": { type: "string" },
  data: { type: "string" },
  download: { type: "boolean" },
  synthetic: { type: "string" },
  "data-dir": { type: "string" },
  "record-times": { type: "boolean" },
} as const;

/**
 * Parses the command line's flags (see {@link CDE_USAGE}) into options, or `"help"` for
 * `--help`. Throws a `TypeError` naming an unknown flag, a stray argument or a bad combination
 * (`--data` with `--synthetic`, `--download` without `--data`), and a `RangeError` naming a bad
 * value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCdeArgs } from "@fasterode/fasterode/experiments";
 * const options = parseCdeArgs(["--norm", "seminorm", "--synthetic", "500", "--epochs", "2"]);
 * assert.deepEqual(options, { norms: ["seminorm"], synthetic: 500, epochs: 2 });
 * assert.throws(() => parseCdeArgs(["--epoch", "3"]), /unknown flag --epoch/);
 * assert.equal(parseCdeArgs(["--help"]), "help");
 * ```
 *
 * @param args the command line's arguments
 * @returns the options, or `"help"`
 */
export function parseCdeArgs(args: string[]): CdeCliOptions | "help" {
  const values = parseFlags(args, FLAGS);
  if (values.help) return "help";
  const o: CdeCliOptions = experimentFlags(values, CDE_PRESET_NAMES);
  const str = (k: keyof typeof FLAGS) => values[k] as string | undefined;
  const int = (flag: keyof typeof FLAGS, min: number) => numberFlag(flag, str(flag)!, true, min);
  const real = (flag: keyof typeof FLAGS) => numberFlag(flag, str(flag)!, false, 0);
  if (str("hidden") !== undefined) o.hiddenChannels = int("hidden", 1);
  if (str("hidden-hidden") !== undefined) o.hiddenHiddenChannels = int("hidden-hidden", 1);
  if (str("layers") !== undefined) o.numHiddenLayers = int("layers", 1);
  if (str("frame-stride") !== undefined) o.frameStride = int("frame-stride", 1);
  if (str("time-scale") !== undefined) o.timeChannelScale = real("time-scale");
  if (str("data-seed") !== undefined) o.dataSeed = int("data-seed", 0);
  if (str("data") !== undefined) o.data = pathFlag("data", str("data")!);
  if (values.download) o.download = true;
  if (str("synthetic") !== undefined) {
    o.synthetic = int("synthetic", 2 * SPEECH_COMMANDS_CLASSES.length);
  }
  if (str("data-dir") !== undefined) o.dataDir = pathFlag("data-dir", str("data-dir")!);
  if (values["record-times"]) o.recordTimes = true;
  if (o.data !== undefined && o.synthetic !== undefined) {
    throw new TypeError("--data and --synthetic exclude each other; give one");
  }
  if (o.download && o.data === undefined) {
    throw new TypeError("--download needs --data DIR, the folder to download Speech Commands into");
  }
  return o;
}

/**
 * The command line: parses `args`, selects the backend, runs the experiment and prints the
 * table. Returns the exit code (0; 2 for a usage error, printed with a hint); errors of the run
 * itself (missing data, no network for `--download`, no espeak-ng) are thrown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cdeMain } from "@fasterode/fasterode/experiments";
 * const error = console.error;
 * console.error = () => {}; // the usage error's message
 * try {
 *   assert.equal(await cdeMain(["--epochs", "0"]), 2);
 * } finally {
 *   console.error = error;
 * }
 * ```
 *
 * @param args the command line's arguments
 * @returns the exit code
 */
export async function cdeMain(args: string[]): Promise<number> {
  const options = parseCommandLine(
    args,
    parseCdeArgs,
    CDE_USAGE,
    ({ backend: _, root: _root, ...o }) => {
      resolveCdeSettings(o);
      resolveCdeData(o, o.preset ?? "small");
    },
  );
  if (typeof options === "number") return options;
  const { backend, root, ...experiment } = options;
  await experimentBackend(backend, experiment.preset);
  const wall = performance.now();
  const result = await withRoot(root, () =>
    runCdeExperiment({
      ...experiment,
      log: (message) => console.error(message),
      // The configuration before training (issue 13), not after it.
      onConfig: (config) => console.log(`${describeCdeExperiment(config).join("\n")}\n`),
    }));
  console.log(formatCdeTable(result.runs));
  console.log(`\n${cdeTableNote(result.settings.epochsPerMetric)}`);
  for (const run of result.runs) if (run.path) console.log(`${run.norm}: ${run.path}`);
  console.log(`total wall time ${((performance.now() - wall) / 1000).toFixed(1)} s`);
  return 0;
}

if (import.meta.main) await runMain(cdeMain, Deno.args, "deno task cde");
