/**
 * The checkpoint transitions alone: every next state asserted whole, so a
 * changed rule (a pass too many, a cursor not reset, a count off by one) fails
 * here before any database is involved.
 */
import { describe, expect, it } from 'vitest';
import {
  afterBatchWritten,
  afterDestroy,
  afterRewrapBatch,
  afterSwitchBatch,
  afterTableEnd,
  atomicPartPending,
  finishingRekeyCheckpoint,
  initialMasterState,
  initialRekeyCheckpoint,
  initialRekeyTotals,
  MAX_LISTED,
  MAX_PASSES,
  MAX_SWEEPS,
  type MasterCheckpoint,
  masterFinished,
  maySweepAgain,
  nextSweep,
  passesRun,
  progressPhase,
  type RekeyCheckpoint,
  type RekeyState,
  rekeyWalkStops,
  rowCursor,
  toFields,
  type UnreadableRow,
} from '../../src/rotation/checkpoint.js';

const FIELDS = ['users.email', 'users.phone'];

function rekeyState(checkpoint: Partial<RekeyCheckpoint> = {}): RekeyState {
  return {
    checkpoint: { ...initialRekeyCheckpoint(), ...checkpoint },
    totals: initialRekeyTotals(10, 3),
  };
}

/** Deep-frozen, so a transition that changed its input throws. */
function frozen<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) frozen(v);
    Object.freeze(value);
  }
  return value;
}

describe('master rotation checkpoint', () => {
  it('starts at the first data key with nothing rewrapped', () => {
    expect(initialMasterState(7)).toEqual({
      checkpoint: { phase: 'rewrap', lastId: null, sweeps: 0 },
      totals: { planned: 7, rewrapped: 0 },
    });
  });

  it('moves the cursor to the batch’s last id and adds what the swap changed', () => {
    const state = frozen({
      checkpoint: { phase: 'rewrap' as const, lastId: 'aa', sweeps: 1 },
      totals: { planned: 7, rewrapped: 2 },
    });
    expect(afterRewrapBatch(state, { lastId: 'cc', rewrapped: 1 })).toEqual({
      checkpoint: { phase: 'rewrap', lastId: 'cc', sweeps: 1 },
      totals: { planned: 7, rewrapped: 3 },
    });
  });

  it('sweeps again from the first id while keys are left, up to MAX_SWEEPS', () => {
    const at = (sweeps: number): MasterCheckpoint =>
      frozen({ phase: 'rewrap', lastId: 'ff', sweeps });
    expect(nextSweep(at(0), 2)).toEqual({ phase: 'rewrap', lastId: null, sweeps: 1 });
    expect(nextSweep(at(MAX_SWEEPS - 1), 1)).toEqual({
      phase: 'rewrap',
      lastId: null,
      sweeps: MAX_SWEEPS,
    });
    expect(maySweepAgain(at(MAX_SWEEPS - 1))).toBe(true);
    expect(maySweepAgain(at(MAX_SWEEPS))).toBe(false);
    expect(nextSweep(at(MAX_SWEEPS), 1)).toBeUndefined();
  });

  it('needs no sweep when no key is left under the old key', () => {
    expect(nextSweep({ phase: 'rewrap', lastId: 'ff', sweeps: 0 }, 0)).toBeUndefined();
  });

  it('finishes keeping the cursor and sweep count', () => {
    expect(masterFinished(frozen({ phase: 'rewrap', lastId: 'ff', sweeps: 2 }))).toEqual({
      phase: 'done',
      lastId: 'ff',
      sweeps: 2,
    });
  });
});

