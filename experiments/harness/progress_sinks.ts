/**
 * The sinks that `progressDisplay` (progress.ts, the one progress renderer) draws on:
 * the terminal's ({@linkcode terminalSink}: a `cli-progress` bar, or plain lines for logs) and a
 * notebook's ({@linkcode notebookSink}: one Jupyter output redrawn in place), and the text bar
 * they share ({@linkcode withBar}).
 *
 * @module
 */
// @ts-types="@types/cli-progress"
import cliProgress from "cli-progress";
import process from "node:process";
import type { BatchProgress, ProgressMode, ProgressSink } from "./progress.ts";

/** Width of a text bar, in characters (the terminal bar's too). */
const BAR_WIDTH = 24;

/** `f` clamped to [0, 1]. */
function clamp01(f: number): number {
  return Math.min(1, Math.max(0, f));
}

/** `fraction` as a percentage padded to three digits: `" 40%"`. */
function percent(fraction: number): string {
  return `${String(Math.round(clamp01(fraction) * 100)).padStart(3)}%`;
}

/**
 * `text` preceded by a text bar `[#####...]  40%` when `fraction` is a number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withBar } from "@fasterode/fasterode/experiments";
 *
 * assert.equal(withBar("half", 0.5), "[############............]  50% half");
 * assert.equal(withBar("no bar"), "no bar");
 * ```
 *
 * @param text the line
 * @param fraction how far along, 0 to 1; no bar without it
 * @returns the line with its bar
 */
export function withBar(text: string, fraction?: number): string {
  if (fraction === undefined || !Number.isFinite(fraction)) return text;
  const filled = Math.round(clamp01(fraction) * BAR_WIDTH);
  const bar = `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}]`;
  return `${bar} ${percent(fraction)} ${text}`;
}

const PROGRESS_MODES: readonly ProgressMode[] = ["auto", "bar", "lines", "none"];

/** Options of {@linkcode terminalSink}. */
export interface TerminalSinkOptions {
  /** Where lines go (default: standard error). The bar itself always draws on standard error. */
  write?: (line: string) => void;
}

function writeStderr(line: string): void {
  process.stderr.write(line + "\n");
}

/**
 * A terminal progress mode, checked, with `"auto"` resolved: `"bar"` when standard error is a
 * terminal, else `"lines"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { terminalMode } from "@fasterode/fasterode/experiments";
 *
 * assert.equal(terminalMode("lines"), "lines");
 * assert.ok(["bar", "lines"].includes(terminalMode("auto")));
 * assert.throws(() => terminalMode("fancy" as never), /unknown mode "fancy"/);
 * ```
 *
 * @param mode bar, lines, none, or auto
 * @param who the function to name in the error
 * @returns bar, lines or none
 * @throws {TypeError} on an unknown mode
 */
export function terminalMode(
  mode: ProgressMode,
  who = "terminalMode",
): Exclude<ProgressMode, "auto"> {
  if (!PROGRESS_MODES.includes(mode)) {
    throw new TypeError(`${who}: unknown mode "${mode}" (${PROGRESS_MODES.join(", ")})`);
  }
  return mode === "auto" ? (Deno.stderr.isTerminal() ? "bar" : "lines") : mode;
}

/**
 * The terminal sink. `"bar"`: a `cli-progress` bar on standard error, redrawn with each live line
 * (a batch's epoch, phase, loss, NFE and learning rate around the bar), with the lines that stay
 * printed above it; the bar is cleared at the end, and the final state printed. `"lines"`: every
 * line as a line of its own (a batch's without a bar, since it says `batch/batches`). `"none"`:
 * nothing. `"auto"`: `"bar"` when standard error is a
 * terminal, else `"lines"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { terminalSink } from "@fasterode/fasterode/experiments";
 *
 * const lines: string[] = [];
 * const sink = terminalSink("lines", { write: (line) => lines.push(line) });
 * sink.live("simulating", 0.25);
 * sink.print("round 1 done");
 * await sink.end("simulated");
 * assert.deepEqual(lines, [
 *   "[######..................]  25% simulating",
 *   "round 1 done",
 *   "simulated",
 * ]);
 * ```
 *
 * @param mode bar, lines, none, or auto
 * @param options where lines go
 * @returns the sink
 * @throws {TypeError} on an unknown mode
 */
