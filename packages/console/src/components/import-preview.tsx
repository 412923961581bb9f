/**
 * The import preview (or apply result): per scope, how many records would be
 * created, overwritten, left unchanged or are in conflict, with the totals and
 * the first conflicts by name.
 */
import type { ImportReport } from '../api/api-types.js';
import { useI18n } from '../i18n/i18n-context.js';
import type { MessageKey } from '../i18n/messages.js';

const CONFLICT_REASONS: Record<ImportReport['conflicts'][number]['reason'], MessageKey> = {
  'newer-in-target': 'backup.reasonNewer',
  'undecryptable-in-target': 'backup.reasonUndecryptable',
};

export function ImportPreview(props: { report: ImportReport; testId: string }) {
  const { t, formatNumber, formatTime } = useI18n();
  const { report } = props;
  return (
    <div data-testid={props.testId}>
      <p class="muted">
        {t('backup.bundleInfo', {
          records: formatNumber(report.bundle.records),
          created: formatTime(report.bundle.createdAt ?? null),
          fingerprint: report.bundle.sourceFingerprint ?? '—',
        })}
      </p>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">{t('backup.previewCaption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('backup.scope')}</th>
              <th scope="col">{t('backup.creates')}</th>
              <th scope="col">{t('backup.overwrites')}</th>
              <th scope="col">{t('backup.unchanged')}</th>
              <th scope="col">{t('backup.conflicts')}</th>
            </tr>
          </thead>
          <tbody>
            {report.scopes.map((s) => (
              <tr key={s.scope}>
                <th scope="row">
                  <code>{s.scope}</code>
                </th>
                <td>{formatNumber(s.create)}</td>
                <td>{formatNumber(s.overwrite)}</td>
                <td>{formatNumber(s.unchanged)}</td>
                <td class={s.conflict > 0 ? 'warn-cell' : undefined}>{formatNumber(s.conflict)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">{t('backup.total')}</th>
              <td data-testid="total-create">{formatNumber(report.totals.create)}</td>
              <td data-testid="total-overwrite">{formatNumber(report.totals.overwrite)}</td>
              <td>{formatNumber(report.totals.unchanged)}</td>
              <td data-testid="total-conflict">{formatNumber(report.totals.conflict)}</td>
            </tr>
          </tfoot>
        </table>
      </div>
      {report.conflicts.length === 0 ? null : (
        <>
          <h3>{t('backup.conflictList')}</h3>
          <ul>
            {report.conflicts.map((c) => (
              <li key={`${c.scope}/${c.name}`}>
                <code>
                  {c.scope}/{c.name}
                </code>{' '}
                — {t(CONFLICT_REASONS[c.reason])}
              </li>
            ))}
          </ul>
          {report.conflictsTruncated ? <p class="muted">{t('backup.conflictsTruncated')}</p> : null}
        </>
      )}
      <p>
        {t(report.mode === 'apply' ? 'backup.wrote' : 'backup.wouldWrite', {
          create: formatNumber(report.writes.create),
          overwrite: formatNumber(report.writes.overwrite),
        })}
      </p>
    </div>
  );
}
