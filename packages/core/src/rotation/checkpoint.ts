/**
 * What a rotation job persists about where it is: a data re-key's checkpoint
 * (phase, pass, cursors) and totals. Saved as JSON in lockbox_rotation_jobs in
 * the transaction of the batch it describes, so a rerun resumes exactly there.
 */
import type { KeyValues } from './field-table.js';

export const MAX_PASSES = 4;
/** Unreadable rows listed by id in the result (the count covers all of them). */
export const MAX_LISTED = 20;

export interface RekeyCheckpoint {
  phase: 'switch' | 'secrets' | 'fields' | 'destroy' | 'done';
  /** 0 = the main pass; 1… = verification passes. */
  pass: number;
  /** The last scope switched to a new data key. */
  scope: string | null;
  /** Rows on a retiring key found in this pass (re-encrypted or rewritten meanwhile). */
  passFound: number;
  /** Rows examined in this pass, for progress. */
  passDone: number;
  secret: [string, string] | null;
  field: string | null;
  /** The last field row done: its key values (a bare value in jobs written before composite keys). */
  row: KeyValues | string | number | null;
}

export interface UnreadableRow {
  /** "lockbox_secrets" or the field's "table.column". */
  where: string;
  /** "scope/name" or the row key ("42", "user_id=42, provider=github"). */
  row: string;
  code: string;
}

export interface RekeyTotals {
  plannedRows: number;
  scopes: number;
  /** Scopes switched to a new data key so far. */
  scopesSwitched: number;
  dataKeysRetired: number;
  dataKeysCreated: number;
  secrets: number;
  /** Rows re-encrypted per field, keyed "table.column". */
  fields: Record<string, number>;
  /** Rows an application rewrote between read and write (left as the application wrote them). */
  conflicts: number;
  unreadable: number;
  unreadableRows: UnreadableRow[];
  dataKeysDestroyed: number;
  /** Retiring keys kept because rows still needed them after the last pass. */
  dataKeysRetained: number;
  /** Retiring keys of field scopes kept because the field grace period has not passed. */
  dataKeysDeferred?: number;
  /** When the last deferred key's grace period ends (ISO-8601), or null. */
  deferredUntil?: string | null;
}

export function initialRekeyCheckpoint(): RekeyCheckpoint {
  return {
    phase: 'switch',
    pass: 0,
    scope: null,
    passFound: 0,
    passDone: 0,
    secret: null,
    field: null,
    row: null,
  };
}
