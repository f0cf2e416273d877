/**
 * Checkpoints of a training run, and stopping on a signal: what {@link train} saves after every
 * epoch (and when interrupted) so that a later run resumes to the very result the run would
 * have reached uninterrupted.
 *
 * A run's checkpoint is a models-layer checkpoint (`saveCheckpoint`: `tf.io` weight encoding plus
 * a JSON manifest, written atomically) holding the model's variables, the best model so far, the
 * AdamW moments, and a {@link RunState}: where training stands (epoch and batch), the shuffling
 * generator's state (the number of numbers drawn from it), the optimiser's step count and bias
 * corrections, the learning rate, the history, and the settings and configuration the run was
 * made with (the data's key among them), which a resume must match. When the run has finished,
 * the state is `done` and holds the result, and the weights are the final (best) model.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  assignSaved,
  CheckpointError,
  checkSaved,
  hasCheckpoint,
  type NamedTensor,
  readCheckpoint,
  saveCheckpoint,
} from "../../models/mod.ts";
import type { AdamWState } from "./adamw.ts";
import type { HistoryEntry, RunResult, TrainingNfe, TrainSettings } from "./results.ts";

/** Where a run checkpoints, and whether it continues from the checkpoint there. */
export interface CheckpointOptions {
  /** The run's checkpoint folder. */
  dir: string;
  /**
   * Continue from the checkpoint in `dir` (an error if there is none, or if it was made with
   * other settings). Without it, `dir` must not hold a checkpoint yet: nothing is overwritten.
   */
  resume?: boolean;
  /**
   * Stop on SIGINT/SIGTERM: finish the current step, save a checkpoint, and throw
   * {@link TrainingInterrupted} (default true). A second signal quits at once.
   */
  signals?: boolean;
}

/** Where a run stands, as saved in its checkpoint (JSON). */
export interface RunState {
  /** `training`: resumable; `done`: finished, with its result. */
  status: "training" | "done";
  /** The epoch to continue (0-based): its batches from `batch` on are still to be trained. */
  epoch: number;
  /** The first batch of `epoch` still to be trained (0: the epoch has not started). */
  batch: number;
  /** Numbers drawn from the shuffling generator when `epoch` started. */
  drawsAtEpoch: number;
  /** Numbers drawn from it by now. */
  draws: number;
  /** The optimiser's state besides its moments (saved as tensors). */
  optimizer: Omit<AdamWState, "first" | "second">;
  /** The best training loss so far (`null`: none yet). */
  bestLoss: number | null;
  /** Its metric epoch. */
  bestEpoch: number | null;
  /** Whether the best model's weights are saved (`best/<i>` tensors). */
  hasBest: boolean;
  /** Whether training stopped early. */
  stoppedEarly: boolean;
  /** Metric epochs so far. */
  history: HistoryEntry[];
  /** The training steps' NFE per epoch so far (the last entry may be a partial epoch). */
  trainingNfe: TrainingNfe[];
  /** Seconds of training so far. */
  elapsed: number;
  /** When the run first started. */
  startTime: string;
  /** The model's variable names, in order. */
  variables: string[];
  /** The harness settings the run was made with. */
  settings: TrainSettings;
  /** The experiment's configuration the run was made with. */
  config: Record<string, unknown>;
  /** With `status: "done"`: the run's result (its saved file in `path`). */
  result?: RunResult & { path: string | null };
}

/** The tensors of a run checkpoint. */
export interface RunTensors {
  /** The model's variables now. */
  variables: tf.Tensor[];
  /** The best model's, or `null`. */
  best: tf.Tensor[] | null;
  /** AdamW's first moments (empty before the first step). */
  first: tf.Tensor[];
  /** AdamW's second moments. */
  second: tf.Tensor[];
}

/** A run stopped by a signal after saving its checkpoint. */
export class TrainingInterrupted extends Error {
  /** The signal. */
  readonly signal: string;
  /** The checkpoint folder to resume from (a comparison's, once it has passed through it). */
  resumeDir: string;
  /** What was saved, in one line. */
  readonly saved: string;
  /** Result files of runs that finished before (a comparison adds them). */
  finished: string[] = [];

