/**
 * Progress events of a rotation, for progress bars and logs.
 *
 * Contract: a listener is called synchronously between batches, never while a
 * batch's rows are half-processed. In online mode it runs after the batch has
 * committed; in atomic mode it runs inside the one open transaction (so a
 * listener must not query the store itself: on SQLite that would wait for the
 * transaction it is called from). A listener that throws aborts the rotation
 * exactly as a crash at that point would.
 */
export type RotationPhase =
  /** Master rotation: data keys rewrapped under the new master key. */
  | 'rewrap'
  /** Data re-key: the scopes' data keys marked retiring. */
  | 'switch'
  /** Data re-key: secrets re-encrypted under new data keys. */
  | 'secrets'
  /** Data re-key: registered fields' rows re-encrypted (`table` names which). */
  | 'fields'
  /** Data re-key: a later pass that finds rows written with a retiring key meanwhile. */
  | 'verify'
  /** Data re-key: retiring data keys destroyed. */
  | 'destroy'
  /** Adoption: legacy rows of a field re-encrypted into the Lockbox format. */
  | 'adopt';

export interface RotationProgress {
  phase: RotationPhase;
  /** Units done in this phase (data keys or rows). */
  done: number;
  /** Units expected in this phase; may grow while a job discovers rows written meanwhile. */
  total: number;
  /** "table.column" of the field being walked (phases fields, verify, adopt). */
  table?: string;
}

export type ProgressListener = (event: RotationProgress) => void;
