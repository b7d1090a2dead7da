/**
 * One run at a time per cache folder: an exclusive advisory lock (flock) on `cache/.lock`. The
 * operating system drops it when the holding process ends, however it ends, so a killed run never
 * leaves a stale lock behind. The file also records who holds it, for the refusal message.
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
  startedAt: string;
  command: string;
}

/**
 * Takes the lock of `cacheDir`, or throws {@link CacheBusyError} naming the run that holds it.
 * Returns a release function.
 */
export function acquireCacheLock(cacheDir: string, command: string): () => void {
  Deno.mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, ".lock");
  const file = Deno.openSync(path, { read: true, write: true, create: true });
  if (!file.tryLockSync(true)) {
    file.close();
    let holder: LockInfo | null = null;
    try {
      holder = JSON.parse(Deno.readTextFileSync(path));
    } catch { /* being rewritten by its holder */ }
    const who = holder ? ` (pid ${holder.pid}, '${holder.command}', started ${holder.startedAt})` : "";
    throw new CacheBusyError(
      `The cache '${cacheDir}' is in use by another run${who}. Wait for it to finish, or use another --cache.`,
    );
  }
  const info: LockInfo = { pid: Deno.pid, startedAt: new Date().toISOString(), command };
  file.truncateSync(0);
  file.writeSync(new TextEncoder().encode(JSON.stringify(info)));
  let released = false;
  return () => {
    if (released) return;
    released = true;
    file.unlockSync();
    file.close();
  };
}
