/**
 * The end of a data re-key (see data-rekey.ts): retiring data keys that no row
 * needs are destroyed, those a row or the field grace period still needs are
 * kept and counted, and the job is finished, all in one transaction.
 */
import { nowIso } from '../clock.js';
import { destroyUnusedRetiringKeys, retiringUserDataKeys } from '../store/data-key-state-rows.js';
import { setMeta } from '../store/meta-rows.js';
import { holdSecretWrites } from '../store/secret-row-counts.js';
import { isUserScope } from '../store/user-scope-filter.js';
import { META } from '../vault/store-meta.js';
import { afterDestroy } from './checkpoint.js';
import type { RekeyRunOptions } from './data-rekey-job.js';
import type { FieldTable } from './field-table.js';
import { finishJob } from './rotation-jobs.js';

/** The scopes of the registered fields (their retiring keys wait for the grace period). */
function fieldScopesOf(fields: readonly FieldTable[]): string[] {
  return [...new Set(fields.map((f) => f.field.scope))];
}

/** Destroys the retiring data keys no row needs; returns their ids. */
export async function finishDataRekey(options: RekeyRunOptions): Promise<string[]> {
  const { db, job, lock, dialect } = options;
  const cp = job.checkpoint;
  if (cp.phase === 'done') return [];
  const destroyed = await db.transaction().execute(async (trx) => {
    await lock.touch(trx);
    let ids: string[] = [];
    // A pass that still found rows on retiring keys means writers keep using
    // them: destroying now could strand a row, so keep them all.
    if (cp.passFound === 0) {
      // Waits for secret writes in flight and holds new ones until commit, so
      // the "no secret references it" check below cannot be overtaken.
      if (dialect === 'postgres') await holdSecretWrites(trx);
      const now = nowIso();
      const graceCutoff = new Date(Date.now() - options.fieldGraceMs).toISOString();
      ids = await destroyUnusedRetiringKeys(trx, isUserScope, {
        graceScopes: fieldScopesOf(options.fields),
        graceCutoff,
        at: now,
      });
      await setMeta(trx, META.keysChangedAt, now);
    }
    const left = await retiringUserDataKeys(trx, isUserScope);
    const end = afterDestroy(job, {
      destroyed: ids.length,
      left,
      fieldScopes: new Set(fieldScopesOf(options.fields)),
      graceMs: options.fieldGraceMs,
      nowMs: Date.now(),
    });
    job.checkpoint = end.checkpoint;
    job.totals = end.totals;
    await finishJob(trx, job.id, 'done', job.checkpoint, job.totals);
    return ids;
  });
  for (const id of destroyed) options.dataKeys.evict(id);
  options.onProgress?.({ phase: 'destroy', done: destroyed.length, total: destroyed.length });
  return destroyed;
}
