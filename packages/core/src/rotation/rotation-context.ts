/**
 * What Rotation's entry points (master-rotation-entry.ts, data-rekey-entry.ts,
 * adoption-entry.ts, job-control.ts) share: the vault they rotate, where their
 * audit entries go, and the cross-process rotation lock every writing one holds.
 */
import type { AuditSink } from '../vault/audit-sink.js';
import type { Vault } from '../vault/lockbox.js';
import { type RotationLockHandle, withRotationLock } from './rotation-lock.js';

export interface RotationContext {
  readonly vault: Vault;
  readonly audit: AuditSink | undefined;
  /**
   * Runs `run` under the rotation lock, its row labelled `label`; what it
   * committed is made durable (`Store.durable`) before the lock is released and
   * the result reported, since an operator acts on that result outside the
   * database (renames key files, deletes the old key).
   */
  locked<T>(label: string, run: (lock: RotationLockHandle) => Promise<T>): Promise<T>;
}

export function rotationContext(vault: Vault, audit: AuditSink | undefined): RotationContext {
  return {
    vault,
    audit,
    locked: (label, run) =>
      withRotationLock(
        vault.store,
        vault.storeId,
        async (lock) => {
          const result = await run(lock);
          await vault.store.durable();
          return result;
        },
        label,
      ),
  };
}
