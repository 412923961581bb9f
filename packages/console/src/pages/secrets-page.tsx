/**
 * Secrets: pick a scope, see its secrets' names, versions and metadata (never
 * values), reveal a value on click (audited by the server), set and delete.
 */
import { useState } from 'preact/hooks';
import { useApi } from '../api/api-context.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { ErrorNotice } from '../components/error-notice.js';
import { SecretRow } from '../components/secret-row.js';
import { SetSecretForm } from '../components/set-secret-form.js';
import { TextField } from '../components/text-field.js';
import { useI18n } from '../i18n/i18n-context.js';
import { useResource } from '../lib/use-resource.js';

export function SecretsPage() {
  const { t } = useI18n();
  const api = useApi();
  const [draftScope, setDraftScope] = useState('default');
  const [scope, setScope] = useState('default');
  const [deleting, setDeleting] = useState<string | null>(null);
  const secrets = useResource(() => api.listSecrets(scope), [api, scope]);
  const scopes = useResource(() => api.scopes(), [api]);

  const open = (next: string) => {
    setDraftScope(next);
    setScope(next);
  };

  return (
    <>
      <p class="lead">{t('secrets.intro')}</p>
      <section class="card" aria-labelledby="scopes-title">
        <h2 id="scopes-title">{t('secrets.scopes')}</h2>
        {scopes.data === null || scopes.data.length === 0 ? null : (
          <ul class="scope-list">
            {scopes.data.map((s) => (
              <li key={s.scope}>
                <button
                  type="button"
                  class="link-button"
                  aria-pressed={s.scope === scope}
                  onClick={() => open(s.scope)}
                >
                  <code>{s.scope}</code> <span class="muted">({s.secrets})</span>
                </button>
              </li>
            ))}
          </ul>
        )}
        <form
          class="row"
          onSubmit={(event) => {
            event.preventDefault();
            if (draftScope.trim() !== '') open(draftScope.trim());
          }}
        >
          <TextField
            label={t('secrets.scope')}
            value={draftScope}
            onInput={setDraftScope}
            required
            testId="scope-input"
          />
          <button type="submit">{t('secrets.open')}</button>
        </form>
      </section>

      <section class="card" aria-labelledby="list-title">
        <h2 id="list-title">{t('secrets.inScope', { scope })}</h2>
        <ErrorNotice error={secrets.error} />
        {secrets.data === null ? (
          <p class="muted">{t('common.loading')}</p>
        ) : secrets.data.length === 0 ? (
          <p class="muted">{t('secrets.empty')}</p>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('secrets.name')}</th>
                  <th scope="col">{t('secrets.version')}</th>
                  <th scope="col">{t('secrets.type')}</th>
                  <th scope="col">{t('secrets.metadata')}</th>
                  <th scope="col">{t('secrets.updated')}</th>
                  <th scope="col">{t('secrets.value')}</th>
                  <th scope="col">
                    <span class="visually-hidden">{t('common.actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {secrets.data.map((secret) => (
                  <SecretRow
                    key={`${scope}/${secret.name}/${secret.version}`}
                    scope={scope}
                    secret={secret}
                    onDelete={setDeleting}
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <SetSecretForm
        key={scope}
        scope={scope}
        onSaved={(savedScope) => {
          if (savedScope === scope) secrets.reload();
          else open(savedScope);
          scopes.reload();
        }}
      />

      <ConfirmDialog
        open={deleting !== null}
        title={t('secrets.deleteTitle')}
        confirmLabel={t('secrets.delete')}
        danger
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (deleting === null) return;
          await api.deleteSecret(scope, deleting);
          secrets.reload();
          scopes.reload();
        }}
      >
        <p>{t('secrets.deleteBody', { scope, name: deleting ?? '' })}</p>
      </ConfirmDialog>
    </>
  );
}
