/**
 * Sign-in: the operator pastes an API token. The console checks it against the
 * server before keeping it (a 401 is refused here, with the server's message),
 * then keeps it in sessionStorage only — see token-store.ts.
 */
import { useState } from 'preact/hooks';
import { ApiClient } from '../api/api-client.js';
import type { TokenInfo } from '../api/api-types.js';
import { LockboxApi } from '../api/lockbox-api.js';
import { ErrorNotice } from '../components/error-notice.js';
import { LanguageSwitch } from '../components/language-switch.js';
import { TextField } from '../components/text-field.js';
import { useI18n } from '../i18n/i18n-context.js';
import { useGuardedAction } from '../lib/use-guarded-action.js';

/**
 * Resolves with the token's record (its permissions decide which pages show)
 * when the server accepts `token`; rejects with the ApiError otherwise.
 * GET /v1/whoami takes any valid token, so only a bad one is refused (401).
 */
export function checkToken(token: string): Promise<TokenInfo> {
  return new LockboxApi(new ApiClient(token)).whoami();
}

export function SignInPage(props: { onSignIn: (token: string, info: TokenInfo) => void }) {
  const { t } = useI18n();
  const [token, setToken] = useState('');
  const submit = useGuardedAction(async () => {
    const trimmed = token.trim();
    const info = await checkToken(trimmed);
    props.onSignIn(trimmed, info);
  });
  return (
    <main class="sign-in" id="main">
      <div class="sign-in-box">
        <h1>{t('signIn.title')}</h1>
        <p>{t('signIn.intro')}</p>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            if (token.trim() !== '') submit.run();
          }}
        >
          <TextField
            label={t('signIn.token')}
            hint={t('signIn.tokenHint')}
            type="password"
            value={token}
            onInput={setToken}
            required
            testId="token-input"
          />
          <ErrorNotice error={submit.error} />
          <button type="submit" class="primary" disabled={submit.busy}>
            {submit.busy ? t('signIn.checking') : t('signIn.submit')}
          </button>
        </form>
        <LanguageSwitch />
      </div>
    </main>
  );
}
