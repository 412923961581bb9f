/**
 * One rotation at a time, across processes and instances.
 *
 * PostgreSQL: a session advisory lock (`pg_try_advisory_lock`), held on one
 * dedicated connection for the whole job and released by the server when that
 * connection ends — so a killed process never leaves it behind. A row in
 * lockbox_locks records who holds it and since when, for the refusal message
 * (its SQL is store/lock-rows.ts).
 *
 * SQLite: the lockbox_locks row is the lock (insert; a conflict means someone
 * holds it). A holder that died without deleting its row is detected as stale:
 * on the same host when its pid is no longer alive, from another host when its
 * heartbeat is older than two minutes. A stale lock is taken over with a
 * compare-and-swap on the row, so two processes cannot both take it.
 *
 * Only rotation jobs take this lock. Reads and writes of secrets never wait on it.
 * A job calls `touch` as the first write of every batch transaction: on SQLite
 * that takes the write lock before the batch reads anything (so its reads are
 * never stale), it refreshes the heartbeat, and it stops the job if the lock was
 * taken over.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'kysely';
import { nowIso } from '../clock.js';
import { LockboxError } from '../errors.js';
import type { Store } from '../store/connect.js';
import type { Executor } from '../store/executor.js';
import {
  claimLockRow,
  deleteLockRow,
  insertLockRowIfFree,
  lockRow,
  refreshLockHeartbeat,
  renameLockHolder,
  takeOverLockRow,
} from '../store/lock-rows.js';

export const ROTATION_LOCK_NAME = 'rotation';
/** A holder on another host whose heartbeat is older than this is presumed dead. */
export const STALE_AFTER_MS = 120_000;
const HEARTBEAT_MS = 15_000;
/** The advisory lock's first key: "LKRT". The second is derived from the store id. */
const ADVISORY_CLASS = 0x4c4b5254;

type Db = Executor;

export interface RotationLockInfo {
  /** "host:pid:job". */
  holder: string;
  since: string;
  heartbeatAt: string;
  /** False when the holder is known to be gone (the next rotation takes over). */
  live: boolean;
}

export interface RotationLockHandle {
  readonly holder: string;
  /** Names the job in the lock row, so that a refused attempt says which job holds it. */
  setJob(jobId: string): Promise<void>;
  /**
   * Refreshes the heartbeat; call as the first write of each batch transaction.
   * Throws ROTATION_IN_PROGRESS when another process has taken the lock over.
   */
  touch(db: Db): Promise<void>;
}

/**
 * The advisory lock's second key: per store and per schema, so that stores in
 * different schemas of one database (including a snapshot restored beside its
 * original, which keeps the store id) never block each other.
 */
async function advisoryKey(conn: Db, storeId: string): Promise<number> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(conn);
  return createHash('sha256')
    .update(`${rows[0]?.schema ?? ''}\u0000${storeId}`)
    .digest()
    .readInt32BE(0);
}

