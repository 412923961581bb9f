/**
 * The audit record of an environment injection: one `env.inject` entry per scope,
 * naming the secrets and the variables they became — never a value.
 *
 * It writes through the Lockbox's audit log when there is one (`lockbox.audit`,
 * any AuditSink); a Lockbox opened without an audit log records nothing, the same
 * as the vault's own reads and writes.
 */
import type { Actor, AuditSink } from '../vault/audit-sink.js';
import type { EnvPlanEntry } from './secrets-to-env.js';

/**
 * Audit details are bounded (4 KiB): names are listed while they fit in this
 * many bytes of JSON; beyond that the entry keeps the count and says it is truncated.
 */
const NAMES_BUDGET_BYTES = 3000;

function fitting(entries: readonly EnvPlanEntry[]): EnvPlanEntry[] {
  const listed: EnvPlanEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    bytes += Buffer.byteLength(JSON.stringify([entry.name, entry.variable]));
    if (bytes > NAMES_BUDGET_BYTES) break;
    listed.push(entry);
  }
  return listed;
}

export interface AuditInjectionOptions {
  actor?: Actor | undefined;
  requestId?: string | undefined;
  /** Further non-secret facts (for example the output format of `lockbox env`). */
  details?: Record<string, unknown>;
}

export async function auditInjection(
  source: { audit?: AuditSink },
  plan: readonly EnvPlanEntry[],
  options: AuditInjectionOptions = {},
): Promise<void> {
  const audit = source.audit;
  if (audit === undefined) return;
  const scopes = [...new Set(plan.map((entry) => entry.scope))];
  for (const scope of scopes) {
    const entries = plan.filter((entry) => entry.scope === scope);
    const listed = fitting(entries);
    await audit.record({
      action: 'env.inject',
      scope,
      outcome: 'ok',
      details: {
        ...options.details,
        names: listed.map((entry) => entry.name),
        variables: listed.map((entry) => entry.variable),
        count: entries.length,
        ...(entries.length > listed.length ? { truncated: true } : {}),
      },
      ...(options.actor === undefined ? {} : { actor: options.actor }),
      ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    });
  }
}
