import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { formatDemoTable, runDemo } from "../../../experiments/spiral/mod.ts";

await tf.setBackend("cpu");

Deno.test("demo: the seminorm takes clearly fewer backward evaluations for the same training", async () => {
  const before = tf.memory().numTensors;
  const [full, semi] = await runDemo({ iters: 5 });
  assert.equal(tf.memory().numTensors, before, "the demo leaked tensors");
  // Same batches and the same forward tolerance: forward work is nearly equal (the weights
  // drift apart only through the slightly different gradients).
  assert.ok(Math.abs(full.forwardNfe - semi.forwardNfe) <= 0.1 * full.forwardNfe);
  // The parameter adjoints dominate this backward state (642 parameters vs 40 state scalars):
  // the default norm must resolve them, the seminorm need not. Measured ~40% fewer; 20% is a
  // margin for other seeds and backends.
  assert.ok(
    semi.backwardNfe < 0.8 * full.backwardNfe,
    `${semi.backwardNfe} vs ${full.backwardNfe}`,
  );
  // Gradients agree to tolerance, so a few steps of training end at about the same loss.
  assert.ok(Math.abs(full.finalLoss - semi.finalLoss) < 0.1 * full.finalLoss);
  assert.match(formatDemoTable([full, semi]), /seminorm: \d+\.\d% fewer backward NFE/);
});

Deno.test("demo: a checkpointed run stopped midway and resumed ends as an uninterrupted one", async () => {
  const dir = await Deno.makeTempDir();
  const reference = await runDemo({ iters: 6, width: 16 });
  // Stopped by an error in the seminorm's 5th iteration; checkpoints every 2 iterations.
  await assert.rejects(
    runDemo({
      iters: 6,
      width: 16,
      checkpoint: dir,
      checkpointEvery: 2,
      onIteration: (norm, it) => {
        if (norm === "seminorm" && it === 5) throw new Error("simulated crash");
      },
    }),
    /simulated crash/,
  );
  const resumed = await runDemo({ iters: 6, width: 16, resume: dir });
  // Bit-identical NFE and loss: the resume restores the weights, Adam's state and the batch
  // generator's position (the default norm finished before the crash and is not rerun).
  assert.deepEqual(
    resumed.map((r) => [r.norm, r.forwardNfe, r.backwardNfe, r.finalLoss]),
    reference.map((r) => [r.norm, r.forwardNfe, r.backwardNfe, r.finalLoss]),
  );
  await assert.rejects(
    runDemo({ iters: 7, width: 16, resume: dir }),
    /other settings; resume it with the same ones: iters: 6 in the checkpoint, 7 now/,
  );
  await assert.rejects(runDemo({ iters: 6, width: 16, checkpoint: dir }), /holds checkpoints/);
  await Deno.remove(dir, { recursive: true });
});
