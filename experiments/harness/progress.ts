/**
 * Progress of a training run or any long job: the events the harness emits, a one-line text form
 * of each ({@linkcode formatProgress}), and the one progress renderer, {@linkcode progressDisplay}
 * (a live line, lines that stay, throttling), which draws on a sink (progress_sinks.ts):
 *
 * - `terminalSink`: a `cli-progress` bar on standard error, or plain lines (for logs);
 *   {@linkcode progressReporter} is the harness's terminal display made of it;
 * - `notebookSink`: one Jupyter output redrawn in place (`display_id`), or plain lines
 *   outside Jupyter; notebooks/common.ts's `progressLine` is made of it.
 *
 * @example A live line for a job of your own, on the terminal
 * ```ts
 * import { progressDisplay, terminalSink } from "@fasterode/fasterode/experiments";
 *
 * const progress = progressDisplay(terminalSink("lines"), { interval: 1 });
 * for (let i = 1; i <= 3; i++) progress.update(`round ${i}/3`, i / 3);
 * await progress.done("3 rounds"); // the last state, as a line that stays
 * ```
 *
 * @module
 */
import type { HistoryEntry, Metrics } from "./results.ts";
import { terminalMode, terminalSink, type TerminalSinkOptions } from "./progress_sinks.ts";

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
 * import { formatMetrics } from "@fasterode/fasterode/experiments";
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
 * import { formatProgress } from "@fasterode/fasterode/experiments";
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

/** How the harness shows progress on the terminal; see progress_sinks.ts's `terminalSink`. */
export type ProgressMode = "auto" | "bar" | "lines" | "none";

/** Where a {@linkcode progressDisplay} draws (progress_sinks.ts: terminal, notebook). */
export interface ProgressSink {
  /**
   * Shows the live line in place of the previous one: `text`, with a bar at `fraction` (0 to 1)
   * when given; `event` is the batch the line describes, when it comes from one.
   */
  live(text: string, fraction?: number, event?: BatchProgress): void;
  /** Prints a line that stays (a metric epoch, a message, the final state). */
  print(text: string): void;
  /**
   * Ends the live line, with `final` (when given) as the last state: in its place where the line
   * stays (a notebook's output, a log), printed below it where it is cleared (a bar). Resolves
   * once everything shown is out.
   */
  end(final?: string): Promise<void>;
}

/** Shows progress events; `close()` stops a bar. */
export interface ProgressReporter {
  /** Shows (or skips) one event. */
  report(event: ProgressEvent): void;
  /** Ends the display (clears a bar); a live line held back by the interval is dropped. */
  close(): void;
}

/** A live progress line and the lines that stay; made by {@linkcode progressDisplay}. */
export interface ProgressDisplay extends ProgressReporter {
  /**
   * Shows `text` as the live line, with a bar when `fraction` (0 to 1) is given. A line that comes
   * sooner than the interval after the last one shown is held back (the last such is kept for
   * `done`).
   */
  update(text: string, fraction?: number): void;
  /**
   * Shows a harness event: a batch as the live line (held back like `update`'s), a metric epoch
   * or a message as a line that stays. Pass it as `onProgress: display.report`.
   */
  report(event: ProgressEvent): void;
  /** Shows `text` (or the line held back last) as the final state, and waits until it is out. */
  done(text?: string): Promise<void>;
}

/** Options of {@linkcode progressDisplay}. */
export interface ProgressDisplayOptions {
  /**
   * Least seconds between two lines shown (default 0: every one). Events are timed by their
   * `elapsed` (seconds of training), updates by the seconds since the display was made: two
   * clocks, each throttled on its own.
   */
  interval?: number;
  /**
   * Whether the first live line is shown at once (default true); false: it too waits `interval`
   * seconds from the start (for logs, where every live line is a line of its own).
   */
  showFirst?: boolean;
}

