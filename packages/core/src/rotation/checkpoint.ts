/**
 * What a rotation job persists about where it is, and how that advances: the
 * checkpoint (phase, pass, cursors) and totals of a master rotation and of a data
 * re-key. Saved as JSON in lockbox_rotation_jobs in the transaction of the batch
 * it describes, so a rerun resumes exactly there.
 *
 * Every transition is a pure function from the state before and what a batch
 * found to the state after (new objects; the input is never changed, and nothing
 * here reads a clock or the database). The batch loops (master-rotation.ts,
 * data-rekey-pass.ts, data-rekey-finish.ts) do the I/O and save what these return,
 * so the rules of where a job goes next are in one place and tested alone
 * (test/rotation/checkpoint.test.ts).
 */
import type { KeyValues } from './field-table.js';

// ---- master rotation

export interface MasterCheckpoint {
  phase: 'rewrap' | 'done';
  /** The last data key id rewrapped (keys are walked in id order). */
  lastId: string | null;
  /** Sweeps restarted from the beginning, for keys created under the old key meanwhile. */
  sweeps: number;
}

export interface MasterTotals {
  /** Live data keys under the old key when the job started. */
  planned: number;
  rewrapped: number;
}

export interface MasterState {
  checkpoint: MasterCheckpoint;
  totals: MasterTotals;
}

/** Sweeps after the first walk; keys still left after them wait for a rerun. */
export const MAX_SWEEPS = 3;

export function initialMasterState(planned: number): MasterState {
  return {
    checkpoint: { phase: 'rewrap', lastId: null, sweeps: 0 },
    totals: { planned, rewrapped: 0 },
  };
}

/** A batch of data keys read after the cursor (`lastId`: the batch's last, in id order), `rewrapped` of them swapped. */
export function afterRewrapBatch(
  state: MasterState,
  batch: { lastId: string; rewrapped: number },
): MasterState {
  return {
    checkpoint: { ...state.checkpoint, lastId: batch.lastId },
    totals: { ...state.totals, rewrapped: state.totals.rewrapped + batch.rewrapped },
  };
}

/** Whether the walk, having reached the end, may count what is left and sweep again. */
export function maySweepAgain(checkpoint: MasterCheckpoint): boolean {
  return checkpoint.sweeps < MAX_SWEEPS;
}

/**
 * After a walk reached the end with `left` live data keys still under the old
 * key: the checkpoint of the next sweep (from the first id), or undefined when
 * none is needed (nothing left) or allowed (MAX_SWEEPS reached).
 */
export function nextSweep(
  checkpoint: MasterCheckpoint,
  left: number,
): MasterCheckpoint | undefined {
  if (left === 0 || !maySweepAgain(checkpoint)) return undefined;
  return { ...checkpoint, sweeps: checkpoint.sweeps + 1, lastId: null };
}

export function masterFinished(checkpoint: MasterCheckpoint): MasterCheckpoint {
  return { ...checkpoint, phase: 'done' };
}

// ---- data re-key

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

/** A re-key that finishes an earlier one: no switch, straight to a verification pass. */
export function finishingRekeyCheckpoint(): RekeyCheckpoint {
  return { ...initialRekeyCheckpoint(), phase: 'secrets', pass: 1 };
}

export function initialRekeyTotals(plannedRows: number, scopes: number): RekeyTotals {
  return {
    plannedRows,
    scopes,
    scopesSwitched: 0,
    dataKeysRetired: 0,
    dataKeysCreated: 0,
    secrets: 0,
    fields: {},
    conflicts: 0,
    unreadable: 0,
    unreadableRows: [],
    dataKeysDestroyed: 0,
    dataKeysRetained: 0,
  };
}

export interface RekeyState {
  checkpoint: RekeyCheckpoint;
  totals: RekeyTotals;
}

/** Whether the walk has nothing left to do before pass `untilPass` (destroy or done reached). */
export function rekeyWalkStops(checkpoint: RekeyCheckpoint, untilPass: number): boolean {
  return (
    checkpoint.phase === 'destroy' || checkpoint.phase === 'done' || checkpoint.pass >= untilPass
  );
}

/** Whether an atomic job still has its switch and main pass to run in the one transaction. */
export function atomicPartPending(checkpoint: RekeyCheckpoint): boolean {
  return checkpoint.pass === 0 && checkpoint.phase !== 'destroy';
}

/** How many passes the job ran (for the audit entry): the main pass and the verifications. */
export function passesRun(checkpoint: RekeyCheckpoint): number {
  return Math.min(checkpoint.pass + 1, MAX_PASSES);
}

export function progressPhase(checkpoint: RekeyCheckpoint): 'verify' | 'fields' | 'secrets' {
  if (checkpoint.pass > 0) return 'verify';
  return checkpoint.phase === 'fields' ? 'fields' : 'secrets';
}

/** A checkpoint's field cursor as key values (older jobs stored a one-column key's bare value). */
export function rowCursor(row: RekeyCheckpoint['row']): KeyValues | null {
  if (row === null) return null;
  return Array.isArray(row) ? row : [String(row)];
}

/**
 * A switch batch: the scopes it switched (in order; none means every scope is
 * done and the walk moves on to the secrets), the active keys it retired and the
 * new keys it created.
 */
