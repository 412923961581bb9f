/**
 * A progress bar for long work (rotation, export), drawn on stderr and only when
 * stderr is a terminal: piped or logged output gets no control characters, and
 * stdout (results, --json) is never touched.
 */
export interface Progress {
  /** Reports `done` of `total` units (total may change, e.g. as a job discovers rows). */
  update(done: number, total?: number): void;
  /** Clears the bar; call once when the work ends (successfully or not). */
  finish(): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  stream?: NodeJS.WriteStream;
  /** Draw even when the stream is not a TTY (tests). Default: only on a TTY. */
  force?: boolean;
}

const WIDTH = 30;
const MIN_REDRAW_MS = 100;

const SILENT: Progress = { update: () => undefined, finish: () => undefined };

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.force !== true && stream.isTTY !== true) return SILENT;
  let total = options.total;
  let lastDraw = 0;
  let drawn = false;
  const draw = (done: number) => {
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(fraction * WIDTH);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}`;
    const percent = Math.floor(fraction * 100)
      .toString()
      .padStart(3);
    stream.write(`\r${options.label} [${bar}] ${percent}% ${done}/${total}`);
    drawn = true;
  };
  return {
    update(done, newTotal) {
      if (newTotal !== undefined) total = newTotal;
      const now = Date.now();
      if (now - lastDraw < MIN_REDRAW_MS && done < total) return;
      lastDraw = now;
      draw(done);
    },
    finish() {
      // Erase the line so the next message starts clean.
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}

/** Runs `work` with `progress`, which is finished however the work ends. */
export async function finishing<P extends { finish(): void }, T>(
  progress: P,
  work: (progress: P) => Promise<T>,
): Promise<T> {
  try {
    return await work(progress);
  } finally {
    progress.finish();
  }
}

/** Runs `work` with a new bar (createProgress), cleared however the work ends. */
export function withProgress<T>(
  options: ProgressOptions,
  work: (progress: Progress) => Promise<T>,
): Promise<T> {
  return finishing(createProgress(options), work);
}
