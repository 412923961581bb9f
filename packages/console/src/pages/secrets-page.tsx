/**
 * Secrets: find a scope among those the token may read (GET /v1/scopes, searched
 * by name prefix and paged SCOPE_PAGE at a time with the server's cursor, so a
 * store with tens of thousands of per-user scopes stays usable), see its
 * secrets' names, versions and metadata (never values), reveal a value on click
 * (audited by the server), set and delete. Setting a secret in a scope that is
 * not listed yet (a new scope, which exists through its secrets) opens it.
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

const SCOPE_PAGE = 50;

export function SecretsPage() {
  const { t, formatNumber } = useI18n();
  const api = useApi();
  /** The scope being shown; null until the operator opens one. */
  const [scope, setScope] = useState<string | null>(null);
  /**
   * The scope the set form starts with: the one last picked from the list. Saving
   * into another scope opens that one without resetting the form (its notice stays).
   */
  const [formScope, setFormScope] = useState('');
  const [deleting, setDeleting] = useState<string | null>(null);
  /** The search typed, and the prefix last searched for. */
  const [search, setSearch] = useState('');
  const [prefix, setPrefix] = useState('');
  /** The cursors (`after`) of the pages before this one: empty on the first page. */
  const [cursors, setCursors] = useState<string[]>([]);
  const scopes = useResource(
    () => api.scopes({ prefix, limit: SCOPE_PAGE, ...afterOf(cursors) }),
    [api, prefix, cursors],
  );
  const page = scopes.data;
  const secrets = useResource(
    async () => (scope === null ? null : api.listSecrets(scope)),
    [api, scope],
  );

  return (
    <>
      <p class="lead">{t('secrets.intro')}</p>
      <section class="card" aria-labelledby="scopes-title">
        <h2 id="scopes-title">{t('secrets.scopes')}</h2>
        <form
          class="search"
          aria-label={t('secrets.search')}
          onSubmit={(event) => {
            event.preventDefault();
            // No scope begins with whitespace; a trailing space is part of the search.
            setPrefix(search.trimStart());
            setCursors([]);
          }}
        >
          <TextField
            label={t('secrets.search')}
            hint={t('secrets.searchHint')}
            value={search}
            onInput={setSearch}
            placeholder="user:"
            testId="scope-search"
          />
          <button type="submit" data-testid="scope-search-submit">
            {t('secrets.find')}
          </button>
        </form>
        <ErrorNotice error={scopes.error} />
        {page === null ? (
          scopes.error === null ? (
            <p class="muted">{t('common.loading')}</p>
          ) : null
        ) : page.scopes.length === 0 && cursors.length === 0 ? (
          <p class="muted" data-testid="scope-none">
            {prefix === '' ? t('secrets.noScopes') : t('secrets.noMatch', { prefix })}
          </p>
        ) : (
          <>
            <ul class="scope-list" data-testid="scope-list">
              {page.scopes.map((entry) => (
                <li key={entry.scope}>
                  <button
                    type="button"
                    class="link-button"
                    aria-pressed={entry.scope === scope}
                    onClick={() => {
                      setScope(entry.scope);
                      setFormScope(entry.scope);
                    }}
                    data-testid={`scope-${entry.scope}`}
                  >
                    {entry.scope}
                  </button>{' '}
                  <span class="muted">{t('secrets.scopeCount', { count: entry.secrets })}</span>
                </li>
              ))}
            </ul>
            <nav class="button-row pager" aria-label={t('secrets.pages')}>
              <button
                type="button"
                disabled={cursors.length === 0}
                onClick={() => setCursors(cursors.slice(0, -1))}
                data-testid="scopes-previous"
              >
                {t('secrets.previousPage')}
              </button>
              {/* A later page can be empty: the last full page's scopes were the last ones. */}
              {page.scopes.length === 0 ? null : (
                <span class="muted" data-testid="scopes-page">
                  {t('secrets.pageRange', {
                    from: formatNumber(cursors.length * SCOPE_PAGE + 1),
                    to: formatNumber(cursors.length * SCOPE_PAGE + page.scopes.length),
                  })}
                </span>
              )}
              <button
                type="button"
                disabled={page.next === null}
                onClick={() => page.next !== null && setCursors([...cursors, page.next])}
                data-testid="scopes-next"
              >
                {t('secrets.nextPage')}
              </button>
            </nav>
          </>
        )}
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
        key={formScope}
        scope={formScope}
        onSaved={(savedScope) => {
          scopes.reload();
          if (savedScope === scope) secrets.reload();
          else setScope(savedScope);
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
          scopes.reload();
        }}
      >
        <p>{t('secrets.deleteBody', { scope: scope ?? '', name: deleting ?? '' })}</p>
      </ConfirmDialog>
    </>
  );
}

/** The cursor of the page shown: the last of those before it. */
function afterOf(cursors: readonly string[]): { after?: string } {
  const after = cursors[cursors.length - 1];
  return after === undefined ? {} : { after };
}
