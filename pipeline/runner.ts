/**
 * Runs a stage graph with memoization. A stage's key hashes its source and local imports, its
 * params, its upstream keys, a fingerprint of outside inputs and the versions that change its
 * results; a committed entry with that key is reused, otherwise the stage runs in a partial
 * folder that is renamed into place when complete.
 *
 * @module
 */
import { join } from "node:path";
import {
  commitEntry,
  entryDir,
  type KeyParts,
  type Manifest,
  partialDir,
  readEntry,
  recordFiles,
} from "./cache.ts";
import { canonicalJson, hashJson, hashModuleSources } from "./hash.ts";
import type { ProgressFactory } from "./progress.ts";
import type { BackendInfo, Stage, StageOutput } from "./stage.ts";
import type { Config } from "./config.ts";

/** Side effects of the runner, injected by main.ts (and quiet ones by tests). */
export interface RunnerEnv {
  /** Project root: source paths enter keys relative to it. */
  root: string;
  cacheDir: string;
  log(line: string): void;
  progress: ProgressFactory;
  /** Chooses the TensorFlow.js backend; called once, only when a stage needs it. */
  backend(): Promise<BackendInfo>;
  now(): Date;
}

/** What happened to one stage in this run. */
export interface StageStatus {
  stage: string;
  title: string;
  key: string;
  status: "reused" | "ran";
  /** Seconds the stage took when it ran (in this run or the one that made the entry). */
  seconds: number;
  createdAt: string;
  runId: string;
  /** Why it ran: forced, no entry, a broken entry, or which key ingredient changed. */
  reason?: string;
}

export interface GraphResult {
  statuses: StageStatus[];
  outputs: Map<string, StageOutput>;
  backend: BackendInfo | null;
  runId: string;
}

/** A stage failed; the message names it. */
export class StageError extends Error {
  override name = "StageError";
}

/** The stages needed for `targets`, upstream first, in the order `stages` lists them. */
export function closure(
  stages: readonly Stage[],
  targets: readonly string[],
): Stage[] {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const needed = new Set<string>();
  const visit = (name: string) => {
    const stage = byName.get(name);
    if (!stage) throw new Error(`Unknown stage '${name}'`);
    if (needed.has(name)) return;
    needed.add(name);
    stage.deps.forEach(visit);
  };
  targets.forEach(visit);
  return stages.filter((s) => needed.has(s.name));
}

function describeChange(previous: KeyParts, next: KeyParts): string {
  const changes: string[] = [];
  if (previous.source !== next.source) changes.push("its code changed");
  const before = (previous.params ?? {}) as Record<string, unknown>;
  const after = (next.params ?? {}) as Record<string, unknown>;
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (canonicalJson(before[name]) !== canonicalJson(after[name])) {
      changes.push(
        `${name} ${canonicalJson(before[name])} -> ${canonicalJson(after[name])}`,
      );
    }
  }
  for (const [name, key] of Object.entries(next.upstream)) {
    if (previous.upstream?.[name] !== key) changes.push(`${name} changed`);
  }
  if (canonicalJson(previous.fingerprint) !== canonicalJson(next.fingerprint)) {
    changes.push("its input files changed");
  }
  for (const [name, version] of Object.entries(next.versions)) {
    if (previous.versions?.[name] !== version) {
      changes.push(`${name} ${previous.versions?.[name] ?? "-"} -> ${version}`);
    }
  }
  return changes.length > 0 ? changes.join(", ") : "no committed entry for this key";
}

/** The newest committed manifest of a stage, to explain a key change. */
async function newestManifest(
  cacheDir: string,
  stage: string,
): Promise<Manifest | null> {
  let best: { mtime: number; manifest: Manifest } | null = null;
  try {
    for await (const entry of Deno.readDir(join(cacheDir, stage))) {
      if (!entry.isDirectory || entry.name.startsWith(".")) continue;
      const path = join(cacheDir, stage, entry.name, "manifest.json");
      try {
        const mtime = (await Deno.stat(path)).mtime?.getTime() ?? 0;
        if (!best || mtime > best.mtime) {
          best = { mtime, manifest: JSON.parse(await Deno.readTextFile(path)) };
        }
      } catch { /* an unreadable old entry explains nothing */ }
    }
  } catch { /* no folder yet */ }
  return best?.manifest ?? null;
}

/** Keeps the newest few entries and partial attempts of a stage; caches of 61k images are big. */
async function prune(
  cacheDir: string,
  stage: string,
  keep: { entries: number; partials: number },
): Promise<void> {
  const folder = join(cacheDir, stage);
  const found: { path: string; partial: boolean; mtime: number }[] = [];
  for await (const entry of Deno.readDir(folder)) {
    if (!entry.isDirectory) continue;
    const path = join(folder, entry.name);
    const mtime = (await Deno.stat(path)).mtime?.getTime() ?? 0;
    found.push({ path, partial: entry.name.startsWith(".partial-"), mtime });
  }
  for (const partial of [true, false]) {
    const group = found.filter((f) => f.partial === partial).sort((a, b) => b.mtime - a.mtime);
    for (const old of group.slice(partial ? keep.partials : keep.entries)) {
      await Deno.remove(old.path, { recursive: true }).catch(() => {});
    }
  }
}

function formatSeconds(seconds: number): string {
  return seconds >= 60
    ? `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`
    : `${seconds.toFixed(1)}s`;
}

