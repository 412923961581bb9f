/**
 * Choosing between online and atomic rotation.
 *
 * Atomic mode does everything in one transaction: all or nothing, but writers
 * wait for it (on SQLite the whole database is write-locked for its duration).
 * Online mode commits in batches and keeps serving. With no explicit choice,
 * small work is done atomically — at ≤ 10,000 units it takes well under a second
 * on either dialect (docs/benchmarks.md) — and larger work online.
 */
import { LockboxError } from '../errors.js';

export type RotationMode = 'online' | 'atomic';
export type RotationModeChoice = RotationMode | 'auto';

/** The most rows a data re-key or adoption does atomically in `auto` mode. */
export const AUTO_ATOMIC_MAX_UNITS = 10_000;
/**
 * The most data keys a master rotation rewraps atomically in `auto` mode. A
 * rewrap costs about what a row's re-encryption does, but it touches only
 * lockbox_data_keys, and a store with 10,000 scopes also holds internal keys.
 */
export const AUTO_ATOMIC_MAX_DATA_KEYS = 50_000;

export const DEFAULT_BATCH_SIZE = 1000;
export const MAX_BATCH_SIZE = 10_000;

export interface ModeDecision {
  mode: RotationMode;
  /** Why, in words an operator reads: "atomic: 120 data keys (≤ 10,000)". */
  reason: string;
}

export function chooseMode(
  choice: RotationModeChoice | undefined,
  units: number,
  unitName: string,
  limit: number = AUTO_ATOMIC_MAX_UNITS,
): ModeDecision {
  const amount = `${units.toLocaleString('en-US')} ${unitName}`;
  if (choice === 'atomic' || choice === 'online') {
    return { mode: choice, reason: `${choice}: requested (${amount})` };
  }
  if (choice !== undefined && choice !== 'auto') {
    throw new LockboxError('INVALID_ARGUMENT', 'mode must be "online", "atomic" or "auto"');
  }
  const max = limit.toLocaleString('en-US');
  return units <= limit
    ? { mode: 'atomic', reason: `atomic: ${amount} (≤ ${max}, small enough for one transaction)` }
    : { mode: 'online', reason: `online: ${amount} (> ${max}, done in resumable batches)` };
}

/** Validates a batch size (default 1000). */
export function batchSizeOf(value: number | undefined): number {
  if (value === undefined) return DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(value) || value < 1 || value > MAX_BATCH_SIZE) {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      `batch size must be an integer from 1 to ${MAX_BATCH_SIZE}`,
    );
  }
  return value;
}
