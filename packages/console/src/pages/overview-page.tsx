/**
 * Overview: the master keys (fingerprints, which one is primary, how many data
 * keys each wraps), totals, secrets the configured keys cannot open, the backup
 * state (an amber warning until a recovery key or a fresh complete bundle
 * exists) and the latest rotation with its progress.
 */
import { useApi } from '../api/api-context.js';
import type { KeyStatus } from '../api/api-types.js';
import { ErrorNotice } from '../components/error-notice.js';
import { Notice } from '../components/notice.js';
import { useI18n } from '../i18n/i18n-context.js';
import { useResource } from '../lib/use-resource.js';

export function OverviewPage() {
  const { t } = useI18n();
  const api = useApi();
  const keys = useResource(() => api.keys(), [api]);
  return (
    <>
      <p class="lead">{t('overview.intro')}</p>
      <ErrorNotice error={keys.error} />
      {keys.data === null ? (
        keys.error === null ? (
          <p class="muted">{t('common.loading')}</p>
        ) : null
      ) : (
        <KeysSummary status={keys.data} />
      )}
    </>
  );
}

/** Census per master key: every fingerprint stored data needs, plus configured keys nothing needs. */
function KeysSummary(props: { status: KeyStatus }) {
  const { t, formatNumber } = useI18n();
  const { status } = props;
  const rows = new Map(status.needed.map((n) => [n.fingerprint, n]));
  for (const fingerprint of [status.primary, ...status.previous]) {
    if (!rows.has(fingerprint))
      rows.set(fingerprint, { fingerprint, dataKeys: 0, inKeyring: true });
  }
  return (
    <>
      <section class="card" aria-labelledby="master-keys-title">
        <h2 id="master-keys-title">{t('overview.masterKeys')}</h2>
        <div class="table-wrap">
          <table data-testid="master-keys">
            <thead>
              <tr>
                <th scope="col">{t('overview.fingerprint')}</th>
                <th scope="col">{t('overview.role')}</th>
                <th scope="col">{t('overview.dataKeys')}</th>
                <th scope="col">{t('overview.inKeyring')}</th>
              </tr>
            </thead>
            <tbody>
              {[...rows.values()].map((row) => (
                <tr key={row.fingerprint}>
                  <th scope="row">
                    <code>{row.fingerprint}</code>
                  </th>
                  <td>
                    {row.fingerprint === status.primary
                      ? t('overview.rolePrimary')
                      : status.previous.includes(row.fingerprint)
                        ? status.unusedPreviousKeys.includes(row.fingerprint)
                          ? t('overview.roleUnused')
                          : t('overview.rolePrevious')
                        : t('overview.roleMissing')}
                  </td>
                  <td>{formatNumber(row.dataKeys)}</td>
                  <td>
                    {row.inKeyring ? (
                      <span class="badge badge-ok">{t('common.yes')}</span>
                    ) : (
                      <span class="badge badge-error">{t('common.no')}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <dl class="totals">
          <div>
            <dt>{t('overview.secrets')}</dt>
            <dd data-testid="total-secrets">{formatNumber(status.totals.secrets)}</dd>
          </div>
          <div>
            <dt>{t('overview.scopes')}</dt>
            <dd>{formatNumber(status.totals.scopes)}</dd>
          </div>
          <div>
            <dt>{t('overview.dataKeys')}</dt>
            <dd>{formatNumber(status.totals.dataKeys)}</dd>
          </div>
        </dl>
      </section>
      {status.undecryptable.length === 0 ? null : (
        <Notice tone="warning" title={t('overview.undecryptable')} testId="undecryptable">
          <ul>
            {status.undecryptable.map((group) => (
              <li key={group.dataKeyId}>
                {t('overview.undecryptableGroup', {
                  scope: group.scope,
                  secrets: formatNumber(group.secrets),
                })}{' '}
                <code>{group.code}</code> {group.message}
              </li>
            ))}
          </ul>
        </Notice>
      )}
    </>
  );
}