/**
 * Runs `targets` and everything they need. `config.force` names stages to rerun together with
 * everything downstream of them.
 */
export async function runGraph(
  stages: readonly Stage[],
  targets: readonly string[],
  config: Config,
  env: RunnerEnv,
): Promise<GraphResult> {
  const plan = closure(stages, targets);
  const runId = env.now().toISOString();
  const outputs = new Map<string, StageOutput>();
  const statuses: StageStatus[] = [];
  const forced = new Set<string>();
  let backend: BackendInfo | null = null;
  let tfVersion = "";
  const width = Math.max(...plan.map((s) => s.name.length));
  // Source hashes are taken before anything runs: the code this process loaded at startup is the
  // code that runs, and an edit made while a long stage trains must not be credited to its result.
  const sources = new Map<string, string>();
  for (const stage of plan) sources.set(stage.name, await hashModuleSources(stage.module, env.root));

  for (const stage of plan) {
    const forceAll = config.force.includes("all");
    if (
      forceAll || config.force.includes(stage.name) ||
      stage.deps.some((d) => forced.has(d))
    ) forced.add(stage.name);

    const params = stage.params(config);
    const versions: Record<string, string> = {
      deno: Deno.version.deno,
      ...(await stage.versions?.() ?? {}),
    };
    if (stage.usesTf) {
      if (!backend) {
        backend = await env.backend();
        tfVersion = backend.versions["tfjs-core"] ?? "";
      }
      versions["tfjs-core"] = tfVersion;
      versions.backend = backend.name;
      // The convolutions' library changes their rounding (and which algorithm runs).
      const blas = backend.versions.blas;
      if (blas !== undefined) versions.blas = blas.startsWith("none") ? "none" : blas;
    }
    const upstream = Object.fromEntries(
      stage.deps.map((d) => [d, outputs.get(d)!.key]),
    );
    const keyParts: KeyParts = {
      source: sources.get(stage.name)!,
      params,
      upstream,
      fingerprint: (await stage.fingerprint?.(params, env.root)) ?? null,
      versions,
    };
    const key = hashJson({ stage: stage.name, ...keyParts });
    const finalDir = entryDir(env.cacheDir, stage.name, key);
    const label = stage.name.padEnd(width);

    let reason: string | undefined;
    if (forced.has(stage.name)) {
      reason = config.force.includes(stage.name) || forceAll ? "forced" : "forced upstream";
    } else {
      const entry = await readEntry(finalDir, stage.name, key);
      if (!("problem" in entry)) {
        outputs.set(stage.name, { dir: finalDir, key, result: entry.result });
        statuses.push({
          stage: stage.name,
          title: stage.title,
          key,
          status: "reused",
          seconds: entry.seconds,
          createdAt: entry.createdAt,
          runId: entry.runId,
        });
        env.log(`${label}  [reused]  key ${key.slice(0, 10)}`);
        continue;
      }
      if (entry.problem === "missing") {
        const previous = await newestManifest(env.cacheDir, stage.name);
        reason = previous ? describeChange(previous.keyParts, keyParts) : "first run";
      } else {
        reason = `cache entry ignored: ${entry.problem}`;
        env.log(`warning: ${stage.name}: ${reason}; rerunning`);
      }
    }

    env.log(`${label}  [running] ${stage.title} (${reason})`);
    const partial = partialDir(env.cacheDir, stage.name, key);
    if (!stage.resumable) {
      await Deno.remove(partial, { recursive: true }).catch(() => {});
    }
    await Deno.mkdir(partial, { recursive: true });
    const started = performance.now();
    let result: unknown;
    try {
      result = await stage.run({
        params,
        dir: partial,
        input: <R>(name: string) => {
          if (!stage.deps.includes(name)) {
            throw new Error(
              `${stage.name} reads '${name}' but does not declare it in deps`,
            );
          }
          return outputs.get(name)! as StageOutput<R>;
        },
        log: (line) => env.log(`  ${line}`),
        progress: env.progress,
        runId,
        backend: stage.usesTf ? backend : null,
      });
    } catch (error) {
      if (!stage.resumable) {
        await Deno.remove(partial, { recursive: true }).catch(() => {});
      }
      const message = error instanceof Error ? error.message : String(error);
      throw new StageError(
        `${stage.name} (${stage.title}) failed: ${message}`,
        { cause: error },
      );
    }
    const seconds = (performance.now() - started) / 1000;
    const manifest: Manifest = {
      format: 1,
      stage: stage.name,
      key,
      keyParts,
      params,
      versions,
      inputs: upstream,
      files: await recordFiles(partial),
      result: result ?? null,
      createdAt: env.now().toISOString(),
      runId,
      seconds,
    };
    await commitEntry(partial, finalDir, manifest);
    await prune(env.cacheDir, stage.name, { entries: 3, partials: 2 });
    outputs.set(stage.name, { dir: finalDir, key, result: manifest.result });
    statuses.push({
      stage: stage.name,
      title: stage.title,
      key,
      status: "ran",
      seconds,
      createdAt: manifest.createdAt,
      runId,
      reason,
    });
    env.log(
      `${label}  [ran]     ${formatSeconds(seconds)}  key ${key.slice(0, 10)}`,
    );
  }
  return { statuses, outputs, backend, runId };
}
