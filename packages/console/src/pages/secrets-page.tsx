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
  const [draftScope, setDraftScope] = useState('');
  /** The scope being shown; null until the operator opens one. */
  const [scope, setScope] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const secrets = useResource(
    async () => (scope === null ? null : api.listSecrets(scope)),
    [api, scope],
  );

  const open = (next: string) => {
    setDraftScope(next);
    setScope(next);
  };

  return (
    <>
      <p class="lead">{t('secrets.intro')}</p>
      <section class="card" aria-labelledby="scopes-title">
        <h2 id="scopes-title">{t('secrets.openScope')}</h2>
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
            hint={t('secrets.scopeHint')}
            required
            testId="scope-input"
          />
          <button type="submit">{t('secrets.open')}</button>
        </form>
      </section>

      {scope === null ? null : (
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
      )}

      <SetSecretForm
        key={scope}
        scope={scope ?? ''}
        onSaved={(savedScope) => {
          if (savedScope === scope) secrets.reload();
          else open(savedScope);
        }}
      />

      <ConfirmDialog
        open={deleting !== null}
        title={t('secrets.deleteTitle')}
        confirmLabel={t('secrets.delete')}
        danger
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (deleting === null || scope === null) return;
          await api.deleteSecret(scope, deleting);
          secrets.reload();
        }}
      >
        <p>{t('secrets.deleteBody', { scope: scope ?? '', name: deleting ?? '' })}</p>
      </ConfirmDialog>
    </>
  );
}
