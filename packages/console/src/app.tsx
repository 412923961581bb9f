/**
 * The console's shell: sign-in until a token is accepted, then the navigation,
 * the current page, the language switch and sign-out. The navigation offers only
 * the pages the token's permissions can use (GET /v1/whoami, from sign-in or
 * fetched again after a reload); a page the token cannot use gives way to the
 * first one it can. A 401 from any request (the token was revoked, or the store
 * was replaced) signs the operator out and says why on the sign-in page.
 */
import type { FunctionComponent } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiClient } from './api/api-client.js';
import { ApiContext } from './api/api-context.js';
import type { ApiError } from './api/api-error.js';
import type { TokenInfo } from './api/api-types.js';
import { LockboxApi } from './api/lockbox-api.js';
import { ErrorNotice } from './components/error-notice.js';
import { LanguageSwitch } from './components/language-switch.js';
import { Notice } from './components/notice.js';
import { useI18n } from './i18n/i18n-context.js';
import type { MessageKey } from './i18n/messages.js';
import { pagesFor } from './lib/page-access.js';
import { hashFor, type PageId, usePage } from './lib/page-route.js';
import type { TokenStore } from './lib/token-store.js';
import { useResource } from './lib/use-resource.js';
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
  /** The token's record as sign-in checked it; null after a reload (the console fetches it). */
  const [info, setInfo] = useState<TokenInfo | null>(null);
  const [signedOutBy, setSignedOutBy] = useState<ApiError | null>(null);

  const signOut = (reason: ApiError | null) => {
    props.tokens.clear();
    setSignedOutBy(reason);
    setInfo(null);
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
          onSignIn={(accepted, acceptedInfo) => {
            setSignedOutBy(null);
            setInfo(acceptedInfo);
            setToken(props.tokens.save(accepted));
          }}
        />
      </>
    );
  }
  return <Console token={token} info={info} onSignOut={signOut} />;
}

function Console(props: {
  token: string;
  info: TokenInfo | null;
  onSignOut: (reason: ApiError | null) => void;
}) {
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
  const whoami = useResource(
    async () => (props.info === null ? api.whoami() : props.info),
    [api, props.info],
  );
  const me = whoami.data ?? props.info;
  const pages = me === null ? [] : pagesFor(me.permissions);
  // The default overview, or an old link, may name a page this token cannot use.
  const shown: PageId | undefined = pages.includes(page) ? page : pages[0];
  const heading = useRef<HTMLHeadingElement>(null);
  const firstRender = useRef(true);

  useEffect(() => {
    if (shown === undefined) return;
    document.title = `${t(PAGE_TITLES[shown])} · Lockbox`;
    // After navigating, focus the new page's heading so keyboard and screen-reader
    // users start there (not on the first render: the browser's focus stays put).
    if (firstRender.current) firstRender.current = false;
    else heading.current?.focus();
  }, [shown, t]);

  const Page = shown === undefined ? null : PAGE_COMPONENTS[shown];
  // Until the token's record is in (after a reload), or when it allows no page at all.
  const noPage =
    me !== null ? (
      <Notice tone="warning" testId="no-pages">
        {t('nav.noPages')}
      </Notice>
    ) : whoami.error !== null ? (
      <ErrorNotice error={whoami.error} />
    ) : (
      <p class="muted">{t('common.loading')}</p>
    );
  return (
    <ApiContext.Provider value={api}>
      <a class="skip-link" href="#main">
        {t('nav.skip')}
      </a>
      <header class="top-bar">
        <span class="brand">Lockbox</span>
        <nav aria-label={t('nav.label')}>
          <ul>
            {pages.map((id) => (
              <li key={id}>
                <a
                  href={hashFor(id)}
                  aria-current={id === shown ? 'page' : undefined}
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
        {shown === undefined || Page === null ? (
          noPage
        ) : (
          <>
            <h1 ref={heading} tabIndex={-1}>
              {t(PAGE_TITLES[shown])}
            </h1>
            <Page key={shown} />
          </>
        )}
      </main>
    </ApiContext.Provider>
  );
}
