import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { CheckpointError, readCheckpoint } from "../../../models/mod.ts";
import { loadFinishedRun, TrainingInterrupted } from "../../../experiments/harness/checkpoint.ts";
import { tinyCompare, type TinyOutcome, tinyRun } from "./tiny_run.ts";

await tf.setBackend("cpu");

/** The uninterrupted tiny run, computed once. */
let reference: TinyOutcome | undefined;
async function uninterrupted(): Promise<TinyOutcome> {
  return reference ??= await tinyRun({});
}

/**
 * Resuming must reproduce the uninterrupted run exactly: the same float32 weights bit for bit
 * and the same NFE per epoch (the solves are deterministic on the cpu backend, and the resume
 * restores every input of every later step: weights, AdamW moments and step count, the batch
 * order generator's position, the schedule). No tolerance is needed, so none is allowed.
 */
function assertSameRun(a: TinyOutcome, b: TinyOutcome, what: string): void {
  assert.deepEqual(a.trainingNfe, b.trainingNfe, `${what}: training NFE per epoch`);
  assert.deepEqual(a.historyLoss, b.historyLoss, `${what}: metric losses`);
  assert.deepEqual(a.weights, b.weights, `${what}: final weights`);
  assert.equal(a.finalTrainLoss, b.finalTrainLoss, `${what}: final loss`);
  assert.equal(a.epochs, b.epochs);
}

Deno.test("a run stopped in epoch 3 and resumed ends with the weights and NFE of one never stopped", async () => {
  const ref = await uninterrupted();
  const dir = await Deno.makeTempDir();
  const before = tf.memory().numTensors;
  // A crash in epoch 3 (index 2), batch 2: the checkpoint of the end of epoch 2 is on disk.
  await assert.rejects(
    tinyRun({
      checkpoint: { dir },
      onProgress: (e) => {
        if (e.kind === "batch" && e.phase === "train" && e.epoch === 2 && e.batch === 2) {
          throw new Error("simulated crash");
        }
      },
    }),
    /simulated crash/,
  );
  const saved = await readCheckpoint<{ epoch: number; batch: number; status: string }>(dir);
  assert.equal(saved.manifest.epoch, 2);
  assert.equal(saved.manifest.batch, 0);
  tf.dispose(saved.tensors.map((t) => t.tensor));
  const resumed = await tinyRun({ checkpoint: { dir, resume: true } });
  assertSameRun(resumed, ref, "resumed after epoch 2");
  // The finished run's checkpoint returns its result and weights without training again.
  const again = await tinyRun({ checkpoint: { dir, resume: true } });
  assert.deepEqual(again.weights, ref.weights);
  assert.deepEqual(again.trainingNfe, ref.trainingNfe);
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("SIGTERM mid-epoch: the step finishes, a checkpoint is saved, and resuming reproduces the run", async () => {
  const ref = await uninterrupted();
  const dir = await Deno.makeTempDir();
  let sent = false;
  const lines: string[] = [];
  const log = console.error;
  console.error = (line: string) => lines.push(line);
  let error: unknown;
  try {
    await tinyRun({
      checkpoint: { dir },
      onProgress: (e) => {
        if (!sent && e.kind === "batch" && e.phase === "train" && e.epoch === 1 && e.batch === 1) {
          sent = true;
          Deno.kill(Deno.pid, "SIGTERM"); // to this process: the run's listener takes it (deno test owns SIGINT)
        }
      },
    });
  } catch (e) {
    error = e;
  } finally {
    console.error = log;
  }
  assert.ok(error instanceof TrainingInterrupted, `expected TrainingInterrupted, got ${error}`);
  assert.equal(error.signal, "SIGTERM");
  assert.equal(error.resumeDir, dir);
  assert.match(error.saved, /saved .*checkpoint\.json \((in|after) epoch/);
  assert.ok(
    lines.some((l) => /SIGTERM: stopping after the current step/.test(l)),
    lines.join("\n"),
  );
  const resumed = await tinyRun({ checkpoint: { dir, resume: true } });
  assertSameRun(resumed, ref, "resumed after SIGTERM");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resume refuses other settings, a corrupt checkpoint and an existing one without resume", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    tinyRun({
      checkpoint: { dir },
      onProgress: (e) => {
        if (e.kind === "batch" && e.phase === "train" && e.epoch === 1) throw new Error("stop");
      },
    }),
    /stop/,
  );
  const file = join(dir, "checkpoint.json");
  const text = await Deno.readTextFile(file);
  // Other settings: the difference is named, with both values.
  await assert.rejects(
    tinyRun({ checkpoint: { dir, resume: true }, learningRate: 0.05 }),
    (e: Error) =>
      e instanceof CheckpointError &&
      /other settings.*training\.learningRate: 0\.02 in the checkpoint, 0\.05 now/.test(e.message),
  );
  // Not resuming into a folder that holds a checkpoint: refused, and the file is untouched.
  await assert.rejects(tinyRun({ checkpoint: { dir } }), /already holds a checkpoint; resume it/);
  assert.equal(await Deno.readTextFile(file), text);
  // A corrupt weights file and a truncated checkpoint file: named, nothing overwritten.
  const bin = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".bin"))!.name;
  const bytes = await Deno.readFile(join(dir, bin));
  bytes[bytes.length - 1] ^= 1;
  await Deno.writeFile(join(dir, bin), bytes);
  await assert.rejects(
    tinyRun({ checkpoint: { dir, resume: true } }),
    new RegExp(`${bin}: does not match its SHA-256 \\(corrupt\\)`),
  );
  await Deno.writeTextFile(file, text.slice(0, 100));
  await assert.rejects(
    tinyRun({ checkpoint: { dir, resume: true } }),
    /checkpoint\.json: not valid JSON \(corrupt\)/,
  );
  assert.equal(await Deno.readTextFile(file), text.slice(0, 100));
  // No checkpoint at all.
  const empty = await Deno.makeTempDir();
  await assert.rejects(
    tinyRun({ checkpoint: { dir: empty, resume: true } }),
    /no checkpoint was saved/,
  );
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(empty, { recursive: true });
});

