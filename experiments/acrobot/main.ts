/**
 * The command line of the acrobot experiment (`deno task acrobot`): parses the flags
 * ({@link parseAcrobotArgs}, {@link ACROBOT_USAGE}), chooses the backend, runs
 * `runAcrobotExperiment` and prints the table.
 *
 * ```sh
 * deno task acrobot                      # small preset, both norms, wasm
 * deno task acrobot --preset paper       # the paper's configuration (GPU)
 * deno task acrobot --norm seminorm --epochs 2 --control
 * deno task acrobot --help
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACROBOT_USAGE } from "@fasterode/fasterode/experiments";
 * assert.match(ACROBOT_USAGE, /^Usage: deno task acrobot \[options\]/);
 * ```
 *
 * @module
 */
import { type BackendName, NORM_NAMES } from "../../mod.ts";
import {
  CHECKPOINT_USAGE,
  choice,
  EXPERIMENT_FLAGS,
  experimentBackend,
  experimentFlags,
  numberFlag,
  parseCommandLine,
  parseFlags,
  ROOT_USAGE,
  runMain,
  withRoot,
} from "../harness/mod.ts";
import {
  acrobotTableNote,
  describeAcrobotExperiment,
  describeSwingUp,
  formatAcrobotTable,
} from "./report.ts";
import { runAcrobotExperiment } from "./run.ts";
import {
  ACROBOT_NORM_NAMES,
  ACROBOT_PRESET_NOTES,
  ACROBOT_PRESETS,
  type AcrobotExperimentOptions,
  type AcrobotSettings,
} from "./settings.ts";

/** A small number as the flags write it: `1e-3`, `1.6e-3`. */
function sci(x: number): string {
  return x < 0.1 ? x.toExponential() : String(x);
}

/** `small X, paper Y` for a setting, from the presets. */
function presets(key: keyof AcrobotSettings, show: (x: number) => string = String): string {
  return `small ${show(ACROBOT_PRESETS.small[key])}, paper ${show(ACROBOT_PRESETS.paper[key])}`;
}

const { small, paper } = ACROBOT_PRESETS;
const METRIC_EVERY = presets("epochsPerMetric");
const WIDTHS = `small ${small.massHidden}, paper ` +
  `${paper.massHidden}/${paper.potentialHidden}/${paper.inputHidden}`;

/**
 * The usage text of the command line (`--help`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACROBOT_USAGE } from "@fasterode/fasterode/experiments";
 * assert.match(ACROBOT_USAGE, /--width N +hidden width of all three networks \(small 32, paper 400\/300\/300\)/);
 * ```
 */
export const ACROBOT_USAGE: string = `Usage: deno task acrobot [options]
       (deno run -A experiments/acrobot/main.ts [options])

Trains a Symplectic ODE-Net with control on the fully-actuated acrobot, once per backward norm
(same seed), and prints test MSE, backward NFE and wall time. Results: <out>/acrobot/<preset>-
<norm>-<rtol>-<atol>/<n>.json (and <n>.control.json with --control).

  --norm NAME         default, seminorm, paper-code-seminorm (the paper's code's mis-sliced
                      norm, for comparison), both (the first two; default) or all
  --preset NAME       small (default), cpu or paper
  --rtol X            relative tolerance of both solves (${presets("rtol", sci)})
  --atol X            absolute tolerance of both solves (${presets("atol", sci)})
  --epochs N          training epochs (${presets("epochs")})
  --trials N          trials per control, split 70/15/15 (${presets("trials")})
  --batch-size N      windows per batch (${presets("batchSize")})
  --width N           hidden width of all three networks (${WIDTHS})
  --lr X              AdamW learning rate (${presets("learningRate", sci)})
  --metric-every N    metric passes every N epochs and after the last (${METRIC_EVERY})
  --seed N            seed of the weights and the batch order (default 0)
  --backend NAME      cpu, wasm or webgpu (small: wasm; paper: webgpu when a hardware GPU
                      is present, else wasm)
  --out DIR           results directory (default <root>/results; root = $FASTERODE_ROOT or
                      the project folder, see --root); the data cache is <root>/.cache/acrobot
${ROOT_USAGE}
${CHECKPOINT_USAGE}
  --control           also swing the acrobot up with each trained model (energy shaping,
                      30 s from 0.05 rad off hanging, controls clipped to ±15), save the
                      trajectory and print whether it reached upright; with --resume DIR of a
                      finished run, the saved models are swung up without training again
  --help              this text

${ACROBOT_PRESET_NOTES}`;

