/**
 * What a run leaves for people: the rendered report copied from the cache to `--out`, and
 * `results.json`, a machine-readable summary for graders (every model's RMSE, the baselines, the
 * backend, the data, and which stages this run reused).
 *
 * @module
 */
import { join, resolve } from "node:path";
import type { GraphResult } from "../pipeline/runner.ts";
import type { Config } from "../pipeline/config.ts";
import { writeFileAtomic } from "../lib/files.ts";
import type { RenderResult } from "./stage.ts";

/** Writes out/ for a run that rendered; for a partial run (`step3`) writes only results.json. */
export async function writeOutputs(result: GraphResult, config: Config): Promise<string[]> {
  const out = resolve(config.out);
  await Deno.mkdir(out, { recursive: true });
  const written: string[] = [];
  const render = result.outputs.get("render") as { dir: string; result: RenderResult } | undefined;
  for (const file of render?.result.files ?? []) {
    await writeFileAtomic(join(out, file), await Deno.readFile(join(render!.dir, file)));
    written.push(join(out, file));
  }
  const results = {
    generator: "galaxy-zoo-report",
    runId: result.runId,
    backend: result.backend,
    stages: result.statuses.map((s) => ({
      stage: s.stage,
      key: s.key,
      status: s.status,
      seconds: s.seconds,
      createdAt: s.createdAt,
      reason: s.reason ?? null,
    })),
    ...(render ? render.result.summary : {}),
    stageResults: render
      ? undefined
      : Object.fromEntries([...result.outputs].map(([name, o]) => [name, o.result])),
  };
  await writeFileAtomic(join(out, "results.json"), JSON.stringify(results, null, 1));
  written.push(join(out, "results.json"));
  return written;
}
