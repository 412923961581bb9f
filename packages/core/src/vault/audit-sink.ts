/**
 * What the vault tells the audit log. The vault only describes events; the audit
 * module (hash-chained, keyed) decides how they are stored. Entries carry names
 * and outcomes, never values or keys.
 */
export interface AuditEvent {
  action: string;
  scope?: string | null;
  name?: string | null;
  outcome: 'ok' | 'denied' | 'error';
  /** Non-secret facts: counts, fingerprints, error codes. */
  details?: Record<string, unknown>;
  actor?: Actor;
  requestId?: string | null;
}

export interface Actor {
  /** A token id, or "cli:<user>", or "app". */
  id: string;
  name?: string;
}

export interface AuditSink {
  record(event: AuditEvent): Promise<void>;
}