describe('data re-key checkpoint: start and switch', () => {
  it('a new re-key starts at the switch; finishing one starts at a verification pass', () => {
    expect(initialRekeyCheckpoint()).toEqual({
      phase: 'switch',
      pass: 0,
      scope: null,
      passFound: 0,
      passDone: 0,
      secret: null,
      field: null,
      row: null,
    });
    expect(finishingRekeyCheckpoint()).toEqual({
      ...initialRekeyCheckpoint(),
      phase: 'secrets',
      pass: 1,
    });
    expect(initialRekeyTotals(10, 3)).toEqual({
      plannedRows: 10,
      scopes: 3,
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
    });
  });

  it('a switch batch moves the scope cursor to its last scope and counts keys', () => {
    const next = afterSwitchBatch(frozen(rekeyState()), {
      scopes: ['a', 'b'],
      retired: 2,
      created: 1,
    });
    expect(next.checkpoint).toEqual({ ...initialRekeyCheckpoint(), scope: 'b' });
    expect(next.totals).toEqual({
      ...initialRekeyTotals(10, 3),
      scopesSwitched: 2,
      dataKeysRetired: 2,
      dataKeysCreated: 1,
    });
  });

  it('an empty switch batch ends the switch: the secrets walk of pass 0 begins', () => {
    const state = frozen(rekeyState({ scope: 'c' }));
    expect(afterSwitchBatch(state, { scopes: [], retired: 0, created: 0 })).toEqual({
      checkpoint: { ...initialRekeyCheckpoint(), phase: 'secrets', scope: null },
      totals: state.totals,
    });
  });
});

describe('data re-key checkpoint: batches', () => {
  const row = (n: number): UnreadableRow => ({
    where: 'lockbox_secrets',
    row: `s/${n}`,
    code: 'X',
  });

  it('a secrets batch moves the secret cursor and counts swaps, conflicts and rows', () => {
    const state = frozen(rekeyState({ phase: 'secrets', passFound: 1, passDone: 4 }));
    const next = afterBatchWritten(state, {
      field: undefined,
      last: ['s', 'n9'],
      read: 5,
      written: 3,
      swapped: 2,
      unreadable: [row(1)],
    });
    expect(next.checkpoint).toEqual({
      ...state.checkpoint,
      secret: ['s', 'n9'],
      passFound: 4,
      passDone: 9,
    });
    expect(next.totals).toEqual({
      ...state.totals,
      secrets: 2,
      conflicts: 1,
      unreadable: 1,
      unreadableRows: [row(1)],
    });
  });

  it('a field batch moves the row cursor and counts per field', () => {
    const state = frozen({
      ...rekeyState({ phase: 'fields', field: 'users.email' }),
      totals: { ...initialRekeyTotals(10, 3), fields: { 'users.email': 2 } },
    });
    const next = afterBatchWritten(state, {
      field: 'users.email',
      last: ['42'],
      read: 2,
      written: 2,
      swapped: 2,
      unreadable: [],
    });
    expect(next.checkpoint).toEqual({
      ...state.checkpoint,
      row: ['42'],
      passFound: 2,
      passDone: 2,
    });
    expect(next.totals.fields).toEqual({ 'users.email': 4 });
    expect(next.totals.secrets).toBe(0);
    expect(next.totals.conflicts).toBe(0);
  });

  it('lists at most MAX_LISTED unreadable rows but counts all of them', () => {
    const many = Array.from({ length: MAX_LISTED + 5 }, (_, i) => row(i));
    const next = afterBatchWritten(frozen(rekeyState({ phase: 'secrets' })), {
      field: undefined,
      last: ['s', 'z'],
      read: many.length,
      written: 0,
      swapped: 0,
      unreadable: many,
    });
    expect(next.totals.unreadable).toBe(MAX_LISTED + 5);
    expect(next.totals.unreadableRows).toEqual(many.slice(0, MAX_LISTED));
  });

  it('a verification pass does not count unreadable rows again', () => {
    const state = frozen(rekeyState({ phase: 'secrets', pass: 1 }));
    const next = afterBatchWritten(state, {
      field: undefined,
      last: ['s', 'z'],
      read: 1,
      written: 0,
      swapped: 0,
      unreadable: [row(1)],
    });
    expect(next.totals.unreadable).toBe(0);
    expect(next.totals.unreadableRows).toEqual([]);
  });
});