  /** A run stopped by `signal`, its state saved as described by `saved` in `dir`. */
  constructor(signal: string, dir: string, saved: string) {
    super(`interrupted by ${signal}: ${saved}`);
    this.name = "TrainingInterrupted";
    this.signal = signal;
    this.resumeDir = dir;
    this.saved = saved;
  }
}

/**
 * Saves a run checkpoint in `dir` (atomically; see the module docs) and returns its file.
 *
 * @example Save a state and read it back
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import {
 *   readRunCheckpoint,
 *   type RunState,
 *   saveRunCheckpoint,
 * } from "@fasterode/fasterode/experiments";
 * const dir = await Deno.makeTempDir();
 * const w = tf.variable(tf.tensor1d([1, 2]), true, "run_ck_doc/w");
 * const state = {
 *   status: "training", epoch: 1, batch: 0, drawsAtEpoch: 4, draws: 4,
 *   optimizer: { iterations: 2, accBeta1: 0.729, accBeta2: 0.997, lr: 0.1 },
 *   bestLoss: null, bestEpoch: null, hasBest: false, stoppedEarly: false, history: [],
 *   trainingNfe: [], elapsed: 1, startTime: "", variables: [w.name],
 *   settings: {} as never, config: { norm: "default" },
 * } satisfies RunState;
 * await saveRunCheckpoint(dir, state, { variables: [w], best: null, first: [], second: [] });
 * const read = await readRunCheckpoint(dir, [w], { settings: {} as never, config: state.config });
 * assert.equal(read.state.epoch, 1);
 * await assert.rejects(
 *   readRunCheckpoint(dir, [w], { settings: {} as never, config: { norm: "seminorm" } }),
 *   /config\.norm: "default" in the checkpoint, "seminorm" now/,
 * );
 * tf.dispose([w, ...read.tensors.variables]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function saveRunCheckpoint(
  dir: string,
  state: RunState,
  tensors: RunTensors,
): Promise<string> {
  const named: NamedTensor[] = [
    ...tensors.variables.map((tensor, i) => ({ name: `variables/${i}`, tensor })),
    ...(tensors.best ?? []).map((tensor, i) => ({ name: `best/${i}`, tensor })),
    ...tensors.first.map((tensor, i) => ({ name: `adam/m/${i}`, tensor })),
    ...tensors.second.map((tensor, i) => ({ name: `adam/v/${i}`, tensor })),
  ];
  return saveCheckpoint(dir, named, { kind: "training-run", ...state });
}

/** JSON as a comparable value (Infinity and undefined as JSON writes them). */
function normalise(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null));
}

/** The paths where `a` and `b` differ, with both values, e.g. `config.lr: 0.1 …, 0.05 now`. */
function differences(a: unknown, b: unknown, path: string, out: string[]): void {
  const isObject = (x: unknown) => x !== null && typeof x === "object" && !Array.isArray(x);
  if (isObject(a) && isObject(b)) {
    const ao = a as Record<string, unknown>, bo = b as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort()) {
      differences(ao[k], bo[k], path === "" ? k : `${path}.${k}`, out);
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    const show = (x: unknown) => {
      const text = x === undefined ? "(none)" : JSON.stringify(x);
      return text.length > 60 ? `${text.slice(0, 57)}...` : text;
    };
    out.push(`${path}: ${show(a)} in the checkpoint, ${show(b)} now`);
  }
}

/**
 * Reads the run checkpoint in `dir` and checks it against the run being resumed: the settings
 * and configuration must be the same (a {@link CheckpointError} listing each difference, e.g.
 * another learning rate or data set), and the saved variables must fit `variables` (count,
 * shapes). A missing, corrupt or foreign checkpoint is a `CheckpointError` too. Nothing is
 * assigned here; the caller owns the returned tensors.
 */
