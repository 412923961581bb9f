/** What a data re-key run works on: its job and everything the walk and the finish need. */
import type { Kysely } from 'kysely';
import type { DialectName } from '../store/connect.js';
import type { LockboxSchema } from '../store/schema.js';
import type { DataKeys } from '../vault/data-keys.js';
import type { RekeyCheckpoint, RekeyTotals } from './checkpoint.js';
import type { FieldTable } from './field-table.js';
import type { RotationJob } from './rotation-jobs.js';
import type { RotationLockHandle } from './rotation-lock.js';
import type { ProgressListener } from './rotation-progress.js';

type Db = Kysely<LockboxSchema>;

export type RekeyJob = RotationJob<RekeyCheckpoint, RekeyTotals>;

export interface RekeyRunOptions {
  db: Db;
  dialect: DialectName;
  dataKeys: DataKeys;
  job: RekeyJob;
  fields: readonly FieldTable[];
  lock: RotationLockHandle;
  batchSize: number;
  /** How long a retiring key of a field's scope is kept after its switch (ms). */
  fieldGraceMs: number;
  onProgress: ProgressListener | undefined;
}
