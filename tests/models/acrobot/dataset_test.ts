import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  ACROBOT,
  ACROBOT_CONTROLS,
  type AcrobotProgress,
  type AcrobotTrajectories,
  acrobotTrajectories,
  loadAcrobotDataset,
  simulateAcrobot,
  splitSizes,
  windowsOf,
} from "../../../models/acrobot/mod.ts";
import { writeCacheEntry } from "../../../models/data/mod.ts";

await tf.setBackend("cpu");

Deno.test("full-size split and window counts: 20,025 / 4,275 / 4,500 samples", () => {
  assert.deepEqual(splitSizes(128), [89, 19, 20]);
  assert.equal(ACROBOT_CONTROLS.length, 9);
  // The windowing of a full-shaped (zero) trajectory array, without simulating it.
  const fake: AcrobotTrajectories = {
    data: new Float32Array(9 * 128 * 32 * 8),
    shape: [9, 128, 32, 8],
    starts: new Float32Array(9 * 128 * 4),
    settings: {} as AcrobotTrajectories["settings"],
    key: "",
    rejected: [],
    nfe: 0,
    cached: false,
  };
  const sizes = [[0, 89], [89, 108], [108, 128]].map(([a, b]) => {
    const w = windowsOf(fake, a, b, 8);
    const shape = w.shape;
    w.dispose();
    return shape;
  });
  assert.deepEqual(sizes, [[20025, 8, 8], [4275, 8, 8], [4500, 8, 8]]);
});

Deno.test("a tiny data set: observations, controls, windows and the physics agree", async () => {
  const controls: [number, number][] = [[0, 1], [-2, 0]];
  const before = tf.memory().numTensors;
  const ds = await loadAcrobotDataset({ trials: 10, steps: 10, controls, cacheDir: false });
  const traj = ds.trajectories;
  assert.deepEqual(traj.shape, [2, 10, 10, 8]);
  // 10 trials → 7 / 1 / 2; 10 − 8 + 1 = 3 windows per trial; 2 controls.
  assert.deepEqual(ds.train.shape, [2 * 3 * 7, 8, 8]);
  assert.deepEqual(ds.val.shape, [2 * 3 * 1, 8, 8]);
  assert.deepEqual(ds.test.shape, [2 * 3 * 2, 8, 8]);
  assert.deepEqual(ds.times.map((t) => Math.round(t * 100) / 100), [
    0,
    0.05,
    0.1,
    0.15,
    0.2,
    0.25,
    0.3,
    0.35,
  ]);
  const d = traj.data;
  for (let i = 0; i < d.length; i += 8) {
    const c = Math.floor(i / (10 * 10 * 8));
    // float32 cos/sin of the same angle: cos² + sin² = 1 to rounding.
    assert.ok(Math.abs(d[i] ** 2 + d[i + 2] ** 2 - 1) < 1e-6);
    assert.ok(Math.abs(d[i + 1] ** 2 + d[i + 3] ** 2 - 1) < 1e-6);
    assert.deepEqual([d[i + 6], d[i + 7]], controls[c]);
    assert.ok(Math.abs(d[i + 4]) < ACROBOT.maxVel1 && Math.abs(d[i + 5]) < ACROBOT.maxVel2);
  }
  // Window order: control, then window start, then trial. Sample (c=1, w=2, trial 3) of train:
  const train = await ds.train.array();
  const sample = train[(1 * 3 + 2) * 7 + 3];
  for (let k = 0; k < 8; k++) {
    const o = ((1 * 10 + 3) * 10 + 2 + k) * 8;
    assert.deepEqual(sample[k], Array.from(d.subarray(o, o + 8)));
  }
  // Trial (c=1, trial 3) re-simulated from its recorded start state: point k is the state after
  // k + 1 control steps (the start itself is not recorded). Both solves meet rtol 1e-6; they
  // differ only by the batch composition of the max-norm step control: 1e-4 is ample.
  const start = tf.tensor2d([Array.from(traj.starts.subarray((1 * 10 + 3) * 4, (1 * 10 + 4) * 4))]);
  assert.ok(traj.starts.every((x) => Math.abs(x) <= 3.14));
  const u = tf.tensor2d([controls[1]]);
  const sim = await simulateAcrobot(start, u, 10);
  const states = await sim.states.array();
  for (let k = 0; k < 10; k++) {
    const [th1, th2, v1, v2] = states[k + 1][0];
    const o = ((1 * 10 + 3) * 10 + k) * 8;
    const expected = [Math.cos(th1), Math.cos(th2), Math.sin(th1), Math.sin(th2), v1, v2];
    expected.forEach((e, j) => {
      assert.ok(Math.abs(d[o + j] - e) < 1e-4 * (1 + Math.abs(e)), `k=${k} ch=${j}`);
    });
  }
  tf.dispose([start, u, sim.states]);
  ds.dispose();
  assert.equal(tf.memory().numTensors, before, "data set tensors leaked");
});

