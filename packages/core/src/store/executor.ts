/**
 * What every row module in store/ runs its SQL on: the store's Kysely handle or
 * a transaction opened on it (Kysely's Transaction extends Kysely). Taking an
 * executor, never the Store, is what lets any service use a table's owner inside
 * its own transaction; on SQLite (one connection) a service that used the
 * store's handle from inside a transaction would wait for itself forever.
 */
import type { Kysely } from 'kysely';
import type { LockboxSchema } from './schema.js';

export type Executor = Kysely<LockboxSchema>;
