/**
 * The command line: parses flags, runs the stage graph up to the requested step (and renders the
 * report for `report`), writes `results.json`. Every side effect the stages use is made here.
 *
 * ```sh
 * deno task report --epochs 3 --limit 500
 * deno task step4 --force step4
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { STAGE_NAMES, STAGES } from "./steps/mod.ts";
import { type Config, helpText, parseConfig, UsageError } from "./pipeline/config.ts";
import { acquireCacheLock, CacheBusyError } from "./pipeline/lock.ts";
import { runGraph } from "./pipeline/runner.ts";
import { defaultProgress } from "./pipeline/progress.ts";
import { selectBackend } from "./lib/tf/backend.ts";
import { writeOutputs } from "./report/outputs.ts";
import { predictCommand } from "./commands/predict.ts";

const COMMANDS = ["report", ...STAGE_NAMES.filter((n) => n !== "render"), "predict"];

function log(line: string): void {
  console.error(line);
}

/** Fails early, naming the flag, when the task's permissions don't cover a folder it must write. */
async function checkWritable(config: Config): Promise<void> {
  for (const [flag, path] of [["--cache", config.cache], ["--out", config.out]] as const) {
    const { state } = await Deno.permissions.query({ name: "write", path: resolve(path) });
    if (state !== "granted") {
      throw new UsageError(
        `${flag} ${path}: this task may only write inside the project's cache/ and out/ folders. ` +
          `Choose a folder there, or run main.ts yourself with --allow-write=${path}.`,
      );
    }
  }
}

async function runPipeline(command: string, config: Config): Promise<void> {
  await checkWritable(config);
  const root = resolve(import.meta.dirname!);
  const cacheDir = resolve(config.cache);
  const release = acquireCacheLock(cacheDir, `deno task ${command}`);
  try {
    const target = command === "report" ? "render" : command;
    const started = performance.now();
    const result = await runGraph(STAGES, [target], config, {
      root,
      cacheDir,
      log,
      progress: defaultProgress(log),
      backend: () => selectBackend(config.backend, log),
      now: () => new Date(),
    });
    const written = await writeOutputs(result, config);
    const reused = result.statuses.filter((s) => s.status === "reused").length;
    log(
      `done in ${((performance.now() - started) / 1000).toFixed(1)}s: ${
        result.statuses.length - reused
      } stage(s) ran, ${reused} reused`,
    );
    for (const path of written) log(`wrote ${path}`);
  } finally {
    release();
  }
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (!command || !COMMANDS.includes(command)) {
    log(`Usage: deno task <${COMMANDS.join("|")}> [flags]   (add --help for the flags)`);
    return 2;
  }
  if (command === "predict") return await predictCommand(rest, log);
  const config = parseConfig(rest, STAGE_NAMES);
  if (config.help) {
    console.log(helpText(command, STAGE_NAMES));
    return 0;
  }
  await runPipeline(command, config);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (error) {
    if (error instanceof UsageError || error instanceof CacheBusyError) {
      log(`error: ${error.message}`);
      Deno.exitCode = 2;
    } else {
      log(`error: ${error instanceof Error ? error.message : String(error)}`);
      if (Deno.env.get("GZ_DEBUG")) console.error(error);
      Deno.exitCode = 1;
    }
  }
}
