/**
 * One secret in the secrets table: its metadata always, its value only after a
 * click on Reveal. Each reveal is a fresh GET, which the server audits as
 * secret.read; Hide drops the value from the page's memory.
 */
import { useState } from 'preact/hooks';
import { useApi } from '../api/api-context.js';
import type { ListedSecret, SecretValue } from '../api/api-types.js';
import { useI18n } from '../i18n/i18n-context.js';
import { useGuardedAction } from '../lib/use-guarded-action.js';
import { ErrorNotice } from './error-notice.js';

export function SecretRow(props: {
  scope: string;
  secret: ListedSecret;
  onDelete: (name: string) => void;
}) {
  const { t, formatTime } = useI18n();
  const api = useApi();
  const [revealed, setRevealed] = useState<SecretValue | null>(null);
  const { secret } = props;
  const reveal = useGuardedAction(async () => {
    setRevealed(await api.readSecret(props.scope, secret.name));
  });
  return (
    <tr data-testid={`secret-${secret.name}`}>
      <th scope="row">
        <code>{secret.name}</code>
      </th>
      <td>{secret.version}</td>
      <td>{t(secret.type === 'bytes' ? 'secrets.typeBytes' : 'secrets.typeText')}</td>
      <td>
        <MetadataText metadata={secret.metadata} />
      </td>
      <td>
        {formatTime(secret.updatedAt)}
        {secret.updatedBy === null ? null : <div class="muted">{secret.updatedBy}</div>}
      </td>
      <td class="value-cell">
        {secret.status === 'undecryptable' ? (
          <span class="badge badge-error" title={secret.error?.message}>
            {t('secrets.undecryptable')}
          </span>
        ) : revealed === null ? (
          <button type="button" disabled={reveal.busy} onClick={() => reveal.run()}>
            {t('secrets.reveal')}
          </button>
        ) : (
          <div class="revealed">
            <code data-testid="secret-value">{revealed.value}</code>
            {revealed.encoding === 'base64' ? <span class="muted"> (base64)</span> : null}
            <button type="button" onClick={() => setRevealed(null)}>
              {t('secrets.hide')}
            </button>
          </div>
        )}
        <ErrorNotice error={reveal.error} />
      </td>
      <td>
        <button type="button" class="danger" onClick={() => props.onDelete(secret.name)}>
          {t('secrets.delete')}
        </button>
      </td>
    </tr>
  );
}

function MetadataText(props: { metadata: ListedSecret['metadata'] }) {
  if (props.metadata === null || Object.keys(props.metadata).length === 0) {
    return <span class="muted">—</span>;
  }
  return <code class="metadata">{JSON.stringify(props.metadata)}</code>;
}