Deno.test("deterministic from the seed; every control replays the same start states", async () => {
  const opts = { trials: 4, steps: 3, controls: [[0, 0], [1, 0]] as [number, number][] };
  const a = await acrobotTrajectories({ ...opts, cacheDir: false });
  const b = await acrobotTrajectories({ ...opts, cacheDir: false });
  const c = await acrobotTrajectories({ ...opts, seed: 7, cacheDir: false });
  assert.deepEqual(a.data, b.data);
  assert.equal(a.key, b.key);
  assert.notEqual(a.key, c.key);
  assert.notDeepEqual(a.data, c.data);
  // No trial was redrawn at these gentle controls, so both controls start from the same states.
  assert.deepEqual(a.rejected, [0, 0]);
  assert.deepEqual(a.starts.subarray(0, 16), a.starts.subarray(16, 32));
});

Deno.test("trials reaching the speed limits are redrawn: the first valid draws, in order", async () => {
  // A large torque on joint 2 spins it past 9π rad/s in many trials.
  const opts = { steps: 32, controls: [[15, 0]] as [number, number][], cacheDir: false as const };
  const seen: AcrobotProgress[] = [];
  const small = await acrobotTrajectories({ ...opts, trials: 2 });
  const large = await acrobotTrajectories({ ...opts, trials: 4, onProgress: (p) => seen.push(p) });
  assert.ok(large.rejected[0] > 0, "expected some rejected trials");
  for (let i = 0; i < large.data.length; i += 8) {
    assert.ok(Math.abs(large.data[i + 4]) < ACROBOT.maxVel1 - 0.001);
    assert.ok(Math.abs(large.data[i + 5]) < ACROBOT.maxVel2 - 0.001);
  }
  // Sequential semantics whatever the batching: trials are the first valid start states. (The
  // observations agree to the solver tolerance, not bit for bit: the max-norm step control sees
  // a different batch.)
  assert.deepEqual(large.starts.subarray(0, small.starts.length), small.starts);
  small.data.forEach((x, i) => assert.ok(Math.abs(large.data[i] - x) < 1e-4 * (1 + Math.abs(x))));
  assert.ok(seen.length > 0 && seen.every((p) => p.total === 4 && p.t <= p.tEnd + 1e-9));
  assert.equal(seen[seen.length - 1].accepted, 4);
  assert.ok(seen.some((p) => p.round > 1), "rejections need a second round");
});

