/**
 * Progress of a training run: the events the harness emits, a one-line text form of each (for
 * notebooks), and a terminal reporter (a `cli-progress` bar on a TTY, sparse plain lines
 * otherwise).
 *
 * @module
 */
// @ts-types="@types/cli-progress"
import cliProgress from "cli-progress";
import process from "node:process";
import type { HistoryEntry, Metrics } from "./results.ts";

/**
 * Which pass a batch belongs to: a training epoch (`"train"`), a metric epoch's passes over the
 * training and validation splits (`"eval:train"`, `"eval:val"`), or the final passes on the best
 * model (`"final:train"`, `"final:val"`, `"final:test"`).
 */
export type Phase =
  | "train"
  | "eval:train"
  | "eval:val"
  | "final:train"
  | "final:val"
  | "final:test";

/** A batch is done. */
export interface BatchProgress {
  /** Discriminant. */
  kind: "batch";
  /** The pass. */
  phase: Phase;
  /** The epoch (0-based); for the final passes, the number of epochs trained. */
  epoch: number;
  /** The most epochs of the run. */
  maxEpochs: number;
  /** This batch's number in the pass, from 1. */
  batch: number;
  /** Batches in the pass. */
  batches: number;
  /** This batch's loss. */
  loss: number;
  /** This batch's forward NFE. */
  forwardNfe: number;
  /** This batch's backward NFE. */
  backwardNfe: number;
  /** The current learning rate. */
  lr: number;
  /** Seconds since training started. */
  elapsed: number;
}

/** A metric epoch is done. */
export interface MetricsProgress {
  /** Discriminant. */
  kind: "metrics";
  /** The history entry just recorded. */
  entry: HistoryEntry;
  /** The most epochs of the run. */
  maxEpochs: number;
  /** Whether this training loss is a new best (the model is kept). */
  improved: boolean;
  /** The learning rate after the schedule's step. */
  nextLr: number;
  /** Seconds since training started. */
  elapsed: number;
}

/** A message: early stop, the final metrics, where the result was saved. */
export interface MessageProgress {
  /** Discriminant. */
  kind: "message";
  /** The message. */
  text: string;
  /** Seconds since training started. */
  elapsed: number;
}

/** What `onProgress` receives. */
export type ProgressEvent = BatchProgress | MetricsProgress | MessageProgress;

/** How the harness shows progress on the terminal. */
export type ProgressMode = "auto" | "bar" | "lines" | "none";

function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(3) : x.toPrecision(4);
}

function lrText(lr: number): string {
  return lr.toExponential(1).replace(".0e", "e");
}

/** `83` → `"1m23s"`. */
function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m${String(r).padStart(2, "0")}s`;
  return m > 0 ? `${m}m${String(r).padStart(2, "0")}s` : `${r}s`;
}

/**
 * A short text form of a pass's metrics: loss, accuracy (classifiers only) and
 * forward/backward NFE.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatMetrics } from "./progress.ts";
 *
 * const m = {
 *   loss: 0.034567, accuracy: 0.9, datasetSize: 10, batches: 1, forwardNfe: 1200,
 *   backwardNfe: 800, forwardAccepted: 190, forwardRejected: 5, backwardAccepted: 120,
 *   backwardRejected: 9, timespan: 1.5, timestamp: "2025-01-01T00:00:00.000Z",
 * };
 * assert.equal(formatMetrics(m), "loss 0.03457 acc 0.9000 nfe 1200/800");
 * ```
 */
export function formatMetrics(m: Metrics): string {
  const acc = m.accuracy === null ? "" : ` acc ${m.accuracy.toFixed(4)}`;
  return `loss ${num(m.loss)}${acc} nfe ${m.forwardNfe}/${m.backwardNfe}`;
}

/**
 * One line describing an event, e.g. for a notebook's live output:
 * `epoch 3/50 train 12/79 loss 0.1234 nfe 134/230 lr 1e-3 [1m23s]` (NFE: forward/backward).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatProgress } from "./progress.ts";
 *
 * const line = formatProgress({
 *   kind: "batch", phase: "train", epoch: 2, maxEpochs: 50, batch: 12, batches: 79,
 *   loss: 0.12345, forwardNfe: 134, backwardNfe: 230, lr: 1e-3, elapsed: 83,
 * });
 * assert.equal(line, "epoch 3/50 train 12/79 loss 0.1235 nfe 134/230 lr 1e-3 [1m23s]");
 * ```
 */