export function afterSwitchBatch(
  state: RekeyState,
  batch: { scopes: readonly string[]; retired: number; created: number },
): RekeyState {
  const last = batch.scopes[batch.scopes.length - 1];
  if (last === undefined) {
    return { ...state, checkpoint: { ...state.checkpoint, phase: 'secrets', scope: null } };
  }
  const t = state.totals;
  return {
    checkpoint: { ...state.checkpoint, scope: last },
    totals: {
      ...t,
      dataKeysRetired: t.dataKeysRetired + batch.retired,
      dataKeysCreated: t.dataKeysCreated + batch.created,
      scopesSwitched: t.scopesSwitched + batch.scopes.length,
    },
  };
}

/** What writing one batch of a table did. */
export interface WrittenBatch {
  /** The field's label ("table.column"), or undefined for lockbox_secrets. */
  field: string | undefined;
  /** The last row read: the cursor the next batch starts after. */
  last: [string, string] | KeyValues;
  /** Rows read. */
  read: number;
  /** Rows on a retiring key re-encrypted and offered to the compare-and-swap. */
  written: number;
  /** Of those, rows the compare-and-swap changed (the others an application rewrote meanwhile). */
  swapped: number;
  /** Rows that did not open or re-encrypt, in the order met. */
  unreadable: readonly UnreadableRow[];
}

export function afterBatchWritten(state: RekeyState, batch: WrittenBatch): RekeyState {
  const cp = state.checkpoint;
  const t = state.totals;
  // Counted once, in the main pass; later passes meet the same rows again.
  const counted = cp.pass > 0 ? [] : batch.unreadable;
  const totals: RekeyTotals = {
    ...t,
    conflicts: t.conflicts + batch.written - batch.swapped,
    unreadable: t.unreadable + counted.length,
    unreadableRows: [...t.unreadableRows, ...counted].slice(
      0,
      Math.max(MAX_LISTED, t.unreadableRows.length),
    ),
  };
  const checkpoint: RekeyCheckpoint = {
    ...cp,
    passFound: cp.passFound + batch.written,
    passDone: cp.passDone + batch.read,
  };
  if (batch.field === undefined) {
    totals.secrets = t.secrets + batch.swapped;
    checkpoint.secret = batch.last as [string, string];
  } else {
    totals.fields = { ...t.fields, [batch.field]: (t.fields[batch.field] ?? 0) + batch.swapped };
    checkpoint.row = batch.last as KeyValues;
  }
  return { checkpoint, totals };
}

/**
 * The walk of the fields begins (from the first of `fields`, the registered
 * fields' labels in walk order): after the secrets, or again from the first when
 * the field list changed since the checkpoint was written.
 */
export function toFields(checkpoint: RekeyCheckpoint, fields: readonly string[]): RekeyCheckpoint {
  const first = fields[0];
  if (first === undefined)
    return endPass({ ...checkpoint, phase: 'fields', field: null, row: null });
  return { ...checkpoint, phase: 'fields', field: first, row: null };
}

/**
 * The walk of a table reached its end: the secrets (`field` undefined) or the
 * field `field`. Moves to the next field, or ends the pass after the last.
 */
export function afterTableEnd(
  checkpoint: RekeyCheckpoint,
  field: string | undefined,
  fields: readonly string[],
): RekeyCheckpoint {
  if (field === undefined) return toFields(checkpoint, fields);
  const next = fields[fields.indexOf(field) + 1];
  if (next === undefined) return endPass({ ...checkpoint, field: null, row: null });
  return { ...checkpoint, field: next, row: null };
}

/**
 * After the main pass comes a verification pass; after a verification pass that
 * still found rows on retiring keys, another, up to MAX_PASSES in all; then
 * destroy, which keeps `passFound` (non-zero: keep every retiring key).
 */
function endPass(checkpoint: RekeyCheckpoint): RekeyCheckpoint {
  const again =
    checkpoint.pass === 0 || (checkpoint.passFound > 0 && checkpoint.pass + 1 < MAX_PASSES);
  return {
    ...checkpoint,
    phase: again ? 'secrets' : 'destroy',
    pass: again ? checkpoint.pass + 1 : checkpoint.pass,
    passFound: again ? 0 : checkpoint.passFound,
    passDone: 0,
    secret: null,
    field: null,
    row: null,
  };
}

/** A retiring user data key left after destroy: its scope and when it was switched. */
export interface RetiringKeyLeft {
  scope: string;
  updated_at: string;
}

/**
 * The job's end: `destroyed` keys destroyed, `left` retiring keys kept. A kept
 * key of a field's scope still within the grace period (`graceMs` after its
 * switch, against `nowMs`) is deferred; any other kept key is retained because
 * rows still needed it.
 */
export function afterDestroy(
  state: RekeyState,
  end: {
    destroyed: number;
    left: readonly RetiringKeyLeft[];
    fieldScopes: ReadonlySet<string>;
    graceMs: number;
    nowMs: number;
  },
): RekeyState {
  const deferred = end.left.filter(
    (k) => end.fieldScopes.has(k.scope) && Date.parse(k.updated_at) + end.graceMs > end.nowMs,
  );
  return {
    checkpoint: { ...state.checkpoint, phase: 'done' },
    totals: {
      ...state.totals,
      dataKeysDestroyed: state.totals.dataKeysDestroyed + end.destroyed,
      dataKeysRetained: end.left.length - deferred.length,
      dataKeysDeferred: deferred.length,
      deferredUntil:
        deferred.length === 0
          ? null
          : new Date(
              Math.max(...deferred.map((k) => Date.parse(k.updated_at))) + end.graceMs,
            ).toISOString(),
    },
  };
}
