/**
 * Small stand-in stages for the runner's tests: they take milliseconds, count their runs in a
 * shared log and write a file each, so cache semantics can be checked without the real pipeline.
 */
import { join } from "node:path";
import { defineStage, type Stage } from "../pipeline/stage.ts";
import { type Config, DEFAULTS } from "../pipeline/config.ts";
import type { RunnerEnv } from "../pipeline/runner.ts";
import { silentProgress } from "../pipeline/progress.ts";

/** Builds a chain a -> b -> c whose params come from config fields seed, epochs and batchSize. */
export function chain(ran: string[], opts: { failIn?: string } = {}): Stage[] {
  const make = (name: string, deps: string[], param: (c: Config) => number) =>
    defineStage({
      name,
      title: `fake ${name}`,
      module: import.meta.url,
      deps,
      params: (c) => ({ value: param(c) }),
      async run(ctx) {
        ran.push(name);
        await Deno.writeTextFile(join(ctx.dir, "out.txt"), `${name}=${ctx.params.value}`);
        if (opts.failIn === name) throw new Error(`${name} exploded`);
        const upstream = deps.map((d) => (ctx.input<{ total: number }>(d).result.total));
        return { total: ctx.params.value + upstream.reduce((a, b) => a + b, 0) };
      },
    }) as Stage;
  return [
    make("a", [], (c) => c.seed),
    make("b", ["a"], (c) => c.epochs),
    make("c", ["b"], (c) => c.batchSize),
  ];
}

export function config(overrides: Partial<Config> = {}): Config {
  return { ...DEFAULTS, force: [], ...overrides };
}

export function quietEnv(cacheDir: string, logs: string[] = []): RunnerEnv {
  return {
    root: join(import.meta.dirname!, ".."),
    cacheDir,
    log: (line) => logs.push(line),
    progress: silentProgress,
    backend: () =>
      Promise.resolve({ name: "cpu", requested: "cpu", reason: "test", skipped: [], versions: {} }),
    now: () => new Date("2026-01-01T00:00:00Z"),
  };
}
