/**
 * Tokens: create one (its text is shown once) and revoke existing ones. Listing
 * shows names, ids, permissions and use — never a token's text or hash.
 */
import { useState } from 'preact/hooks';
import { useApi } from '../api/api-context.js';
import type { TokenInfo } from '../api/api-types.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { CreateTokenForm } from '../components/create-token-form.js';
import { ErrorNotice } from '../components/error-notice.js';
import { useI18n } from '../i18n/i18n-context.js';
import { useResource } from '../lib/use-resource.js';

export function TokensPage() {
  const { t, formatTime } = useI18n();
  const api = useApi();
  const tokens = useResource(() => api.tokens(), [api]);
  const [revoking, setRevoking] = useState<TokenInfo | null>(null);
  return (
    <>
      <p class="lead">{t('tokens.intro')}</p>
      <CreateTokenForm onCreated={tokens.reload} />
      <section class="card" aria-labelledby="tokens-title">
        <h2 id="tokens-title">{t('tokens.listTitle')}</h2>
        <ErrorNotice error={tokens.error} />
        {tokens.data === null ? (
          <p class="muted">{t('common.loading')}</p>
        ) : (
          <div class="table-wrap">
            <table data-testid="tokens-table">
              <thead>
                <tr>
                  <th scope="col">{t('tokens.name')}</th>
                  <th scope="col">{t('tokens.id')}</th>
                  <th scope="col">{t('tokens.permissions')}</th>
                  <th scope="col">{t('tokens.created')}</th>
                  <th scope="col">{t('tokens.lastUsed')}</th>
                  <th scope="col">{t('tokens.state')}</th>
                  <th scope="col">
                    <span class="visually-hidden">{t('common.actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {tokens.data.map((token) => (
                  <tr key={token.id} data-testid={`token-${token.name}`}>
                    <th scope="row">{token.name}</th>
                    <td>
                      <code class="nowrap">{token.id}</code>
                    </td>
                    <td>
                      {token.permissions.map((p) => (
                        <code key={p} class="permission">
                          {p}
                        </code>
                      ))}
                    </td>
                    <td>{formatTime(token.createdAt)}</td>
                    <td>{formatTime(token.lastUsedAt)}</td>
                    <td>
                      {token.revokedAt === null ? (
                        <span class="badge badge-ok">{t('tokens.active')}</span>
                      ) : (
                        <span class="badge badge-denied">
                          {t('tokens.revokedAt', { time: formatTime(token.revokedAt) })}
                        </span>
                      )}
                    </td>
                    <td>
                      {token.revokedAt === null ? (
                        <button type="button" class="danger" onClick={() => setRevoking(token)}>
                          {t('tokens.revoke')}
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <ConfirmDialog
        open={revoking !== null}
        title={t('tokens.revokeTitle')}
        confirmLabel={t('tokens.revoke')}
        danger
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          if (revoking === null) return;
          await api.revokeToken(revoking.id);
          tokens.reload();
        }}
      >
        <p>{t('tokens.revokeBody', { name: revoking?.name ?? '', id: revoking?.id ?? '' })}</p>
      </ConfirmDialog>
    </>
  );
}