/**
 * The progress renderer: a live line (from {@linkcode ProgressDisplay.update} or batch events)
 * shown at most every `interval` seconds on `sink`, and lines that stay for metric epochs and
 * messages. A metric epoch's or message's line restarts the interval of batch lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { progressDisplay, type ProgressSink } from "@fasterode/fasterode/experiments";
 *
 * const shown: string[] = [];
 * const sink: ProgressSink = {
 *   live: (text, fraction) => shown.push(`live ${text} ${fraction}`),
 *   print: (text) => shown.push(`print ${text}`),
 *   end: () => Promise.resolve(),
 * };
 * const progress = progressDisplay(sink, { interval: 3600 });
 * for (let i = 1; i <= 10; i++) progress.update(`step ${i}`, i / 10);
 * progress.report({ kind: "message", text: "halfway", elapsed: 5 });
 * await progress.done();
 * // The first update is shown at once, the others come within the interval: only the last one
 * // is shown, by done().
 * assert.deepEqual(shown, ["live step 1 0.1", "print halfway [5s]", "live step 10 1"]);
 * ```
 *
 * @param sink where to draw
 * @param options the interval, and whether the first line waits for it
 * @returns the display
 * @throws {RangeError} if `interval` is negative or not a number
 */
export function progressDisplay(
  sink: ProgressSink,
  options: ProgressDisplayOptions = {},
): ProgressDisplay {
  const { interval = 0, showFirst = true } = options;
  if (!(interval >= 0)) {
    throw new RangeError(`progressDisplay: interval must be >= 0 seconds, got ${interval}`);
  }
  const started = performance.now();
  const clock = (): number => (performance.now() - started) / 1000;
  type Live = { text: string; fraction?: number; event?: BatchProgress };
  // The last time a line was shown, on each clock: events' elapsed, and the display's own.
  const last = { event: showFirst ? -Infinity : 0, clock: showFirst ? -Infinity : 0 };
  let pending: Live | undefined;
  let shown: Live | undefined;
  const show = (live: Live): void => {
    shown = live;
    pending = undefined;
    sink.live(live.text, live.fraction, live.event);
  };
  const offer = (live: Live, on: keyof typeof last, time: number): void => {
    if (time - last[on] >= interval) {
      last[on] = time;
      show(live);
    } else {
      pending = live;
    }
  };
  return {
    update(text: string, fraction?: number): void {
      offer({ text, fraction }, "clock", clock());
    },
    report(event: ProgressEvent): void {
      if (event.kind === "batch") {
        offer(
          { text: formatProgress(event), fraction: event.batch / event.batches, event },
          "event",
          event.elapsed,
        );
      } else {
        last.event = event.elapsed;
        sink.print(formatProgress(event));
      }
    },
    async done(text?: string): Promise<void> {
      if (text === undefined) {
        const held = pending;
        if (
          held !== undefined && (held.text !== shown?.text || held.fraction !== shown?.fraction)
        ) {
          show(held);
        }
        await sink.end();
        return;
      }
      const same = shown?.text === text && shown.fraction === undefined;
      pending = undefined;
      shown = { text };
      await sink.end(same ? undefined : text);
    },
    close(): void {
      pending = undefined;
      void sink.end();
    },
  };
}

/** Options of {@link progressReporter}. */
export interface ReporterOptions extends TerminalSinkOptions {
  /** `"lines"` mode: least seconds between two batch lines (default 60). */
  interval?: number;
}

/**
 * The harness's terminal display: {@linkcode progressDisplay} on a `terminalSink`.
 * `"bar"`: a bar redrawn as batches end, with metric epochs and messages printed above it.
 * `"lines"`: metric epochs and messages, and a batch line at most every `interval` seconds of
 * training (for logs). `"none"`: nothing. `"auto"`: `"bar"` when standard error is a terminal,
 * else `"lines"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { progressReporter } from "@fasterode/fasterode/experiments";
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
 *
 * @param mode bar, lines, none, or auto
 * @param options where lines go, and the interval of batch lines
 * @returns the display
 * @throws {TypeError} on an unknown mode
 * @throws {RangeError} if `interval` is negative
 */
export function progressReporter(
  mode: ProgressMode,
  options: ReporterOptions = {},
): ProgressDisplay {
  const { write, interval = 60 } = options;
  const resolved = terminalMode(mode, "progressReporter");
  if (!(interval >= 0)) throw new RangeError(`progressReporter: interval must be >= 0`);
  return progressDisplay(terminalSink(resolved, { write }), {
    interval: resolved === "lines" ? interval : 0,
    showFirst: false,
  });
}