export function parseHolder(
  holder: string,
): { host: string; pid: number; job: string } | undefined {
  const parts = holder.split(':');
  if (parts.length < 3) return undefined;
  const job = parts.pop() as string;
  const pid = Number(parts.pop());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { host: parts.join(':'), pid, job };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLockRow(db: Db) {
  return lockRow(db, ROTATION_LOCK_NAME);
}

function isStale(row: { holder: string; heartbeat_at: string }): boolean {
  const parsed = parseHolder(row.holder);
  if (parsed !== undefined && parsed.host === hostname()) return !pidAlive(parsed.pid);
  return Date.now() - Date.parse(row.heartbeat_at) > STALE_AFTER_MS;
}

function inProgress(row: { holder: string; acquired_at: string } | undefined): LockboxError {
  if (row === undefined) {
    return new LockboxError(
      'ROTATION_IN_PROGRESS',
      'another rotation holds the rotation lock (it has not recorded its holder yet); see `lockbox rotate status`',
    );
  }
  return new LockboxError(
    'ROTATION_IN_PROGRESS',
    `another rotation holds the rotation lock: ${row.holder} (host:pid:job) since ${row.acquired_at}; see \`lockbox rotate status\``,
    { details: { holder: row.holder, since: row.acquired_at } },
  );
}

const HOLDER_WAIT_ATTEMPTS = 20;
const HOLDER_WAIT_STEP_MS = 25;

/**
 * PostgreSQL: the lock row of an advisory lock another session holds. The
 * holder writes its row just after taking the lock, so an absent row is waited
 * for briefly (a refusal should name who holds the lock); still absent, the
 * refusal says the holder is not recorded yet.
 */
async function holderRowOfTakenLock(db: Db) {
  for (let attempt = 0; ; attempt++) {
    const row = await readLockRow(db);
    if (row !== undefined || attempt >= HOLDER_WAIT_ATTEMPTS) return row;
    await new Promise((resolve) => setTimeout(resolve, HOLDER_WAIT_STEP_MS));
  }
}
/** Who holds the lock, if anyone (read-only). */
export async function rotationLockInfo(
  store: Store,
  storeId: string,
): Promise<RotationLockInfo | undefined> {
  const row = await readLockRow(store.db);
  if (row === undefined) return undefined;
  let live: boolean;
  if (store.dialect === 'postgres') {
    // The advisory lock is the truth; the row may be left over from a killed process.
    live = await store.db.connection().execute(async (conn) => {
      const key = await advisoryKey(conn, storeId);
      const { rows } = await sql<{
        locked: boolean;
      }>`select pg_try_advisory_lock(${ADVISORY_CLASS}::int4, ${key}::int4) as locked`.execute(
        conn,
      );
      if (rows[0]?.locked !== true) return true;
      await sql`select pg_advisory_unlock(${ADVISORY_CLASS}::int4, ${key}::int4)`.execute(conn);
      return false;
    });
  } else {
    live = !isStale(row);
  }
  return { holder: row.holder, since: row.acquired_at, heartbeatAt: row.heartbeat_at, live };
}

class Handle implements RotationLockHandle {
  holder: string;
  readonly #db: Db;

  constructor(db: Db, holder: string) {
    this.#db = db;
    this.holder = holder;
  }

  async setJob(jobId: string): Promise<void> {
    const next = `${hostname()}:${process.pid}:${jobId}`;
    if (next === this.holder) return;
    await renameLockHolder(this.#db, ROTATION_LOCK_NAME, this.holder, next);
    this.holder = next;
  }

  async touch(db: Db): Promise<void> {
    if (!(await refreshLockHeartbeat(db, ROTATION_LOCK_NAME, this.holder, nowIso()))) {
      throw inProgress(await readLockRow(db));
    }
  }
}

/**
 * Runs `run` holding the rotation lock. Throws ROTATION_IN_PROGRESS (naming the
 * holder and since when) without waiting when another live process holds it.
 * The lock is released when `run` settles.
 */
export async function withRotationLock<T>(
  store: Store,
  storeId: string,
  run: (lock: RotationLockHandle) => Promise<T>,
  /** What the holder will work on (a job id), shown to whoever is refused. */
  label: string = `pending-${randomBytes(4).toString('hex')}`,
): Promise<T> {
  const db = store.db;
  const handle = new Handle(db, `${hostname()}:${process.pid}:${label.replace(/:/g, '_')}`);
  const release = () =>
    deleteLockRow(db, ROTATION_LOCK_NAME, handle.holder).then(
      () => undefined,
      () => undefined,
    );
  if (store.dialect === 'postgres') {
    return db.connection().execute(async (conn) => {
      const key = await advisoryKey(conn, storeId);
      const { rows } = await sql<{
        locked: boolean;
      }>`select pg_try_advisory_lock(${ADVISORY_CLASS}::int4, ${key}::int4) as locked`.execute(
        conn,
      );
      if (rows[0]?.locked !== true) throw inProgress(await holderRowOfTakenLock(db));
      try {
        const now = nowIso();
        // Holding the advisory lock means any existing row is left over from a dead holder.
        await claimLockRow(db, {
          name: ROTATION_LOCK_NAME,
          holder: handle.holder,
          acquired_at: now,
          heartbeat_at: now,
        });
        return await run(handle);
      } finally {
        await release();
        await sql`select pg_advisory_unlock(${ADVISORY_CLASS}::int4, ${key}::int4)`
          .execute(conn)
          .catch(() => undefined);
      }
    });
  }
  await acquireRow(db, handle.holder);
  let pending: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    pending = refreshLockHeartbeat(db, ROTATION_LOCK_NAME, handle.holder, nowIso()).catch(
      () => undefined,
    );
  }, HEARTBEAT_MS);
  timer.unref();
  try {
    return await run(handle);
  } finally {
    clearInterval(timer);
    await pending;
    await release();
  }
}

async function acquireRow(db: Db, holder: string): Promise<void> {
  const now = nowIso();
  const row = { name: ROTATION_LOCK_NAME, holder, acquired_at: now, heartbeat_at: now };
  if (await insertLockRowIfFree(db, row)) return;
  const held = await readLockRow(db);
  if (held === undefined) return acquireRow(db, holder);
  if (!isStale(held)) throw inProgress(held);
  if (!(await takeOverLockRow(db, held, { holder, acquired_at: now, heartbeat_at: now }))) {
    throw inProgress(await readLockRow(db));
  }
}