Deno.test("killed by SIGTERM in a subprocess, resumed in another: the same result as never killed", async () => {
  const ref = await uninterrupted();
  const dir = await Deno.makeTempDir();
  // A stale temporary folder of an interrupted write by a process that no longer exists.
  await Deno.mkdir(join(dir, "checkpoint.json.tmp-999999999-abc"));
  const script = new URL("./tiny_run.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, dir, "--pause-at", "2"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("PAUSED")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  assert.match(out, /PAUSED/);
  child.kill("SIGTERM");
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("go\n"));
  await writer.close();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  const status = await child.status;
  const stderr = await new Response(child.stderr).text();
  assert.equal(status.code, 130, `exit status; stdout ${out}; stderr ${stderr}`);
  assert.match(out, /INTERRUPTED interrupted by SIGTERM: saved .*checkpoint\.json/);
  assert.match(stderr, /SIGTERM: stopping after the current step and saving a checkpoint/);
  // The stale temporary folder was swept; no temporary file is left.
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(names.filter((n) => n.includes(".tmp")), [], `left: ${names}`);
  const resumed = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, dir, "--resume"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(resumed.stdout);
  const line = text.split("\n").find((l) => l.startsWith("RESULT "));
  assert.ok(line, `no result: ${text} ${new TextDecoder().decode(resumed.stderr)}`);
  assertSameRun(JSON.parse(line.slice(7)), ref, "resumed in a new process");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--norm both interrupted in the second norm: the first norm's result is kept, the resume ends as an uninterrupted comparison", async () => {
  const out = await Deno.makeTempDir();
  const before = tf.memory().numTensors;
  const ref = await tinyCompare({ out, checkpoint: join(out, "ck-ref") });
  const dir = join(out, "ck");
  let error: unknown;
  try {
    await tinyCompare({
      out,
      checkpoint: dir,
      onProgress: (e, norm) => {
        if (norm === "seminorm" && e.kind === "batch" && e.phase === "train" && e.epoch === 1) {
          throw new TrainingInterrupted("SIGTERM", join(dir, norm), "simulated");
        }
      },
    });
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof TrainingInterrupted);
  // The comparison's folder is what to resume, and the finished norm's result is named.
  assert.equal(error.resumeDir, dir);
  assert.equal(error.finished.length, 1);
  assert.match(error.finished[0], /tiny\/w8-default-[0-9a-f]{10}\/1\.json$/);
  const resumed = await tinyCompare({ out, resume: dir });
  // The default norm was not trained again: the same result file, not a new one.
  assert.equal(resumed.runs[0].path, error.finished[0]);
  for (let i = 0; i < 2; i++) {
    const [a, b] = [resumed.runs[i], ref.runs[i]];
    assert.equal(a.norm, b.norm);
    assert.equal(a.name, b.name, "same settings, same folder");
    assert.deepEqual(a.weights, b.weights, `${a.norm}: final weights`);
    assert.deepEqual(a.result.trainingNfe, b.result.trainingNfe, `${a.norm}: training NFE`);
    assert.equal(a.backwardNfe, b.backwardNfe);
  }
  // Resuming into a folder of no checkpoint, or starting over one, is refused.
  await assert.rejects(tinyCompare({ out, resume: join(out, "nothing") }), /holds no checkpoint/);
  await assert.rejects(tinyCompare({ out, checkpoint: dir }), /holds checkpoints already/);
  assert.equal(tf.memory().numTensors, before, "leaked tensors");
  await Deno.remove(out, { recursive: true });
});

Deno.test("a finished run's model loads from the checkpoint its result names", async () => {
  const dir = await Deno.makeTempDir();
  const out = await Deno.makeTempDir();
  const ref = await uninterrupted();
  const done = await tinyRun({ checkpoint: { dir }, save: out });
  assert.deepEqual(done.weights, ref.weights);
  const saved = JSON.parse(await Deno.readTextFile(done.path!));
  assert.equal(saved.checkpoint, dir);
  // A fresh model of the same sizes gets the trained weights.
  const { SpiralODE } = await import("../../../models/spiral/mod.ts");
  const model = new SpiralODE({ width: 8, seed: 99 });
  const state = await loadFinishedRun(saved.checkpoint, model.variables);
  assert.equal(state.result!.path, done.path);
  assert.deepEqual(model.variables.map((v) => Array.from(v.dataSync())), ref.weights);
  model.dispose();
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(out, { recursive: true });
});
