/**
 * One run at a time per cache folder. The lock is a file created exclusively, holding the owner's
 * pid; a lock whose process is gone (a killed run) is taken over with a warning.
 *
 * @module
 */
import { join } from "node:path";

/** Another live run holds the cache. */
export class CacheBusyError extends Error {
  override name = "CacheBusyError";
}

interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
  command: string;
}

function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    // Without /proc (macOS) we cannot tell; assume alive rather than break a live run's cache.
    try {
      Deno.statSync("/proc/self");
      return false;
    } catch {
      return true;
    }
  }
}

/**
 * Takes the lock of `cacheDir`, or throws {@link CacheBusyError} naming the run that holds it.
 * Returns a release function; the lock also goes when the process exits normally.
 */
export function acquireCacheLock(
  cacheDir: string,
  command: string,
  warn: (line: string) => void,
): () => void {
  Deno.mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, ".lock");
  const info: LockInfo = {
    pid: Deno.pid,
    hostname: Deno.hostname(),
    startedAt: new Date().toISOString(),
    command,
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      Deno.writeTextFileSync(path, JSON.stringify(info), { createNew: true });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        globalThis.removeEventListener("unload", release);
        try {
          Deno.removeSync(path);
        } catch { /* already gone */ }
      };
      globalThis.addEventListener("unload", release);
      return release;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    let holder: LockInfo | null = null;
    try {
      holder = JSON.parse(Deno.readTextFileSync(path));
    } catch { /* unreadable lock: treat as stale */ }
    const sameHost = holder?.hostname === Deno.hostname();
    if (holder && (!sameHost || processAlive(holder.pid))) {
      throw new CacheBusyError(
        `The cache '${cacheDir}' is in use by another run (pid ${holder.pid} on ${holder.hostname}, ` +
          `'${holder.command}', started ${holder.startedAt}). Wait for it to finish, or use another --cache. ` +
          `If that run is gone, delete ${path}.`,
      );
    }
    warn(
      `Taking over a stale cache lock left by pid ${holder?.pid ?? "?"} (that process is gone).`,
    );
    Deno.removeSync(path);
  }
  throw new CacheBusyError(`Could not take the cache lock ${path}`);
}
