import assert from "node:assert/strict";
import { join } from "node:path";
import { closure, runGraph } from "../pipeline/runner.ts";
import { entryDir } from "../pipeline/cache.ts";
import { acquireCacheLock, CacheBusyError } from "../pipeline/lock.ts";
import { hashModuleSources } from "../pipeline/hash.ts";
import { chain, config, quietEnv } from "./_fake_stages.ts";

async function withCache(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "gz-runner-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a second run reuses every stage", () =>
  withCache(async (cache) => {
    const ran: string[] = [];
    await runGraph(chain(ran), ["c"], config(), quietEnv(cache));
    assert.deepEqual(ran, ["a", "b", "c"]);
    const second = await runGraph(chain(ran), ["c"], config(), quietEnv(cache));
    assert.deepEqual(ran, ["a", "b", "c"]);
    assert.deepEqual(second.statuses.map((s) => s.status), ["reused", "reused", "reused"]);
    assert.equal(
      second.outputs.get("c")!.result && (second.outputs.get("c")!.result as { total: number }).total,
      42 + 6 + 64,
    );
  }));

Deno.test("a param change reruns that stage and everything downstream, nothing upstream", () =>
  withCache(async (cache) => {
    const ran: string[] = [];
    await runGraph(chain(ran), ["c"], config(), quietEnv(cache));
    ran.length = 0;
    const logs: string[] = [];
    const result = await runGraph(chain(ran), ["c"], config({ epochs: 3 }), quietEnv(cache, logs));
    assert.deepEqual(ran, ["b", "c"]);
    assert.equal(result.statuses.find((s) => s.stage === "b")!.reason, "value 6 -> 3");
    assert.equal(result.statuses.find((s) => s.stage === "c")!.reason, "b changed");
    // Changing the param back finds the earlier entries again.
    ran.length = 0;
    await runGraph(chain(ran), ["c"], config(), quietEnv(cache));
    assert.deepEqual(ran, []);
  }));

Deno.test("--force reruns the named stage and everything downstream", () =>
  withCache(async (cache) => {
    const ran: string[] = [];
    await runGraph(chain(ran), ["c"], config(), quietEnv(cache));
    ran.length = 0;
    await runGraph(chain(ran), ["c"], config({ force: ["b"] }), quietEnv(cache));
    assert.deepEqual(ran, ["b", "c"]);
    ran.length = 0;
    await runGraph(chain(ran), ["c"], config({ force: ["all"] }), quietEnv(cache));
    assert.deepEqual(ran, ["a", "b", "c"]);
  }));

Deno.test("a target runs only what it needs", () => {
  assert.deepEqual(closure(chain([]), ["b"]).map((s) => s.name), ["a", "b"]);
});

Deno.test("a failing stage leaves no entry and the next run retries it", () =>
  withCache(async (cache) => {
    const ran: string[] = [];
    await assert.rejects(
      runGraph(chain(ran, { failIn: "b" }), ["c"], config(), quietEnv(cache)),
      /b \(fake b\) failed: b exploded/,
    );
    const entries = [...Deno.readDirSync(join(cache, "b"))].map((e) => e.name);
    assert.deepEqual(entries, []);
    ran.length = 0;
    await runGraph(chain(ran), ["c"], config(), quietEnv(cache));
    assert.deepEqual(ran, ["b", "c"]);
  }));

Deno.test("a corrupted manifest or a changed output file reruns the stage with a warning", () =>
  withCache(async (cache) => {
    const ran: string[] = [];
    const first = await runGraph(chain(ran), ["c"], config(), quietEnv(cache));
    const bDir = entryDir(cache, "b", first.outputs.get("b")!.key);
    await Deno.writeTextFile(join(bDir, "manifest.json"), "{ not json");
    ran.length = 0;
    const logs: string[] = [];
    await runGraph(chain(ran), ["c"], config(), quietEnv(cache, logs));
    assert.deepEqual(ran, ["b"], "c's key did not change, so only b reruns");
    assert.ok(logs.some((l) => l.startsWith("warning: b:") && l.includes("does not parse")), logs.join("\n"));

    await Deno.writeTextFile(join(bDir, "out.txt"), "b=9"); // same size, other content
    ran.length = 0;
    logs.length = 0;
    await runGraph(chain(ran), ["c"], config(), quietEnv(cache, logs));
    assert.deepEqual(ran, ["b"]);
    assert.ok(logs.some((l) => l.includes("out.txt changed since it was written")), logs.join("\n"));

    await Deno.remove(join(bDir, "out.txt"));
    ran.length = 0;
    await runGraph(chain(ran), ["c"], config(), quietEnv(cache, logs));
    assert.deepEqual(ran, ["b"]);
  }));

Deno.test("a run killed mid-stage leaves nothing that reads as complete, and its lock goes with it", () =>
  withCache(async (cache) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-sys",
        join(import.meta.dirname!, "fixtures", "hold_stage.ts"),
        cache,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /holding/);

    // While it runs, a second run on the same cache is refused with a clear message.
    assert.throws(() => acquireCacheLock(cache, "test"), (e: Error) => {
      assert.ok(e instanceof CacheBusyError);
      assert.match(e.message, /in use by another run \(pid \d+/);
      return true;
    });

    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    const names = [...Deno.readDirSync(join(cache, "a"))].map((e) => e.name);
    assert.deepEqual(names.filter((n) => !n.startsWith(".partial-")), [], "no committed entry");

    // The lock died with its process.
    acquireCacheLock(cache, "test")();
    const ran: string[] = [];
    await runGraph(chain(ran), ["a"], config(), quietEnv(cache));
    assert.deepEqual(ran, ["a"]);
  }));

Deno.test("a stage's key follows the source of the local modules it imports", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gz-src-" });
  try {
    await Deno.writeTextFile(join(dir, "helper.ts"), "export const x = 1;\n");
    await Deno.writeTextFile(
      join(dir, "stage.ts"),
      '// import "./not_a_real_edge.ts" in a comment\nimport { x } from "./helper.ts";\nexport default x;\n',
    );
    const before = await hashModuleSources(join(dir, "stage.ts"), dir);
    assert.equal(await hashModuleSources(join(dir, "stage.ts"), dir), before);
    await Deno.writeTextFile(join(dir, "helper.ts"), "export const x = 2;\n");
    assert.notEqual(await hashModuleSources(join(dir, "stage.ts"), dir), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the runner's own modules don't enter stage keys; the stage's do", async () => {
  const root = await Deno.makeTempDir({ prefix: "gz-root-" });
  try {
    await Deno.mkdir(join(root, "pipeline"));
    await Deno.mkdir(join(root, "steps"));
    await Deno.writeTextFile(join(root, "pipeline", "config.ts"), "export const flags = 1;\n");
    await Deno.writeTextFile(join(root, "steps", "helper.ts"), "export const y = 1;\n");
    await Deno.writeTextFile(
      join(root, "steps", "stage.ts"),
      'import type { flags } from "../pipeline/config.ts";\nimport { y } from "./helper.ts";\nexport default y;\n',
    );
    const entry = join(root, "steps", "stage.ts");
    const before = await hashModuleSources(entry, root);
    await Deno.writeTextFile(join(root, "pipeline", "config.ts"), "export const flags = 2;\n");
    assert.equal(await hashModuleSources(entry, root), before);
    await Deno.writeTextFile(join(root, "steps", "helper.ts"), "export const y = 2;\n");
    assert.notEqual(await hashModuleSources(entry, root), before);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
