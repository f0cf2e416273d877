// Tests for the one progress renderer (experiments/harness/progress.ts) on its sinks
// (progress_sinks.ts): throttling, the final state, and the notebook sink's display.

import assert from "node:assert/strict";
import {
  type BatchProgress,
  progressDisplay,
  progressReporter,
} from "../../../experiments/harness/progress.ts";
import { notebookSink, terminalSink } from "../../../experiments/harness/progress_sinks.ts";

function batch(batchNo: number, elapsed: number): BatchProgress {
  return {
    kind: "batch",
    phase: "train",
    epoch: 0,
    maxEpochs: 1,
    batch: batchNo,
    batches: 4,
    loss: 0.5,
    forwardNfe: 26,
    backwardNfe: 40,
    lr: 1e-3,
    elapsed,
  };
}

Deno.test("progressDisplay: events are timed by their elapsed, with showFirst false from 0", () => {
  const lines: string[] = [];
  const display = progressDisplay(terminalSink("lines", { write: (l) => lines.push(l) }), {
    interval: 10,
    showFirst: false,
  });
  display.report(batch(1, 9)); // 9 s after the start: held back
  display.report(batch(2, 10)); // shown
  display.report(batch(3, 15)); // held back
  display.close(); // drops what is held back
  assert.deepEqual(lines, ["epoch 1/1 train 2/4 loss 0.5000 nfe 26/40 lr 1e-3 [10s]"]);
});

Deno.test("progressDisplay: done shows the line held back, or the final text once", async () => {
  const lines: string[] = [];
  const display = progressDisplay(terminalSink("lines", { write: (l) => lines.push(l) }), {
    interval: 3600,
  });
  display.update("a", 0);
  display.update("b", 0.5); // held back
  await display.done();
  assert.deepEqual(lines, [
    "[........................]   0% a",
    "[############............]  50% b",
  ]);

  const again: string[] = [];
  const final = progressDisplay(terminalSink("lines", { write: (l) => again.push(l) }));
  final.update("finished");
  await final.done("finished"); // already shown: not repeated
  assert.deepEqual(again, ["finished"]);
});

Deno.test("progressReporter none shows nothing; bad options throw, naming them", async () => {
  const display = progressReporter("none");
  display.report(batch(1, 100));
  display.update("x", 1);
  await display.done("y");
  assert.throws(() => progressDisplay(terminalSink("none"), { interval: -1 }), /interval/);
  assert.throws(() => progressReporter("lines", { interval: NaN }), /interval must be >= 0/);
  assert.throws(() => terminalSink("fancy" as never), /terminalSink: unknown mode "fancy"/);
});

Deno.test("notebookSink: one output redrawn in place; a failed display falls back to a line", async () => {
  const sent: [string, boolean][] = [];
  const written: string[] = [];
  let settled = 0;
  const sink = notebookSink({
    jupyter: {
      display(obj, options) {
        const text = (obj as { "text/plain": string })["text/plain"];
        if (text === "fails") return Promise.reject(new Error("kernel gone"));
        sent.push([text, options.update]);
        return Promise.resolve();
      },
    },
    write: (line) => written.push(line),
    settle: () => {
      settled++;
      return Promise.resolve();
    },
  });
  const display = progressDisplay(sink);
  display.update("one");
  display.report({ kind: "message", text: "a message", elapsed: 1 });
  display.update("fails");
  await display.done("done");
  assert.deepEqual(sent, [["one", false], ["done", true]]);
  assert.deepEqual(written, ["a message [1s]", "fails"]);
  assert.equal(settled, 1);
});

Deno.test("notebookSink without Jupyter prints every line", async () => {
  const written: string[] = [];
  const display = progressDisplay(notebookSink({ write: (line) => written.push(line) }));
  display.update("half", 0.5);
  await display.done("all");
  assert.deepEqual(written, ["[############............]  50% half", "all"]);
});
