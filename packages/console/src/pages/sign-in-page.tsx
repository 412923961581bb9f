/**
 * Sign-in: the operator pastes an API token. The console checks it against the
 * server before keeping it (a 401 is refused here, with the server's message),
 * then keeps it in sessionStorage only — see token-store.ts.
 */
import { useState } from 'preact/hooks';
import { ApiClient } from '../api/api-client.js';
import { ApiError } from '../api/api-error.js';
import { ErrorNotice } from '../components/error-notice.js';
import { LanguageSwitch } from '../components/language-switch.js';
import { TextField } from '../components/text-field.js';
import { useI18n } from '../i18n/i18n-context.js';
import { useGuardedAction } from '../lib/use-guarded-action.js';

/**
 * Resolves when the server accepts `token`, rejects with the ApiError otherwise.
 * GET /v1/keys answers 401 for a bad token before any permission check; a 403
 * (a valid token without admin or keys:rotate) still proves the token is good.
 */
export async function checkToken(token: string): Promise<void> {
  try {
    await new ApiClient(token).json('GET', '/keys');
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return;
    throw err;
  }
}

export function SignInPage(props: { onSignIn: (token: string) => void }) {
  const { t } = useI18n();
  const [token, setToken] = useState('');
  const submit = useGuardedAction(async () => {
    const trimmed = token.trim();
    await checkToken(trimmed);
    props.onSignIn(trimmed);
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