export function formatProgress(event: ProgressEvent): string {
  const t = `[${duration(event.elapsed)}]`;
  switch (event.kind) {
    case "batch":
      return `epoch ${event.epoch + 1}/${event.maxEpochs} ${event.phase} ` +
        `${event.batch}/${event.batches} loss ${num(event.loss)} ` +
        `nfe ${event.forwardNfe}/${event.backwardNfe} lr ${lrText(event.lr)} ${t}`;
    case "metrics": {
      const e = event.entry;
      const cut = event.nextLr < e.lr ? ` -> ${lrText(event.nextLr)}` : "";
      return `epoch ${e.epoch + 1}/${event.maxEpochs} metrics: train ${formatMetrics(e.train)} | ` +
        `val ${formatMetrics(e.val)} | lr ${lrText(e.lr)}${cut}${event.improved ? " *" : ""} ${t}`;
    }
    case "message":
      return `${event.text} ${t}`;
  }
}

/** Options of {@link progressReporter}. */
export interface ReporterOptions {
  /** Where lines go (default: standard error). The bar itself always draws on standard error. */
  write?: (line: string) => void;
  /** `"lines"` mode: least seconds between two batch lines (default 60). */
  interval?: number;
}

/** Shows progress events; `close()` stops a bar. */
export interface ProgressReporter {
  /** Shows (or skips) one event. */
  report(event: ProgressEvent): void;
  /** Ends the display (clears a bar). */
  close(): void;
}

function writeStderr(line: string): void {
  process.stderr.write(line + "\n");
}

/**
 * A progress display. `"bar"`: a `cli-progress` bar on standard error, redrawn as batches end,
 * with metric epochs and messages printed above it. `"lines"`: metric epochs and messages, and a
 * batch line at most every `interval` seconds (for logs and notebooks). `"none"`: nothing.
 * `"auto"`: `"bar"` when standard error is a terminal, else `"lines"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { progressReporter } from "./progress.ts";
 *
 * const lines: string[] = [];
 * const reporter = progressReporter("lines", { write: (l) => lines.push(l), interval: 3600 });
 * reporter.report({ kind: "message", text: "early stop", elapsed: 5 });
 * reporter.report({
 *   kind: "batch", phase: "train", epoch: 0, maxEpochs: 1, batch: 1, batches: 9,
 *   loss: 1, forwardNfe: 26, backwardNfe: 38, lr: 1e-3, elapsed: 6,
 * });
 * reporter.close();
 * assert.deepEqual(lines, ["early stop [5s]"]); // the batch line waits for the interval
 * ```
 */
export function progressReporter(
  mode: ProgressMode,
  options: ReporterOptions = {},
): ProgressReporter {
  const { write = writeStderr, interval = 60 } = options;
  if (!["auto", "bar", "lines", "none"].includes(mode)) {
    throw new TypeError(`progressReporter: unknown mode "${mode}" (auto, bar, lines, none)`);
  }
  if (!(interval >= 0)) throw new RangeError(`progressReporter: interval must be >= 0`);
  const resolved = mode === "auto" ? (Deno.stderr.isTerminal() ? "bar" : "lines") : mode;
  if (resolved === "none") return { report(): void {}, close(): void {} };
  if (resolved === "lines") {
    let last = 0;
    return {
      report(event: ProgressEvent): void {
        if (event.kind === "batch" && event.elapsed - last < interval) return;
        last = event.elapsed;
        write(formatProgress(event));
      },
      close(): void {},
    };
  }
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: "epoch {epoch} {phase} |{bar}| {value}/{total} loss {loss} nfe {nfe} lr {lr} " +
      "[{time}]",
    barsize: 24,
    clearOnComplete: true,
    hideCursor: false,
    linewrap: false,
    fps: 5,
  }, cliProgress.Presets.shades_classic);
  let active = false;
  return {
    report(event: ProgressEvent): void {
      if (event.kind === "batch") {
        const payload = {
          epoch: `${event.epoch + 1}/${event.maxEpochs}`,
          phase: event.phase,
          loss: num(event.loss),
          nfe: `${event.forwardNfe}/${event.backwardNfe}`,
          lr: lrText(event.lr),
          time: duration(event.elapsed),
        };
        if (!active) {
          bar.start(event.batches, event.batch, payload);
          active = true;
        } else {
          if (bar.getTotal() !== event.batches) bar.setTotal(event.batches);
          bar.update(event.batch, payload);
        }
        return;
      }
      if (active) {
        bar.stop();
        active = false;
      }
      write(formatProgress(event));
    },
    close(): void {
      if (active) bar.stop();
      active = false;
    },
  };
}
