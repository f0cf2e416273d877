/**
 * `deno doc --lint` on the package's entry points, less one kind of report: references to
 * tfjs's own types (`Tensor`, `Scalar`, …). They come from the npm package `@tensorflow/tfjs`,
 * which deno doc counts as private to this package although every user imports them from tfjs.
 * Every other report fails the check.
 */
const entries = Object.values(
  JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))).exports as Record<
    string,
    string
  >,
);
const out = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--lint", ...entries],
  env: { NO_COLOR: "1" },
}).output();
const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
const reports = text.split(/\n(?=error\[)/).filter((r) => r.startsWith("error["));
const tfjsType =
  /references private type '(Tensor|Tensor\dD|Scalar|Variable|NamedTensorMap|Rank|AdamOptimizer)'/;
const kept = reports.filter((r) => !(r.startsWith("error[private-type-ref]") && tfjsType.test(r)));
if (kept.length > 0) {
  console.error(kept.join("\n"));
  console.error(`doc lint: ${kept.length} problem(s)`);
  Deno.exit(1);
}
console.log(`doc lint: clean (${reports.length - kept.length} references to tfjs types ignored)`);
