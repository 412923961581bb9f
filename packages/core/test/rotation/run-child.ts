/** Runs fixtures/rotation-child.mjs (against the built package) and collects what it says. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./fixtures/rotation-child.mjs', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The child's JSON answer (absent when it was killed). */
  answer: { ok: boolean; code?: string; message?: string; result?: unknown } | undefined;
  /** Progress events it printed on stderr. */
  events: Record<string, unknown>[];
  stderr: string;
}

export interface RunningChild {
  process: ChildProcess;
  /** Resolves at the first stderr line for which `test` is true. */
  waitFor(test: (line: Record<string, unknown>) => boolean): Promise<void>;
  done: Promise<ChildOutcome>;
}

export function startChild(args: Record<string, unknown>): RunningChild {
  if (!existsSync(BUILT)) {
    throw new Error('packages/core/dist is missing: run `npx tsc -b` before these tests');
  }
  const child = spawn(process.execPath, [CHILD, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const events: Record<string, unknown>[] = [];
  const waiters: { test: (line: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  let partial = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      events.push(parsed);
      for (const waiter of waiters.splice(0)) {
        if (waiter.test(parsed)) waiter.resolve();
        else waiters.push(waiter);
      }
    }
  });
  const done = new Promise<ChildOutcome>((resolve) => {
    child.on('close', (code, signal) => {
      const last = stdout.trim().split('\n').at(-1);
      let answer: ChildOutcome['answer'];
      try {
        answer = last ? (JSON.parse(last) as ChildOutcome['answer']) : undefined;
      } catch {
        answer = undefined;
      }
      for (const waiter of waiters.splice(0)) waiter.resolve();
      resolve({ code, signal, answer, events, stderr });
    });
  });
  return {
    process: child,
    waitFor: (test) =>
      new Promise<void>((resolve) => {
        if (events.some(test)) resolve();
        else waiters.push({ test, resolve });
      }),
    done,
  };
}

export function runChild(args: Record<string, unknown>): Promise<ChildOutcome> {
  return startChild(args).done;
}
