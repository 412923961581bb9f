/**
 * How a failed request is shown: a heading in the console's language, then the
 * API's own message and code as the server sent them (the server's messages name
 * what went wrong — a fingerprint, a scope — and never a key or a value).
 * role="alert" makes screen readers announce it when it appears.
 */
import type { ApiError } from '../api/api-error.js';
import { useI18n } from '../i18n/i18n-context.js';

export function ErrorNotice(props: { error: ApiError | null; testId?: string }) {
  const { t } = useI18n();
  if (props.error === null) return null;
  return (
    <div class="notice notice-error" role="alert" data-testid={props.testId ?? 'error'}>
      <strong>{t('error.heading')}</strong>
      <p>
        <span class="error-message">{props.error.message}</span>{' '}
        <code class="error-code">{props.error.code}</code>
      </p>
    </div>
  );
}
