/**
 * Every task of deno.json that a user runs, run as the user runs it: `deno task <name> …` in a
 * subprocess, so with the task's own (narrow) permissions, and with `NO_COLOR=1` (issue 13).
 *
 * - `--help` exits 0 with the usage on stdout (`Usage: …`) and nothing on stderr;
 * - an unknown flag, a bad value, a bad `--backend`, a missing required flag or an unknown
 *   command exits 2 with exactly one line on stderr, which names the flag (or the command), no
 *   stack trace, and nothing on stdout: it fails before any data is generated or training starts.
 *
 * The only stderr lines that are not the program's are deno's own `Task <name> <command>` line
 * and, on a fresh cache, its `Download <url>` lines; they are dropped before the checks. Each run
 * takes a fraction of a second (no type check, nothing computed); a run that is still going after
 * {@linkcode LIMIT_MS} has started working on a bad command line and fails the test.
 *
 * `deno task test`, `check` and `bench` are deno's own subcommands (their flags are deno's);
 * the first test makes sure that every other task is covered here.
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url);
const LIMIT_MS = 30_000;

/** A bad command line and what its one error line must name. */
interface BadCase {
  args: string[];
  names: string;
}

/** A task's command-line checks. */
interface TaskCli {
  task: string;
  /** Command lines that print a usage (each ends in `--help`). */
  help: string[][];
  /** Command lines that are usage errors. */
  bad: BadCase[];
}

/** Never written to: every command line that names it fails before it would write. */
const OUT = `${Deno.env.get("TMPDIR") ?? "/tmp"}/fasterode_tasks_test_never_written`;

/** The flags every experiment takes, bad (`--epochs` and `--backend` are in EXPERIMENT_FLAGS). */
const EXPERIMENT_BAD: BadCase[] = [
  { args: ["--nope"], names: "--nope" },
  { args: ["--epochs", "abc"], names: "--epochs" },
  { args: ["--backend", "gpu"], names: "--backend" },
];

/** The figures tool's bad command lines (it has no numeric flag: `--out` without its value). */
const FIGURES_BAD: BadCase[] = [
  { args: ["--nope"], names: "--nope" },
  { args: ["--out"], names: "--out" },
];

const TASKS: TaskCli[] = [
  {
    task: "demo",
    help: [["--help"]],
    bad: [
      { args: ["--nope"], names: "--nope" },
      { args: ["--iters", "abc"], names: "--iters" },
      { args: ["--backend", "gpu"], names: "--backend" },
    ],
  },
  { task: "acrobot", help: [["--help"]], bad: EXPERIMENT_BAD },
  { task: "cde", help: [["--help"]], bad: EXPERIMENT_BAD },
  { task: "cnf", help: [["--help"]], bad: EXPERIMENT_BAD },
  {
    task: "speech-data",
    help: [["--help"], ["synthetic", "--help"], ["prepare", "--help"]],
    bad: [
      { args: ["--nope"], names: "--nope" },
      { args: ["bogus"], names: "bogus" },
      { args: ["synthetic", "--nope"], names: "--nope" },
      { args: ["synthetic"], names: "--out" },
      { args: ["synthetic", "--out", OUT, "--count", "abc"], names: "--count" },
      { args: ["prepare", "--nope"], names: "--nope" },
      { args: ["prepare"], names: "--dir" },
      { args: ["prepare", "--dir", OUT, "--seed", "abc"], names: "--seed" },
      { args: ["prepare", "--dir", OUT, "--backend", "gpu"], names: "--backend" },
    ],
  },
  { task: "figures", help: [["--help"]], bad: FIGURES_BAD },
  { task: "notebooks", help: [["--help"]], bad: FIGURES_BAD },
  {
    task: "bench:cde",
    help: [["--help"]],
    bad: [
      { args: ["--nope"], names: "--nope" },
      { args: ["--batch", "abc"], names: "--batch" },
      { args: ["--backend", "gpu"], names: "--backend" },
    ],
  },
];

/** Tasks that are deno subcommands with deno's own flags. */
const DENO_SUBCOMMANDS = ["bench", "check", "test"];

/** What a `deno task` run printed (checked to hold no colour codes). */
interface Run {
  code: number;
  stdout: string;
  /** stderr without deno's own `Task …` and `Download …` lines. */
  stderr: string;
  /** The command, for messages. */
  what: string;
}

/** Runs `deno task <task> <args>` in the repository, with `NO_COLOR=1`. */
async function task(name: string, args: string[]): Promise<Run> {
  const what = `deno task ${name} ${args.join(" ")}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", name, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), LIMIT_MS);
  const out = await child.output();
  clearTimeout(timer);
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  const stdout = decode(out.stdout);
  const raw = decode(out.stderr);
  assert.ok(out.signal === null, `${what}: still running after ${LIMIT_MS} ms (killed)\n${raw}`);
  assert.ok(!(stdout + raw).includes("\x1b["), `${what}: colour codes despite NO_COLOR`);
  const stderr = raw.split("\n").filter((l) => !/^(Task|Download) /.test(l)).join("\n");
  return { code: out.code, stdout, stderr, what };
}

/** The non-empty lines of `text`. */
function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "");
}

Deno.test("every task of deno.json that is not a deno subcommand has its command line tested here", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const tasks = Object.keys(config.tasks).sort();
  assert.deepEqual(tasks, [...TASKS.map((t) => t.task), ...DENO_SUBCOMMANDS].sort());
});

for (const { task: name, help, bad } of TASKS) {
  Deno.test(`deno task ${name}: --help prints the usage; bad flags are one line that names them`, async (t) => {
    for (const args of help) {
      await t.step(args.join(" "), async () => {
        const run = await task(name, args);
        assert.equal(run.code, 0, `${run.what}: exit code\n${run.stderr}`);
        assert.match(run.stdout, /^Usage: /, `${run.what}: stdout`);
        assert.equal(run.stderr.trim(), "", `${run.what}: stderr`);
      });
    }
    for (const { args, names } of bad) {
      await t.step(args.join(" ") || "(no arguments)", async () => {
        const run = await task(name, args);
        const errors = lines(run.stderr);
        assert.doesNotMatch(run.stderr, /^\s+at /m, `${run.what}: a stack trace\n${run.stderr}`);
        assert.equal(run.code, 2, `${run.what}: exit code\n${run.stderr}`);
        assert.equal(errors.length, 1, `${run.what}: one line on stderr, got\n${run.stderr}`);
        assert.ok(errors[0].includes(names), `${run.what}: "${errors[0]}" names ${names}`);
        assert.equal(run.stdout, "", `${run.what}: printed before failing`);
      });
    }
  });
}