export async function readRunCheckpoint(
  dir: string,
  variables: tf.Variable[],
  expected: { settings: TrainSettings; config: Record<string, unknown> },
): Promise<{ state: RunState; tensors: RunTensors; path: string }> {
  const read = await readCheckpoint<RunState & { kind?: string }>(dir);
  const all = read.tensors;
  const free = () => tf.dispose(all.map((t) => t.tensor));
  try {
    const state = read.manifest;
    if (state === null || typeof state !== "object" || state.kind !== "training-run") {
      throw new CheckpointError(read.path, "is not a training run's checkpoint");
    }
    const diffs: string[] = [];
    differences(normalise(state.settings), normalise(expected.settings), "training", diffs);
    differences(normalise(state.config), normalise(expected.config), "config", diffs);
    if (diffs.length > 0) {
      throw new CheckpointError(
        read.path,
        `was made with other settings; resume it with the same ones (or start a new run): ` +
          diffs.slice(0, 6).join("; ") + (diffs.length > 6 ? `; and ${diffs.length - 6} more` : ""),
      );
    }
    const group = (prefix: string) =>
      all.filter((t) => t.name.startsWith(prefix)).sort((a, b) =>
        Number(a.name.slice(prefix.length)) - Number(b.name.slice(prefix.length))
      );
    const vars = group("variables/");
    // Count and shapes against the model, by position (names may differ between processes).
    const probe = vars.map((t, i) => ({ name: state.variables?.[i] ?? t.name, tensor: t.tensor }));
    checkSaved(variables, probe, read.path);
    const best = group("best/");
    const tensors: RunTensors = {
      variables: vars.map((t) => t.tensor),
      best: state.hasBest ? best.map((t) => t.tensor) : null,
      first: group("adam/m/").map((t) => t.tensor),
      second: group("adam/v/").map((t) => t.tensor),
    };
    if (state.hasBest) checkSaved(variables, best, read.path);
    return { state, tensors, path: read.path };
  } catch (e) {
    free();
    throw e;
  }
}

/**
 * Loads the final (best) model of a finished run from its checkpoint folder (a result's
 * `checkpoint`) into `variables`, and returns the run's state: its `config` (to rebuild the
 * model with the same sizes first) and its `result`. A run that has not finished is an error
 * (resume it first), as is a checkpoint that does not fit `variables`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadFinishedRun } from "@fasterode/fasterode/experiments";
 * await assert.rejects(loadFinishedRun(await Deno.makeTempDir(), []), /no checkpoint was saved/);
 * ```
 */
export async function loadFinishedRun(
  dir: string,
  variables: tf.Variable[],
): Promise<RunState> {
  const read = await readCheckpoint<RunState & { kind?: string }>(dir);
  try {
    const state = read.manifest;
    if (state?.kind !== "training-run") {
      throw new CheckpointError(read.path, "is not a training run's checkpoint");
    }
    if (state.status !== "done") {
      throw new CheckpointError(
        read.path,
        `the run has not finished (epoch ${state.epoch} of ${state.settings.maxEpochs}); ` +
          `resume it first (--resume)`,
      );
    }
    assignSaved(variables, read.tensors, read.path);
    return state;
  } finally {
    tf.dispose(read.tensors.map((t) => t.tensor));
  }
}

/** Whether `dir` already holds a checkpoint. */
export { hasCheckpoint };

/** What {@link stopOnSignals} returns. */
export interface SignalStop {
  /** The signal received, or `null`. */
  readonly requested: string | null;
  /** Removes the listeners. */
  dispose(): void;
}

/** The signals that stop a run (SIGTERM is not available on Windows). */
const STOP_SIGNALS: Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT"]
  : ["SIGINT", "SIGTERM"];

/**
 * Listens for SIGINT and SIGTERM: the first sets `requested` (and prints that the run will stop
 * after its current step and save), a second quits at once (exit status 130) without saving
 * more. `dispose()` removes the listeners, restoring the default behaviour.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stopOnSignals } from "@fasterode/fasterode/experiments";
 * const stop = stopOnSignals();
 * assert.equal(stop.requested, null);
 * stop.dispose();
 * ```
 */
export function stopOnSignals(log: (line: string) => void = console.error): SignalStop {
  let requested: string | null = null;
  const listeners = STOP_SIGNALS.map((signal) => {
    const handler = () => {
      if (requested !== null) {
        log(`${signal} again: quitting now; the last checkpoint saved stays`);
        Deno.exit(130);
      }
      requested = signal;
      log(`${signal}: stopping after the current step and saving a checkpoint (again to quit now)`);
    };
    Deno.addSignalListener(signal, handler);
    return { signal, handler };
  });
  return {
    get requested() {
      return requested;
    },
    dispose() {
      for (const { signal, handler } of listeners) Deno.removeSignalListener(signal, handler);
    },
  };
}