describe('data re-key checkpoint: ends of tables and passes', () => {
  it('after the secrets come the fields, from the first', () => {
    const cp = frozen(
      rekeyState({ phase: 'secrets', secret: ['s', 'z'], passFound: 3 }),
    ).checkpoint;
    expect(afterTableEnd(cp, undefined, FIELDS)).toEqual({
      ...cp,
      phase: 'fields',
      field: 'users.email',
      row: null,
    });
  });

  it('after a field comes the next field, its row cursor reset', () => {
    const cp = frozen(rekeyState({ phase: 'fields', field: 'users.email', row: ['9'] })).checkpoint;
    expect(afterTableEnd(cp, 'users.email', FIELDS)).toEqual({
      ...cp,
      field: 'users.phone',
      row: null,
    });
  });

  it('after the main pass’s last field comes verification pass 1, even when it found nothing', () => {
    const cp = frozen(
      rekeyState({
        phase: 'fields',
        field: 'users.phone',
        row: ['9'],
        passDone: 7,
        secret: ['s', 'z'],
      }),
    ).checkpoint;
    expect(afterTableEnd(cp, 'users.phone', FIELDS)).toEqual({
      ...initialRekeyCheckpoint(),
      phase: 'secrets',
      pass: 1,
    });
  });

  it('with no fields, the secrets’ end ends the pass', () => {
    const cp = frozen(
      rekeyState({ phase: 'secrets', secret: ['s', 'z'], passFound: 2 }),
    ).checkpoint;
    expect(afterTableEnd(cp, undefined, [])).toEqual({
      ...initialRekeyCheckpoint(),
      phase: 'secrets',
      pass: 1,
    });
  });

  it('a verification pass that found rows needs another, up to MAX_PASSES passes in all', () => {
    for (let pass = 1; pass < MAX_PASSES - 1; pass++) {
      const cp = frozen(rekeyState({ phase: 'secrets', pass, passFound: 2 })).checkpoint;
      expect(afterTableEnd(cp, undefined, [])).toEqual({
        ...initialRekeyCheckpoint(),
        phase: 'secrets',
        pass: pass + 1,
      });
    }
  });

  it('the last allowed pass that still found rows goes to destroy keeping passFound', () => {
    const cp = frozen(
      rekeyState({ phase: 'secrets', pass: MAX_PASSES - 1, passFound: 2, passDone: 5 }),
    ).checkpoint;
    expect(afterTableEnd(cp, undefined, [])).toEqual({
      ...initialRekeyCheckpoint(),
      phase: 'destroy',
      pass: MAX_PASSES - 1,
      passFound: 2,
    });
  });

  it('a verification pass that found nothing goes to destroy', () => {
    const cp = frozen(
      rekeyState({ phase: 'fields', pass: 1, field: 'users.phone', passDone: 5 }),
    ).checkpoint;
    expect(afterTableEnd(cp, 'users.phone', FIELDS)).toEqual({
      ...initialRekeyCheckpoint(),
      phase: 'destroy',
      pass: 1,
    });
  });

  it('toFields restarts the field walk (a changed field list, or secrets skipped)', () => {
    const cp = frozen(
      rekeyState({ phase: 'fields', pass: 1, field: 'gone.column', row: ['3'] }),
    ).checkpoint;
    expect(toFields(cp, FIELDS)).toEqual({ ...cp, field: 'users.email', row: null });
    expect(toFields(cp, [])).toEqual({ ...initialRekeyCheckpoint(), phase: 'destroy', pass: 1 });
  });
});