/** The command line's options, parsed. */
export interface AcrobotCliOptions extends AcrobotExperimentOptions {
  /** The tfjs backend; `undefined` picks the preset's default. */
  backend?: BackendName;
  /** `--root`: the root of the run's default paths (data cache, results). */
  root?: string;
}

const FLAGS = {
  ...EXPERIMENT_FLAGS,
  trials: { type: "string" },
  width: { type: "string" },
  control: { type: "boolean" },
} as const;

/**
 * Parses the command line's flags (see {@link ACROBOT_USAGE}) into options, or `"help"` for
 * `--help`. Throws a `TypeError` naming an unknown flag or a stray argument, and a `RangeError`
 * naming a bad value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAcrobotArgs } from "@fasterode/fasterode/experiments";
 * const options = parseAcrobotArgs(["--norm", "seminorm", "--epochs", "3", "--control"]);
 * assert.deepEqual(options, { norms: ["seminorm"], epochs: 3, control: true });
 * assert.throws(() => parseAcrobotArgs(["--epoch", "3"]), /unknown flag --epoch/);
 * assert.equal(parseAcrobotArgs(["--help"]), "help");
 * ```
 *
 * @param args the command line's arguments
 * @returns the options, or `"help"`
 */
export function parseAcrobotArgs(args: string[]): AcrobotCliOptions | "help" {
  const { norm, ...values } = parseFlags(args, FLAGS);
  if (values.help) return "help";
  const o: AcrobotCliOptions = experimentFlags(values, ["small", "cpu", "paper"]);
  if (norm !== undefined) {
    const n = choice("norm", String(norm), [...ACROBOT_NORM_NAMES, "both", "all"] as const);
    o.norms = n === "both" ? [...NORM_NAMES] : n === "all" ? [...ACROBOT_NORM_NAMES] : [n];
  }
  const str = (k: keyof typeof FLAGS) => values[k] as string | undefined;
  if (str("trials") !== undefined) o.trials = numberFlag("trials", str("trials")!, true, 7);
  if (str("width") !== undefined) {
    const w = numberFlag("width", str("width")!, true, 1);
    o.massHidden = o.potentialHidden = o.inputHidden = w;
  }
  if (values.control) o.control = true;
  return o;
}

/**
 * The command line: parses `args`, selects the backend, runs the experiment and prints the
 * table. Returns the exit code (0; 2 for a usage error, printed with a hint); errors of the run
 * itself are thrown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acrobotMain } from "@fasterode/fasterode/experiments";
 * const error = console.error;
 * console.error = () => {}; // the usage error's message
 * try {
 *   assert.equal(await acrobotMain(["--trials", "3"]), 2);
 * } finally {
 *   console.error = error;
 * }
 * ```
 *
 * @param args the command line's arguments
 * @returns the exit code
 */
export async function acrobotMain(args: string[]): Promise<number> {
  const options = parseCommandLine(args, parseAcrobotArgs, ACROBOT_USAGE);
  if (typeof options === "number") return options;
  const { backend, root, ...experiment } = options;
  await experimentBackend(backend, experiment.preset);
  const wall = performance.now();
  const result = await withRoot(root, () =>
    runAcrobotExperiment({
      ...experiment,
      dataProgress: Deno.stderr.isTerminal(),
      // The configuration before training (issue 13), not after it.
      onConfig: (config) => console.log(`${describeAcrobotExperiment(config)}\n`),
    }));
  console.log(formatAcrobotTable(result.runs));
  console.log(`\n${acrobotTableNote(result.settings.epochsPerMetric)}`);
  for (const run of result.runs) {
    if (run.path) console.log(`${run.norm}: ${run.path}`);
    if (run.control) console.log(describeSwingUp(run.norm, run.control));
  }
  console.log(`total wall time ${((performance.now() - wall) / 1000).toFixed(1)} s`);
  return 0;
}

if (import.meta.main) await runMain(acrobotMain, Deno.args, "deno task acrobot");
