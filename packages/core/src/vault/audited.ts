/**
 * The one way a service records what it did: Secrets, Backup and Rotation all
 * describe their events through here, so an entry's shape (who asked, which
 * request, the outcome, a failure's code) is decided once.
 *
 * Whether a failure is recorded is each call's explicit choice: a secret read
 * that fails is an event worth seeing (a denied or broken read), while a refused
 * import or restore promises to change nothing at all, the audit log included,
 * and leaves reporting the refusal to its caller.
 */
import { LockboxError } from '../errors.js';
import type { Actor, AuditEvent, AuditSink } from './audit-sink.js';

/** Who asked, as every service's options carry it. */
export interface AuditCaller {
  actor?: Actor | undefined;
  requestId?: string | undefined;
}

/** An event before its outcome is known. */
export type PendingAuditEvent = Omit<AuditEvent, 'outcome' | 'actor' | 'requestId'>;

export interface AuditPolicy<T> {
  /** 'record': a failure is an entry too (outcome error, details.code), then rethrown. 'skip': only success is. */
  failures: 'record' | 'skip';
  /** Non-secret facts about a success (counts, the version written), added to the details. */
  okDetails?: (result: T) => Record<string, unknown>;
  /** Who is recorded when the caller names nobody (a service's default actor). */
  defaultActor?: Actor | undefined;
  /**
   * Run after a success and its entry are committed (the store's `durable`): what
   * is acted on outside the database is flushed together with its audit entry, so
   * a flush that fails (STORE_FLUSH_FAILED) never leaves the change unaudited.
   */
  flush?: () => Promise<void>;
}

/** Records one finished event for `caller`; nothing when there is no sink. */
export async function recordEvent(
  sink: AuditSink | undefined,
  event: PendingAuditEvent & Pick<AuditEvent, 'outcome'>,
  caller: AuditCaller,
  defaultActor?: Actor,
): Promise<void> {
  if (sink === undefined) return;
  const actor = caller.actor ?? defaultActor;
  await sink.record({
    ...event,
    ...(actor === undefined ? {} : { actor }),
    ...(caller.requestId === undefined ? {} : { requestId: caller.requestId }),
  });
}

/** Runs `run` and records its outcome as `policy` says; returns or rethrows what `run` did. */
export async function audited<T>(
  sink: AuditSink | undefined,
  event: PendingAuditEvent,
  caller: AuditCaller,
  run: () => Promise<T>,
  policy: AuditPolicy<T>,
): Promise<T> {
  if (sink === undefined) {
    const result = await run();
    await policy.flush?.();
    return result;
  }
  let result: T;
  try {
    result = await run();
  } catch (err) {
    if (policy.failures === 'record') {
      const code = err instanceof LockboxError ? err.code : 'INTERNAL';
      await recordEvent(
        sink,
        { ...event, outcome: 'error', details: { ...event.details, code } },
        caller,
        policy.defaultActor,
      );
    }
    throw err;
  }
  const okDetails = policy.okDetails?.(result);
  const details =
    okDetails === undefined && event.details === undefined
      ? {}
      : { details: { ...event.details, ...okDetails } };
  await recordEvent(sink, { ...event, outcome: 'ok', ...details }, caller, policy.defaultActor);
  await policy.flush?.();
  return result;
}