export function terminalSink(mode: ProgressMode, options: TerminalSinkOptions = {}): ProgressSink {
  const { write = writeStderr } = options;
  const resolved = terminalMode(mode, "terminalSink");
  if (resolved === "none") {
    return {
      live(): void {},
      print(): void {},
      end: () => Promise.resolve(),
    };
  }
  if (resolved === "lines") {
    return {
      live(text: string, fraction?: number, event?: BatchProgress): void {
        write(event !== undefined ? text : withBar(text, fraction));
      },
      print: write,
      end(final?: string): Promise<void> {
        if (final !== undefined) write(final);
        return Promise.resolve();
      },
    };
  }
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: "{head}|{bar}| {tail}",
    barsize: BAR_WIDTH,
    clearOnComplete: true,
    hideCursor: false,
    linewrap: false,
    fps: 5,
  }, cliProgress.Presets.shades_classic);
  /** Steps of a bar for a fraction (a batch's bar counts batches). */
  const STEPS = 1000;
  let active = false;
  const stop = (): void => {
    if (active) bar.stop();
    active = false;
  };
  return {
    live(text: string, fraction?: number, event?: BatchProgress): void {
      let total: number, value: number, payload: { head: string; tail: string };
      if (event !== undefined) {
        [total, value] = [event.batches, event.batch];
        // The text is formatProgress(event): "epoch 3/50 train 12/79 loss …"; the bar goes
        // after the phase.
        const head = `epoch ${event.epoch + 1}/${event.maxEpochs} ${event.phase} `;
        payload = { head, tail: text.startsWith(head) ? text.slice(head.length) : text };
      } else {
        const known = fraction !== undefined && Number.isFinite(fraction);
        [total, value] = [STEPS, known ? Math.round(clamp01(fraction) * STEPS) : 0];
        payload = { head: "", tail: known ? `${percent(fraction)} ${text}` : text };
      }
      if (!active) {
        bar.start(total, value, payload);
        active = true;
      } else {
        if (bar.getTotal() !== total) bar.setTotal(total);
        bar.update(value, payload);
      }
    },
    print(text: string): void {
      stop();
      write(text);
    },
    end(final?: string): Promise<void> {
      stop();
      if (final !== undefined) write(final);
      return Promise.resolve();
    },
  };
}

/** The part of `Deno.jupyter` that {@linkcode notebookSink} uses. */
export interface NotebookDisplay {
  /** `Deno.jupyter.display`, with a `display_id` to redraw one output in place. */
  display(
    obj: unknown,
    options: { raw: boolean; display_id: string; update: boolean },
  ): Promise<void>;
}

/** Options of {@linkcode notebookSink}. */
export interface NotebookSinkOptions {
  /**
   * The kernel's API (`Deno.jupyter`): the live line is one output redrawn in place (a notebook
   * executed headless keeps its last state). Without it, every line goes to `write`.
   */
  jupyter?: NotebookDisplay;
  /** Where lines that stay go, and every line without `jupyter` (default `console.log`). */
  write?: (line: string) => void;
  /**
   * Awaited by `end()` after the last display is sent, so that the kernel sends it before the
   * cell ends (notebooks/jupyter.ts's `settle`).
   */
  settle?: () => Promise<void>;
}

/**
 * The notebook sink: the live line (with a text bar, {@linkcode withBar}) as one Jupyter output
 * redrawn in place, lines that stay printed below it; outside Jupyter, every line printed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notebookSink } from "@fasterode/fasterode/experiments";
 *
 * const sent: unknown[] = [];
 * const jupyter = {
 *   display: (obj: unknown, options: { update: boolean }) => {
 *     sent.push([obj, options.update]);
 *     return Promise.resolve();
 *   },
 * };
 * const sink = notebookSink({ jupyter, write: () => {} });
 * sink.live("one", 0.5);
 * sink.live("two");
 * await sink.end("done");
 * assert.deepEqual(sent, [
 *   [{ "text/plain": "[############............]  50% one" }, false],
 *   [{ "text/plain": "two" }, true], // the same output, redrawn
 *   [{ "text/plain": "done" }, true],
 * ]);
 * ```
 *
 * @param options the kernel's API, where lines go, and the pause before a cell ends
 * @returns the sink
 */
export function notebookSink(options: NotebookSinkOptions = {}): ProgressSink {
  const { jupyter, write = (line: string) => console.log(line), settle } = options;
  const displayId = `fasterode-progress-${crypto.randomUUID()}`;
  let displayed = false;
  let sending: Promise<void> = Promise.resolve();
  const sink: ProgressSink = {
    live(text: string, fraction?: number): void {
      const line = withBar(text, fraction);
      if (jupyter === undefined) {
        write(line);
        return;
      }
      const update = displayed;
      displayed = true;
      sending = sending
        .then(() =>
          jupyter.display({ "text/plain": line }, { raw: true, display_id: displayId, update })
        )
        .catch(() => write(line)); // never let a failed display break the computation
    },
    print(text: string): void {
      write(text);
    },
    async end(final?: string): Promise<void> {
      if (final !== undefined) sink.live(final); // the final state in the line's place
      await sending;
      if (jupyter !== undefined) await settle?.();
    },
  };
  return sink;
}
