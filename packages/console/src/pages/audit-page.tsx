/**
 * Audit: whether the hash chain verifies, and the entries, newest first, a page
 * at a time, filtered by action or scope. Entries name who did what to which
 * scope/name and how it ended; they never hold a value or a key.
 */
import { useState } from 'preact/hooks';
import { useApi } from '../api/api-context.js';
import type { AuditEntry, AuditVerifyResult } from '../api/api-types.js';
import { ErrorNotice } from '../components/error-notice.js';
import { Notice } from '../components/notice.js';
import { TextField } from '../components/text-field.js';
import { useI18n } from '../i18n/i18n-context.js';
import type { MessageKey } from '../i18n/messages.js';
import { useGuardedAction } from '../lib/use-guarded-action.js';
import { useResource } from '../lib/use-resource.js';

const PAGE_SIZE = 50;

const REASONS: Record<NonNullable<AuditVerifyResult['reason']>, MessageKey> = {
  edited: 'audit.reasonEdited',
  deleted: 'audit.reasonDeleted',
  inserted: 'audit.reasonInserted',
  reordered: 'audit.reasonReordered',
};

const OUTCOMES: Record<AuditEntry['outcome'], MessageKey> = {
  ok: 'audit.outcomeOk',
  denied: 'audit.outcomeDenied',
  error: 'audit.outcomeError',
};

export function AuditPage() {
  const { t } = useI18n();
  const api = useApi();
  const [filters, setFilters] = useState({ action: '', scope: '' });
  const [draft, setDraft] = useState(filters);
  const [older, setOlder] = useState<AuditEntry[]>([]);
  const verify = useResource(() => api.verifyAudit(), [api]);
  const first = useResource(
    () =>
      api.audit({
        order: 'desc',
        limit: PAGE_SIZE,
        ...(filters.action === '' ? {} : { action: filters.action }),
        ...(filters.scope === '' ? {} : { scope: filters.scope }),
      }),
    [api, filters],
  );
  const entries = [...(first.data?.entries ?? []), ...older];
  const last = entries.at(-1);
  const [hasMore, setHasMore] = useState(true);
  const more = useGuardedAction(async () => {
    if (last === undefined) return;
    const page = await api.audit({
      order: 'desc',
      limit: PAGE_SIZE,
      before: last.seq,
      ...(filters.action === '' ? {} : { action: filters.action }),
      ...(filters.scope === '' ? {} : { scope: filters.scope }),
    });
    setOlder((list) => [...list, ...page.entries]);
    setHasMore(page.next !== null);
  });

  const refresh = () => {
    setOlder([]);
    setHasMore(true);
    first.reload();
    verify.reload();
  };

  return (
    <>
      <p class="lead">{t('audit.intro')}</p>
      <section class="card" aria-labelledby="verify-title">
        <h2 id="verify-title">{t('audit.verifyTitle')}</h2>
        <ErrorNotice error={verify.error} />
        {verify.data === null ? (
          <p class="muted">{t('common.loading')}</p>
        ) : (
          <VerifyStatus result={verify.data} />
        )}
        <button type="button" onClick={refresh} disabled={verify.loading}>
          {t('audit.verifyAgain')}
        </button>
      </section>

      <section class="card" aria-labelledby="entries-title">
        <h2 id="entries-title">{t('audit.entries')}</h2>
        <form
          class="row"
          onSubmit={(event) => {
            event.preventDefault();
            setOlder([]);
            setHasMore(true);
            setFilters({ action: draft.action.trim(), scope: draft.scope.trim() });
          }}
        >
          <TextField
            label={t('audit.filterAction')}
            placeholder="secret.read"
            value={draft.action}
            onInput={(action) => setDraft({ ...draft, action })}
          />
          <TextField
            label={t('audit.filterScope')}
            value={draft.scope}
            onInput={(scope) => setDraft({ ...draft, scope })}
          />
          <button type="submit">{t('audit.filter')}</button>
        </form>
        <ErrorNotice error={first.error ?? more.error} />
        {first.data === null ? (
          <p class="muted">{t('common.loading')}</p>
        ) : entries.length === 0 ? (
          <p class="muted">{t('audit.empty')}</p>
        ) : (
          <EntriesTable entries={entries} />
        )}
        {(older.length === 0 ? first.data?.next != null : hasMore) ? (
          <button type="button" onClick={() => more.run()} disabled={more.busy}>
            {t('audit.older')}
          </button>
        ) : null}
      </section>
    </>
  );
}

function VerifyStatus(props: { result: AuditVerifyResult }) {
  const { t, formatNumber } = useI18n();
  const { result } = props;
  if (result.ok) {
    return (
      <Notice tone="success" testId="audit-verified">
        {t('audit.verified', { entries: formatNumber(result.entries) })}
      </Notice>
    );
  }
  return (
    <Notice tone="warning" title={t('audit.broken')} testId="audit-broken">
      <p>
        {t('audit.brokenAt', {
          seq: result.firstBroken ?? '?',
          reason: result.reason === undefined ? '?' : t(REASONS[result.reason]),
        })}
      </p>
      {result.message === undefined ? null : <p>{result.message}</p>}
    </Notice>
  );
}

function EntriesTable(props: { entries: AuditEntry[] }) {
  const { t, formatTime } = useI18n();
  return (
    <div class="table-wrap">
      <table data-testid="audit-table">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">{t('audit.time')}</th>
            <th scope="col">{t('audit.actor')}</th>
            <th scope="col">{t('audit.action')}</th>
            <th scope="col">{t('audit.target')}</th>
            <th scope="col">{t('audit.outcome')}</th>
            <th scope="col">{t('audit.details')}</th>
          </tr>
        </thead>
        <tbody>
          {props.entries.map((entry) => (
            <tr key={entry.seq} data-action={entry.action}>
              <td>{entry.seq}</td>
              <td class="nowrap">{formatTime(entry.at)}</td>
              <td>{entry.actorName ?? entry.actorId ?? '—'}</td>
              <td>
                <code class="nowrap">{entry.action}</code>
              </td>
              <td>
                {entry.scope === null ? (
                  '—'
                ) : (
                  <code>
                    {entry.scope}
                    {entry.name === null ? '' : `/${entry.name}`}
                  </code>
                )}
              </td>
              <td>
                <span class={`badge badge-${entry.outcome}`}>{t(OUTCOMES[entry.outcome])}</span>
              </td>
              <td>
                {entry.details === null ? (
                  '—'
                ) : (
                  <code class="metadata">{JSON.stringify(entry.details)}</code>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