describe('data re-key checkpoint: resuming and reporting', () => {
  it('the walk stops at destroy, done, or the pass it was asked to stop before', () => {
    expect(rekeyWalkStops(initialRekeyCheckpoint(), 1)).toBe(false);
    expect(rekeyWalkStops({ ...initialRekeyCheckpoint(), phase: 'secrets', pass: 1 }, 1)).toBe(
      true,
    );
    expect(
      rekeyWalkStops({ ...initialRekeyCheckpoint(), phase: 'secrets', pass: 1 }, MAX_PASSES),
    ).toBe(false);
    expect(rekeyWalkStops({ ...initialRekeyCheckpoint(), phase: 'destroy' }, MAX_PASSES)).toBe(
      true,
    );
    expect(rekeyWalkStops({ ...initialRekeyCheckpoint(), phase: 'done' }, MAX_PASSES)).toBe(true);
  });

  it('an atomic job resumed after its main pass runs no atomic part again', () => {
    expect(atomicPartPending(initialRekeyCheckpoint())).toBe(true);
    expect(atomicPartPending({ ...initialRekeyCheckpoint(), phase: 'fields' })).toBe(true);
    expect(atomicPartPending({ ...initialRekeyCheckpoint(), phase: 'destroy' })).toBe(false);
    expect(atomicPartPending({ ...initialRekeyCheckpoint(), phase: 'secrets', pass: 1 })).toBe(
      false,
    );
  });

  it('reads a field cursor stored by a job from before composite keys (a bare value)', () => {
    expect(rowCursor(null)).toBeNull();
    expect(rowCursor(42)).toEqual(['42']);
    expect(rowCursor('abc')).toEqual(['abc']);
    expect(rowCursor(['1', 'github'])).toEqual(['1', 'github']);
  });

  it('counts passes for the audit entry, never more than MAX_PASSES', () => {
    expect(passesRun({ ...initialRekeyCheckpoint(), phase: 'done', pass: 1 })).toBe(2);
    expect(passesRun({ ...initialRekeyCheckpoint(), phase: 'done', pass: MAX_PASSES })).toBe(
      MAX_PASSES,
    );
  });

  it('reports the main pass by table and any later pass as verify', () => {
    expect(progressPhase({ ...initialRekeyCheckpoint(), phase: 'secrets' })).toBe('secrets');
    expect(progressPhase({ ...initialRekeyCheckpoint(), phase: 'fields' })).toBe('fields');
    expect(progressPhase({ ...initialRekeyCheckpoint(), phase: 'fields', pass: 2 })).toBe('verify');
  });
});

describe('data re-key checkpoint: destroy', () => {
  const now = Date.parse('2026-01-01T12:00:00.000Z');
  const hour = 3_600_000;

  it('counts destroyed keys, keeps rows-needed keys as retained and young field keys as deferred', () => {
    const state = frozen({
      ...rekeyState({ phase: 'destroy', pass: 1 }),
      totals: { ...initialRekeyTotals(10, 3), dataKeysDestroyed: 1 },
    });
    const next = afterDestroy(state, {
      destroyed: 2,
      left: [
        { scope: 'app', updated_at: '2026-01-01T11:00:00.000Z' },
        { scope: 'fields', updated_at: '2026-01-01T11:30:00.000Z' },
        { scope: 'fields', updated_at: '2026-01-01T11:45:00.000Z' },
        { scope: 'fields', updated_at: '2026-01-01T09:00:00.000Z' },
      ],
      fieldScopes: new Set(['fields']),
      graceMs: hour,
      nowMs: now,
    });
    expect(next.checkpoint).toEqual({ ...state.checkpoint, phase: 'done' });
    expect(next.totals).toEqual({
      ...state.totals,
      dataKeysDestroyed: 3,
      dataKeysRetained: 2,
      dataKeysDeferred: 2,
      deferredUntil: '2026-01-01T12:45:00.000Z',
    });
  });

  it('with nothing left, nothing is retained or deferred', () => {
    const next = afterDestroy(frozen(rekeyState({ phase: 'destroy', pass: 1 })), {
      destroyed: 0,
      left: [],
      fieldScopes: new Set(),
      graceMs: hour,
      nowMs: now,
    });
    expect(next.totals).toMatchObject({
      dataKeysDestroyed: 0,
      dataKeysRetained: 0,
      dataKeysDeferred: 0,
      deferredUntil: null,
    });
  });
});