Deno.test("the cache: written once, then read back identical; stale files are replaced", async () => {
  const dir = await Deno.makeTempDir();
  const warnings: string[] = [];
  try {
    const opts = {
      trials: 3,
      steps: 4,
      controls: [[0, -1]] as [number, number][],
      cacheDir: dir,
      warn: (m: string) => warnings.push(m),
    };
    const first = await acrobotTrajectories(opts);
    assert.equal(first.cached, false);
    const entry = `${dir}/acrobot-${first.key}`;
    const files = Array.from(Deno.readDirSync(dir), (e) => e.name).sort();
    assert.deepEqual(files, [`acrobot-${first.key}`]);
    assert.deepEqual(
      Array.from(Deno.readDirSync(entry), (e) => e.name).sort(),
      ["manifest.json", "trajectories.f32"],
    );
    const meta = JSON.parse(await Deno.readTextFile(`${entry}/manifest.json`)).meta;
    assert.equal(meta.settings.trials, 3);
    assert.deepEqual(meta.shape, [1, 3, 4, 8]);
    const second = await acrobotTrajectories(opts);
    assert.equal(second.cached, true);
    assert.equal(second.nfe, 0);
    assert.deepEqual(second.data, first.data);
    assert.deepEqual(second.starts, first.starts);
    // A truncated binary is not trusted: the data are simulated and written again.
    await Deno.truncate(`${entry}/trajectories.f32`, 100);
    const third = await acrobotTrajectories(opts);
    assert.equal(third.cached, false);
    assert.deepEqual(third.data, first.data);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], new RegExp(`^cache entry ${entry} is unusable: trajectories\\.f32`));
    // Flipped bytes, an emptied or a null manifest: reported (with the path) and simulated again.
    const bytes = await Deno.readFile(`${entry}/trajectories.f32`);
    bytes[17] ^= 0x40;
    await Deno.writeFile(`${entry}/trajectories.f32`, bytes);
    assert.equal((await acrobotTrajectories(opts)).cached, false);
    assert.match(warnings[1], /trajectories\.f32 does not match its SHA-256/);
    for (const text of ["", "null"]) {
      await Deno.writeTextFile(`${entry}/manifest.json`, text);
      const again = await acrobotTrajectories(opts);
      assert.equal(again.cached, false);
      assert.deepEqual(again.data, first.data);
    }
    assert.match(warnings[2], /manifest\.json is not valid JSON/);
    assert.match(warnings[3], /manifest\.json is not an object/);
    assert.equal((await acrobotTrajectories(opts)).cached, true);
    assert.equal(warnings.length, 4);
    // A manifest cut off half-way (a write interrupted by a full disk).
    const manifest = await Deno.readTextFile(`${entry}/manifest.json`);
    await Deno.writeTextFile(`${entry}/manifest.json`, manifest.slice(0, manifest.length >> 1));
    assert.deepEqual((await acrobotTrajectories(opts)).data, first.data);
    assert.match(
      warnings[4],
      new RegExp(`^cache entry ${entry} is unusable: manifest\\.json is not valid JSON`),
    );
    // Consistent hashes around impossible values (a writer with a bug): |cos θ1| = 5.
    const stored = JSON.parse(await Deno.readTextFile(`${entry}/manifest.json`));
    const values = new Float32Array((await Deno.readFile(`${entry}/trajectories.f32`)).buffer);
    values[8] = 5; // point 1's cos θ1
    await writeCacheEntry(entry, stored.key, {
      meta: stored.meta,
      files: { "trajectories.f32": new Uint8Array(values.buffer) },
    });
    assert.equal((await acrobotTrajectories(opts)).cached, false);
    assert.match(
      warnings[5],
      /trajectories\.f32 holds an impossible observation at point 1: \[5, /,
    );
    // The temporary folder of a write that was killed (its process gone) is swept on start.
    const leftover = `acrobot-${first.key}.tmp-999999999-zz`;
    await Deno.mkdir(`${dir}/${leftover}`);
    assert.equal((await acrobotTrajectories(opts)).cached, true);
    assert.equal(
      warnings[6],
      `removed 1 unfinished cache write (interrupted) in ${dir}: ${leftover}`,
    );
    assert.equal(warnings.length, 7);
    assert.deepEqual(Array.from(Deno.readDirSync(dir), (e) => e.name), [`acrobot-${first.key}`]);
    // Other settings, another entry.
    const other = await acrobotTrajectories({ ...opts, steps: 5 });
    assert.notEqual(other.key, first.key);
    assert.equal(Array.from(Deno.readDirSync(dir)).length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad options give clear errors", async () => {
  await assert.rejects(acrobotTrajectories({ trials: 0 }), /trials must be a positive integer/);
  await assert.rejects(acrobotTrajectories({ steps: 1 }), /steps must be an integer ≥ 2/);
  await assert.rejects(
    acrobotTrajectories({ controls: [[1]] as never, cacheDir: false }),
    /controls must be a non-empty list of \[a0, a1\] pairs/,
  );
  await assert.rejects(
    loadAcrobotDataset({ steps: 6, window: 8, cacheDir: false }),
    /window must be an integer in \[2, steps = 6\]/,
  );
  const traj = await acrobotTrajectories({
    trials: 2,
    steps: 3,
    controls: [[0, 0]],
    cacheDir: false,
  });
  assert.throws(() => windowsOf(traj, 1, 3, 2), /trial range \[1, 3\) is not inside \[0, 2\)/);
});
