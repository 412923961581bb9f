/** The Overview's backup warning names both ways out of "not backed up". */
import { describe, expect, it } from 'vitest';
import { backupReasons } from '../src/lib/backup-reasons.js';

describe('backupReasons', () => {
  it('gives no reasons for a backed-up store', () => {
    expect(backupReasons({ state: 'ok', reasons: [], dataKeysWithoutRecovery: 0 })).toEqual([]);
  });

  it('names a missing recovery key and a missing export on a fresh store', () => {
    expect(
      backupReasons({ state: 'not-backed-up', reasons: ['x'], dataKeysWithoutRecovery: 2 }),
    ).toEqual([{ key: 'overview.backupNoRecovery' }, { key: 'overview.backupNoExport' }]);
  });

  it('counts uncovered data keys and calls an export older than the last key change stale', () => {
    expect(
      backupReasons({
        state: 'not-backed-up',
        reasons: [],
        recoveryRecipient: 'age1xyz',
        dataKeysWithoutRecovery: 3,
        lastExportAt: '2025-01-01T00:00:00Z',
        keysChangedAt: '2025-02-01T00:00:00Z',
      }),
    ).toEqual([
      { key: 'overview.backupUncovered', count: 3 },
      { key: 'overview.backupStaleExport' },
    ]);
  });
});
