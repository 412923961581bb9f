/**
 * What the `lockbox rotate` commands share: the mode flags (--atomic, --online,
 * --batch-size, --dry-run), the progress bar on stderr, and the warnings a data
 * re-key prints.
 */
import {
  type DataRekeyResult,
  LockboxError,
  type ProgressListener,
  type RotationModeChoice,
} from '@lockbox/core';
import type { Command } from 'commander';
import type { Invocation } from '../context.js';
import { createProgress, type Progress } from '../progress.js';
import { plural } from './rotate-report.js';

export interface ModeFlags {
  atomic?: boolean;
  online?: boolean;
  batchSize?: string;
  dryRun?: boolean;
}

export function modeOf(flags: ModeFlags): RotationModeChoice {
  if (flags.atomic === true && flags.online === true) {
    throw new LockboxError('INVALID_ARGUMENT', 'give --atomic or --online, not both');
  }
  return flags.atomic === true ? 'atomic' : flags.online === true ? 'online' : 'auto';
}

export function batchSizeOf(flags: ModeFlags): { batchSize?: number } {
  if (flags.batchSize === undefined) return {};
  const value = Number(flags.batchSize);
  if (!/^\d+$/.test(flags.batchSize) || !Number.isSafeInteger(value)) {
    throw new LockboxError('INVALID_ARGUMENT', '--batch-size must be a positive integer');
  }
  return { batchSize: value };
}

export function withModeFlags(command: Command): Command {
  return command
    .option('--atomic', 'one transaction: all or nothing (writers wait for it)')
    .option('--online', 'resumable batches, each its own transaction; the store keeps serving')
    .option('--batch-size <n>', 'rows or data keys per batch (default 1000)')
    .option('--dry-run', 'prove the keys and count the work; change nothing');
}

/** A progress bar per phase, on stderr when it is a terminal. */
export function progressFor(invocation: Invocation): {
  onProgress: ProgressListener;
  finish(): void;
} {
  let bar: Progress | undefined;
  let label = '';
  return {
    onProgress: (event) => {
      const next = event.table === undefined ? event.phase : `${event.phase} ${event.table}`;
      if (next !== label) {
        bar?.finish();
        label = next;
        bar = createProgress({ label, total: event.total, stream: invocation.io.stderr });
      }
      bar?.update(event.done, event.total);
    },
    finish: () => bar?.finish(),
  };
}

/** `rotate data` flags beyond the mode flags. */
export interface DataFlags extends ModeFlags {
  fieldGrace?: string;
  finish?: boolean;
}

/** --field-grace SECONDS as fieldGraceMs; throws INVALID_ARGUMENT. */
export function fieldGraceOf(flags: DataFlags): { fieldGraceMs?: number } {
  if (flags.fieldGrace === undefined) return {};
  if (!/^\d+$/.test(flags.fieldGrace) || !Number.isSafeInteger(Number(flags.fieldGrace) * 1000)) {
    throw new LockboxError('INVALID_ARGUMENT', '--field-grace must be a whole number of seconds');
  }
  return { fieldGraceMs: Number(flags.fieldGrace) * 1000 };
}

export function warnData(invocation: Invocation, result: DataRekeyResult): void {
  if (result.dataKeys.deferred > 0) {
    invocation.output.note(
      `${plural(result.dataKeys.deferred, 'old data key')} of field scopes kept until ${result.deferredUntil} (the field grace period), for values the application encrypted before the switch and stores later; after that time run \`lockbox rotate data --finish\` to re-encrypt them and destroy the old keys`,
    );
  }
  if (result.unreadable > 0) {
    invocation.output.warn(
      `${plural(result.unreadable, 'row')} could not be decrypted and were left as they were: ${result.unreadableRows.map((r) => `${r.where} ${r.row} (${r.code})`).join(', ')}`,
    );
  }
  if (result.dataKeys.retained > 0) {
    invocation.output.warn(
      `${plural(result.dataKeys.retained, 'old data key')} kept because rows still need them; run \`lockbox doctor\`, then \`lockbox rotate data\` again`,
    );
  }
}
