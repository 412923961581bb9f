/**
 * The console's shell: sign-in until a token is accepted, then the navigation,
 * the current page, the language switch and sign-out. A 401 from any request
 * (the token was revoked, or the store was replaced) signs the operator out and
 * says why on the sign-in page.
 */
import type { FunctionComponent } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiClient } from './api/api-client.js';
import { ApiContext } from './api/api-context.js';
import type { ApiError } from './api/api-error.js';
import { LockboxApi } from './api/lockbox-api.js';
import { ErrorNotice } from './components/error-notice.js';
import { LanguageSwitch } from './components/language-switch.js';
import { useI18n } from './i18n/i18n-context.js';
import type { MessageKey } from './i18n/messages.js';
import { hashFor, PAGES, type PageId, usePage } from './lib/page-route.js';
import type { TokenStore } from './lib/token-store.js';
import { AuditPage } from './pages/audit-page.js';
import { BackupPage } from './pages/backup-page.js';
import { KeysPage } from './pages/keys-page.js';
import { OverviewPage } from './pages/overview-page.js';
import { SecretsPage } from './pages/secrets-page.js';
import { SignInPage } from './pages/sign-in-page.js';
import { TokensPage } from './pages/tokens-page.js';

const PAGE_TITLES: Record<PageId, MessageKey> = {
  overview: 'nav.overview',
  secrets: 'nav.secrets',
  keys: 'nav.keys',
  backup: 'nav.backup',
  audit: 'nav.audit',
  tokens: 'nav.tokens',
};

const PAGE_COMPONENTS: Record<PageId, FunctionComponent> = {
  overview: OverviewPage,
  secrets: SecretsPage,
  keys: KeysPage,
  backup: BackupPage,
  audit: AuditPage,
  tokens: TokensPage,
};

export function App(props: { tokens: TokenStore }) {
  const [token, setToken] = useState<string | null>(() => props.tokens.load());
  const [signedOutBy, setSignedOutBy] = useState<ApiError | null>(null);

  const signOut = (reason: ApiError | null) => {
    props.tokens.clear();
    setSignedOutBy(reason);
    setToken(null);
  };

  if (token === null) {
    return (
      <>
        {signedOutBy === null ? null : (
          <div class="signed-out">
            <ErrorNotice error={signedOutBy} />
          </div>
        )}
        <SignInPage
          onSignIn={(accepted) => {
            setSignedOutBy(null);
            setToken(props.tokens.save(accepted));
          }}
        />
      </>
    );
  }
  return <Console token={token} onSignOut={signOut} />;
}

function Console(props: { token: string; onSignOut: (reason: ApiError | null) => void }) {
  const { t } = useI18n();
  const page = usePage();
  const onSignOut = useRef(props.onSignOut);
  onSignOut.current = props.onSignOut;
  const api = useMemo(
    () =>
      new LockboxApi(
        new ApiClient(props.token, { onUnauthorized: (error) => onSignOut.current(error) }),
      ),
    [props.token],
  );
  const heading = useRef<HTMLHeadingElement>(null);
  const firstRender = useRef(true);

  useEffect(() => {
    document.title = `${t(PAGE_TITLES[page])} · Lockbox`;
    // After navigating, focus the new page's heading so keyboard and screen-reader
    // users start there (not on the first render: the browser's focus stays put).
    if (firstRender.current) firstRender.current = false;
    else heading.current?.focus();
  }, [page, t]);

  const Page = PAGE_COMPONENTS[page];
  return (
    <ApiContext.Provider value={api}>
      <a class="skip-link" href="#main">
        {t('nav.skip')}
      </a>
      <header class="top-bar">
        <span class="brand">Lockbox</span>
        <nav aria-label={t('nav.label')}>
          <ul>
            {PAGES.map((id) => (
              <li key={id}>
                <a
                  href={hashFor(id)}
                  aria-current={id === page ? 'page' : undefined}
                  data-testid={`nav-${id}`}
                >
                  {t(PAGE_TITLES[id])}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <LanguageSwitch />
        <button type="button" class="link-button" onClick={() => props.onSignOut(null)}>
          {t('nav.signOut')}
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <h1 ref={heading} tabIndex={-1}>
          {t(PAGE_TITLES[page])}
        </h1>
        <Page key={page} />
      </main>
    </ApiContext.Provider>
  );
}
