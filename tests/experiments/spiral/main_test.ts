import assert from "node:assert/strict";
import { parseDemoArgs } from "../../../experiments/spiral/main.ts";

const MAIN = new URL("../../../experiments/spiral/main.ts", import.meta.url).pathname;
const FLAGS = ["--iters", "60", "--width", "16", "--batch", "8", "--backend", "cpu"];

/** The NFE and loss columns of the demo's table (the time column differs between runs). */
function columns(stdout: string): string[][] {
  return stdout.split("\n").filter((l) => /^(default|seminorm) +\d/.test(l))
    .map((l) => l.trim().split(/ +/).slice(0, 4));
}

Deno.test("demo flags: --checkpoint and --resume take a folder and exclude each other", () => {
  assert.deepEqual(parseDemoArgs(["--resume", "ck"]), { resume: "ck" });
  assert.deepEqual(parseDemoArgs(["--checkpoint", "ck"]), { checkpoint: "ck" });
  assert.throws(() => parseDemoArgs(["--checkpoint", "a", "--resume", "b"]), /exclude each other/);
  assert.throws(() => parseDemoArgs(["--resume", ""]), /--resume must be a directory/);
});

Deno.test("deno task demo killed by SIGTERM: it saves, prints the resume command, and the resumed run ends as an unkilled one", async () => {
  const dir = await Deno.makeTempDir();
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, ...args],
      stdout: "piped",
      stderr: "piped",
    });
  const reference = await run(FLAGS).output();
  assert.equal(reference.code, 0, new TextDecoder().decode(reference.stderr));
  const expected = columns(new TextDecoder().decode(reference.stdout));
  assert.equal(expected.length, 2);

  // Killed after the first progress line (iteration 50 of the default norm; 70 iterations are
  // left, seconds of work, so the signal lands mid-run).
  const ck = `${dir}/ck`;
  const child = run([...FLAGS, "--checkpoint", ck]).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let err = "";
  while (!/ 50\/60 /.test(err)) {
    const { value, done } = await reader.read();
    if (done) break;
    err += value;
  }
  child.kill("SIGTERM");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    err += value;
  }
  const status = await child.status;
  await child.stdout.cancel();
  assert.equal(status.code, 130, err);
  assert.match(err, /SIGTERM: stopping after the current step and saving a checkpoint/);
  assert.match(
    err,
    /interrupted by SIGTERM: saved .*ck\/default\/checkpoint\.json \(default norm, after iteration \d+ of 60\)/,
  );
  const command = /resume with: deno task demo (.*)$/m.exec(err);
  assert.ok(command, err);
  assert.equal(command[1], [...FLAGS, "--resume", ck].join(" "));

  const resumed = await run([...FLAGS, "--resume", ck]).output();
  assert.equal(resumed.code, 0, new TextDecoder().decode(resumed.stderr));
  assert.deepEqual(columns(new TextDecoder().decode(resumed.stdout)), expected);
  await Deno.remove(dir, { recursive: true });
});
