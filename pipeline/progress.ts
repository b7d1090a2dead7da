/**
 * Progress reporting for long work: a bar with ETA on a terminal (cli-progress), plain periodic
 * lines when output goes to a file or CI log, nothing in tests.
 *
 * @module
 */
// @ts-types="@types/cli-progress"
import cliProgress from "cli-progress";
import process from "node:process";

/** A unit of long work being counted. */
export interface Progress {
  /** Moves to `done` items; `detail` shows extra live figures (loss, images/s). */
  update(done: number, detail?: string): void;
  stop(): void;
}

/** Makes a {@link Progress} for a labelled piece of work of `total` items. */
export type ProgressFactory = (label: string, total: number) => Progress;

/** Discards everything: for tests. */
export const silentProgress: ProgressFactory = () => ({
  update() {},
  stop() {},
});

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`
    : s >= 60
    ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
    : `${s}s`;
}

/** Lines like `preprocess  1200/61578 (2%)  eta 2m10s` at most every `everySeconds`. */
export function lineProgress(
  write: (line: string) => void,
  everySeconds = 10,
): ProgressFactory {
  return (label, total) => {
    const start = performance.now();
    let last = start;
    let latest = 0;
    let latestDetail = "";
    const line = (done: number) => {
      const elapsed = (performance.now() - start) / 1000;
      const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
      const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
      write(
        `  ${label}  ${done}/${total} (${pct}%)  ${formatSeconds(elapsed)} elapsed, eta ${
          formatSeconds(eta)
        }${latestDetail ? "  " + latestDetail : ""}`,
      );
    };
    return {
      update(done, detail) {
        latest = done;
        if (detail !== undefined) latestDetail = detail;
        const now = performance.now();
        if (now - last >= everySeconds * 1000) {
          last = now;
          line(done);
        }
      },
      stop() {
        line(latest);
      },
    };
  };
}

/** A cli-progress bar on stderr. */
export function barProgress(): ProgressFactory {
  return (label, total) => {
    const bar = new cliProgress.SingleBar({
      format: `  ${label} [{bar}] {value}/{total} {percentage}% | eta {eta_formatted} {detail}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    }, cliProgress.Presets.shades_classic);
    bar.start(total, 0, { detail: "" });
    return {
      update(done, detail) {
        bar.update(done, detail === undefined ? undefined : { detail });
      },
      stop() {
        bar.stop();
      },
    };
  };
}

/** A bar on a terminal, periodic lines otherwise. */
export function defaultProgress(
  write: (line: string) => void,
): ProgressFactory {
  return Deno.stderr.isTerminal() ? barProgress() : lineProgress(write);
}
