/**
 * Overview: the master keys with their census (which keys the stored data needs
 * and how many data keys and secrets each one protects), secrets the configured
 * keys cannot open, the backup state — an amber warning until a recovery key
 * covers every data key or a complete bundle was exported since the keys last
 * changed — and the rotation in progress or the latest one.
 */
import { useApi } from '../api/api-context.js';
import type { BackupState, KeyStatus, MasterKeyCensus, RotationStatus } from '../api/api-types.js';
import { ErrorNotice } from '../components/error-notice.js';
import { Notice } from '../components/notice.js';
import { RotationProgress } from '../components/rotation-progress.js';
import { useI18n } from '../i18n/i18n-context.js';
import type { MessageKey } from '../i18n/messages.js';
import { backupReasons } from '../lib/backup-reasons.js';
import { useResource } from '../lib/use-resource.js';

export function OverviewPage() {
  const { t } = useI18n();
  const api = useApi();
  const keys = useResource(() => api.keys(), [api]);
  const rotation = useResource(() => api.rotation(), [api]);
  return (
    <>
      <p class="lead">{t('overview.intro')}</p>
      <ErrorNotice error={keys.error} />
      {keys.data === null ? (
        keys.error === null ? (
          <p class="muted">{t('common.loading')}</p>
        ) : null
      ) : (
        <>
          <BackupSummary backup={keys.data.backup} />
          <KeysSummary status={keys.data} />
        </>
      )}
      <section class="card" aria-labelledby="rotation-title">
        <h2 id="rotation-title">{t('overview.rotation')}</h2>
        <ErrorNotice error={rotation.error} />
        {rotation.data === null ? null : <RotationSummary status={rotation.data} />}
      </section>
    </>
  );
}

function roleOf(key: MasterKeyCensus): MessageKey {
  if (key.primary) return 'overview.rolePrimary';
  if (!key.inKeyring) return key.needed ? 'overview.roleMissing' : 'overview.roleRetired';
  return key.needed ? 'overview.rolePrevious' : 'overview.roleUnused';
}

function KeysSummary(props: { status: KeyStatus }) {
  const { t, formatNumber } = useI18n();
  const { status } = props;
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
                <th scope="col">{t('overview.secrets')}</th>
                <th scope="col">{t('overview.fieldRows')}</th>
                <th scope="col">{t('overview.inKeyring')}</th>
              </tr>
            </thead>
            <tbody>
              {status.census.masterKeys.map((key) => (
                <tr key={key.fingerprint} data-primary={key.primary ? 'true' : undefined}>
                  <th scope="row">
                    <code>{key.fingerprint}</code>
                  </th>
                  <td>{t(roleOf(key))}</td>
                  <td>{formatNumber(key.dataKeys)}</td>
                  <td>{formatNumber(key.secrets)}</td>
                  <td>{formatNumber(key.fieldRows)}</td>
                  <td>
                    {key.inKeyring ? (
                      <span class="badge badge-ok">{t('common.yes')}</span>
                    ) : (
                      <span class={`badge ${key.needed ? 'badge-error' : 'badge-denied'}`}>
                        {t('common.no')}
                      </span>
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
      {status.census.missing.length === 0 ? null : (
        <Notice tone="warning" title={t('overview.missingKeys')} testId="missing-keys">
          <p>
            {status.census.missing.map((f) => (
              <code key={f} class="permission">
                {f}
              </code>
            ))}
          </p>
        </Notice>
      )}
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

function BackupSummary(props: { backup: BackupState }) {
  const { t, formatTime, formatNumber } = useI18n();
  const { backup } = props;
  const facts = (
    <dl class="facts">
      <dt>{t('overview.recoveryRecipient')}</dt>
      <dd>
        {backup.recoveryRecipient === undefined ? (
          t('overview.none')
        ) : (
          <code>{backup.recoveryRecipient}</code>
        )}
      </dd>
      <dt>{t('overview.lastExport')}</dt>
      <dd>{formatTime(backup.lastExportAt ?? null)}</dd>
      <dt>{t('overview.keysChanged')}</dt>
      <dd>{formatTime(backup.keysChangedAt ?? null)}</dd>
    </dl>
  );
  if (backup.state === 'ok') {
    return (
      <Notice tone="success" title={t('overview.backupOk')} testId="backup-ok">
        {facts}
      </Notice>
    );
  }
  return (
    <Notice tone="warning" title={t('overview.backupWarning')} testId="backup-warning">
      <ul>
        {backupReasons(backup).map((reason) => (
          <li key={reason.key}>{t(reason.key, { count: formatNumber(reason.count ?? 0) })}</li>
        ))}
      </ul>
      <p>
        {t('overview.backupHowTo')} <a href="#/backup">{t('overview.backupLink')}</a>
      </p>
      {facts}
    </Notice>
  );
}

function RotationSummary(props: { status: RotationStatus }) {
  const { t } = useI18n();
  const { status } = props;
  if (status.unfinished !== null) {
    const interrupted = status.lock === null || !status.lock.live;
    return (
      <>
        {interrupted ? (
          <Notice
            tone="warning"
            title={t('overview.rotationInterrupted')}
            testId="rotation-interrupted"
          >
            <p>{t('overview.rotationResume')}</p>
          </Notice>
        ) : null}
        <RotationProgress job={status.unfinished} />
      </>
    );
  }
  const latest = status.recent[0];
  if (latest === undefined) return <p class="muted">{t('keys.noRotation')}</p>;
  return <RotationProgress job={latest} />;
}
