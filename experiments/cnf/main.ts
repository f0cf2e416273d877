/**
 * The command line of the CNF experiment (`deno task cnf`): parses the flags
 * ({@link parseCnfArgs}, {@link CNF_USAGE}), chooses the backend, runs `runCnfExperiment` and
 * prints the table.
 *
 * ```sh
 * deno task cnf --preset small --norm both          # the 8 Gaussians, a few minutes on a CPU
 * deno task cnf --density pinwheel --epochs 10
 * deno task cnf --preset paper --data data/mnist    # FFJORD's MNIST settings (GPU)
 * deno task cnf --help
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CNF_USAGE } from "@fasterode/fasterode/experiments";
 * assert.match(CNF_USAGE, /^Usage: deno task cnf \[options\]/);
 * ```
 *
 * @module
 */
import type { BackendName } from "../../mod.ts";
import { TOY_DENSITIES } from "../../models/cnf/mod.ts";
import {
  CHECKPOINT_USAGE,
  choice,
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
import { cnfTableNote, describeCnfExperiment, formatCnfTable } from "./report.ts";
import { runCnfExperiment } from "./run.ts";
import {
  CNF_PRESET_MODELS,
  CNF_PRESET_NOTES,
  CNF_PRESETS,
  type CnfExperimentOptions,
  type CnfModelSettings,
  type CnfSettings,
  resolveCnfSettings,
} from "./settings.ts";

/** A small number as the flags write it: `1e-3`, `1.6e-3`. */
function sci(x: number): string {
  return x < 0.1 ? x.toExponential() : String(x);
}

/** `small X, paper Y` for a setting, from the presets. */
function presets(key: keyof CnfSettings, show: (x: number) => string = String): string {
  return `small ${show(CNF_PRESETS.small[key])}, paper ${show(CNF_PRESETS.paper[key])}`;
}

/** `small X, paper Y` for a model setting. */
function models(key: keyof CnfModelSettings): string {
  return `small ${CNF_PRESET_MODELS.small[key]}, paper ${CNF_PRESET_MODELS.paper[key]}`;
}

/**
 * The usage text of the command line (`--help`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CNF_USAGE } from "@fasterode/fasterode/experiments";
 * assert.match(CNF_USAGE, /--trace NAME +exact or hutchinson \(small exact, paper hutchinson\)/);
 * ```
 */
export const CNF_USAGE: string = `Usage: deno task cnf [options]
       (deno run -A experiments/cnf/main.ts [options])

Trains an FFJORD continuous normalising flow once per backward norm (same seed) and prints
the test NLL (bits/dim for MNIST), forward and backward NFE and wall time: the analogue of
Table 2 of "Hey, that's not an ODE". Results: one JSON per run in a folder per configuration
under <out>/cnf/ (named <preset>-<data>-<norm>-<rtol>-<atol>…).

  --norm NAME         default, seminorm or both (default both)
  --preset NAME       small (default) or paper
  --density NAME      ${TOY_DENSITIES.join(", ")} or mnist
                      (${models("density")})
  --data DIR          the folder with MNIST's IDX files (needed for mnist)
  --trace NAME        exact or hutchinson (${models("trace")})
  --noise NAME        Hutchinson's probes: rademacher or gaussian (default rademacher)
  --layer NAME        concatsquash or concat (${models("layer")})
  --activation NAME   tanh or softplus (${models("activation")})
  --kinetic X         RNODE kinetic-energy weight (default 0: off)
  --jacobian X        RNODE Jacobian-norm weight (default 0: off)
  --width N           hidden width of the velocity MLP (${presets("width")})
  --depth N           hidden layers (${presets("depth")})
  --train N           training examples (${presets("trainSize")})
  --time X            integration time T (${presets("time")})
  --rtol X            relative tolerance of both solves (${presets("rtol", sci)})
  --atol X            absolute tolerance of both solves (${presets("atol", sci)})
  --epochs N          training epochs (${presets("epochs")})
  --batch-size N      examples per batch (${presets("batchSize")})
  --lr X              AdamW learning rate (${presets("learningRate", sci)})
  --metric-every N    metric passes every N epochs and after the last (${
  presets("epochsPerMetric")
})
  --seed N            seed of the data, weights, probes and batch order (default 0)
  --backend NAME      cpu, wasm or webgpu (small: wasm; paper: webgpu when a hardware GPU
                      is present, else wasm)
  --out DIR           results directory (default <root>/results; root = $FASTERODE_ROOT or
                      the project folder, see --root)
${ROOT_USAGE}
${CHECKPOINT_USAGE}
  --help              this text

${CNF_PRESET_NOTES}`;

/** The command line's options, parsed. */
export interface CnfCliOptions extends CnfExperimentOptions {
  /** The tfjs backend; `undefined` picks the preset's default. */
  backend?: BackendName;
  /** `--root`: the root of the run's default paths (data, caches, results). */
  root?: string;
}

const FLAGS = {
  ...EXPERIMENT_FLAGS,
  density: { type: "string" },
  data: { type: "string" },
  trace: { type: "string" },
  noise: { type: "string" },
  layer: { type: "string" },
  activation: { type: "string" },
  kinetic: { type: "string" },
  jacobian: { type: "string" },
  width: { type: "string" },
  depth: { type: "string" },
  train: { type: "string" },
  time: { type: "string" },
} as const;

/**
 * Parses the command line's flags (see {@link CNF_USAGE}) into options, or `"help"` for
 * `--help`. Throws a `TypeError` naming an unknown flag or a stray argument, and a `RangeError`
 * naming a bad value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCnfArgs } from "@fasterode/fasterode/experiments";
 * const options = parseCnfArgs(["--norm", "both", "--trace", "hutchinson", "--kinetic", "0.01"]);
 * assert.deepEqual(options, {
 *   norms: ["default", "seminorm"], trace: "hutchinson", kineticWeight: 0.01,
 * });
 * assert.throws(() => parseCnfArgs(["--density", "spiral"]), /--density must be one of/);
 * assert.equal(parseCnfArgs(["--help"]), "help");
 * ```
 *
 * @param args the command line's arguments
 * @returns the options, or `"help"`
 */
export function parseCnfArgs(args: string[]): CnfCliOptions | "help" {
  const values = parseFlags(args, FLAGS);
  if (values.help) return "help";
  const o: CnfCliOptions = experimentFlags(values);
  const str = (k: keyof typeof FLAGS) => values[k] as string | undefined;
  const weight = (k: "kinetic" | "jacobian") => {
    const v = Number(str(k));
    if (str(k)!.trim() === "" || !Number.isFinite(v) || v < 0) {
      throw new RangeError(`--${k} must be a number >= 0, got "${str(k)}"`);
    }
    return v;
  };
  if (str("density") !== undefined) {
    o.density = choice("density", str("density")!, [...TOY_DENSITIES, "mnist"] as const);
  }
  if (str("data") !== undefined) o.data = pathFlag("data", str("data")!);
  if (str("trace") !== undefined) {
    o.trace = choice("trace", str("trace")!, ["exact", "hutchinson"] as const);
  }
  if (str("noise") !== undefined) {
    o.noise = choice("noise", str("noise")!, ["rademacher", "gaussian"] as const);
  }
  if (str("layer") !== undefined) {
    o.layer = choice("layer", str("layer")!, ["concatsquash", "concat"] as const);
  }
  if (str("activation") !== undefined) {
    o.activation = choice("activation", str("activation")!, ["tanh", "softplus"] as const);
  }
  if (str("kinetic") !== undefined) o.kineticWeight = weight("kinetic");
  if (str("jacobian") !== undefined) o.jacobianWeight = weight("jacobian");
  if (str("width") !== undefined) o.width = numberFlag("width", str("width")!, true, 1);
  if (str("depth") !== undefined) o.depth = numberFlag("depth", str("depth")!, true, 1);
  if (str("train") !== undefined) o.trainSize = numberFlag("train", str("train")!, true, 1);
  if (str("time") !== undefined) o.time = numberFlag("time", str("time")!, false, 0);
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
 * import { cnfMain } from "@fasterode/fasterode/experiments";
 * const error = console.error;
 * console.error = () => {}; // the usage error's message
 * try {
 *   assert.equal(await cnfMain(["--density", "mnist"]), 2); // no --data
 * } finally {
 *   console.error = error;
 * }
 * ```
 *
 * @param args the command line's arguments
 * @returns the exit code
 */
export async function cnfMain(args: string[]): Promise<number> {
  const options = parseCommandLine(args, parseCnfArgs, CNF_USAGE, (o) => {
    const { backend: _backend, root: _root, ...experiment } = o;
    resolveCnfSettings(experiment);
  });
  if (typeof options === "number") return options;
  const { backend, root, ...experiment } = options;
  await experimentBackend(backend, experiment.preset);
  const wall = performance.now();
  const result = await withRoot(root, () =>
    runCnfExperiment({
      ...experiment,
      // The configuration before training (issue 13), not after it.
      onConfig: (config) => console.log(`${describeCnfExperiment(config)}\n`),
    }));
  console.log(formatCnfTable(result.runs));
  console.log(`\n${cnfTableNote(result.settings.epochsPerMetric)}`);
  for (const run of result.runs) {
    if (run.pictures) {
      console.log(
        `${run.norm}: the trained density's mass on the grid [${run.pictures.grid.lo}, ` +
          `${run.pictures.grid.hi}]² is ${run.pictures.mass.toFixed(4)} (should be 1)`,
      );
    }
    if (run.path) console.log(`${run.norm}: ${run.path}`);
  }
  console.log(`total wall time ${((performance.now() - wall) / 1000).toFixed(1)} s`);
  return 0;
}

if (import.meta.main) await runMain(cnfMain, Deno.args, "deno task cnf");
