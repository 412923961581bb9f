/**
 * The recovery key: an age X25519 recipient every data key is also wrapped to,
 * so that losing the master key is survivable. Shows the one set
 * (GET /v1/recovery) and sets or replaces it (PUT /v1/recovery) after a
 * confirmation that says what that means.
 *
 * The recipient is pasted (checked here first — an identity pasted by mistake
 * is refused before anything is sent) or made here: "Generate" makes an X25519
 * key pair in this browser (recovery-identity.ts) and offers its identity once,
 * as a file to download. The identity lives only in this component's memory
 * until that download, then is dropped; it is never sent, stored or logged, and
 * the recipient cannot be set until the identity has been saved.
 */
import { useState } from 'preact/hooks';
import { useApi } from '../api/api-context.js';
import type { RecoveryChange } from '../api/api-types.js';
import { useI18n } from '../i18n/i18n-context.js';
import type { MessageKey } from '../i18n/messages.js';
import { checkRecipient, type RecipientCheck } from '../lib/age-recipient-check.js';
import {
  generateRecoveryKeyPair,
  type RecoveryKeyPair,
  recoveryIdentityFile,
  recoveryIdentityFileName,
} from '../lib/recovery-identity.js';
import { saveDownload } from '../lib/save-download.js';
import { useGuardedAction } from '../lib/use-guarded-action.js';
import { useResource } from '../lib/use-resource.js';
import { ConfirmDialog } from './confirm-dialog.js';
import { ErrorNotice } from './error-notice.js';
import { Notice } from './notice.js';
import { TextField } from './text-field.js';

const RECIPIENT_ERRORS: Record<Exclude<RecipientCheck, 'ok'>, MessageKey> = {
  empty: 'recovery.recipientEmpty',
  identity: 'recovery.recipientIsIdentity',
  malformed: 'recovery.recipientMalformed',
};

export function RecoveryKey(props: { onChanged: () => void }) {
  const { t, formatNumber } = useI18n();
  const api = useApi();
  const recovery = useResource(() => api.recovery(), [api]);
  const [recipient, setRecipient] = useState('');
  /** A key pair made here whose identity has not been downloaded yet. */
  const [pending, setPending] = useState<RecoveryKeyPair | null>(null);
  const [inputError, setInputError] = useState<MessageKey | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState<RecoveryChange | null>(null);
  const generate = useGuardedAction(async () => {
    setDone(null);
    setInputError(null);
    const pair = await generateRecoveryKeyPair();
    setPending(pair);
    setRecipient(pair.recipient);
  });

  const current = recovery.data;
  const replacing = current !== null && current.state !== 'absent';
  const chosen = recipient.trim();

  const download = () => {
    if (pending === null) return;
    const now = new Date();
    saveDownload(
      new Blob([recoveryIdentityFile(pending, now)], { type: 'text/plain' }),
      recoveryIdentityFileName(now),
    );
    // Offered once: from here on only the recipient is kept.
    setPending(null);
  };

  const review = (event: Event) => {
    event.preventDefault();
    const check = checkRecipient(chosen);
    if (check !== 'ok') {
      setInputError(RECIPIENT_ERRORS[check]);
      return;
    }
    if (current?.state === 'set' && current.recipient === chosen) {
      setInputError('recovery.alreadySet');
      return;
    }
    setInputError(null);
    setConfirming(true);
  };

  return (
    <form class="card" aria-labelledby="recovery-title" onSubmit={review}>
      <h2 id="recovery-title">{t('recovery.title')}</h2>
      <p>{t('recovery.intro')}</p>
      <ErrorNotice error={recovery.error} />
      {current === null ? null : (
        <p data-testid="recovery-state">
          {current.state === 'set'
            ? t('recovery.stateSet', {
                recipient: current.recipient ?? '',
                covered: formatNumber(current.dataKeys - current.missing),
                dataKeys: formatNumber(current.dataKeys),
              })
            : t(current.state === 'broken' ? 'recovery.stateBroken' : 'recovery.stateAbsent')}
        </p>
      )}
      <TextField
        label={t('recovery.recipient')}
        hint={t('recovery.recipientHint')}
        value={recipient}
        onInput={(value) => {
          setRecipient(value);
          setInputError(null);
          // A recipient typed over a generated one no longer matches its identity.
          setPending(null);
        }}
        placeholder="age1…"
        testId="recovery-recipient"
      />
      {inputError === null ? null : (
        <p class="field-error" role="alert" data-testid="recovery-input-error">
          {t(inputError)}
        </p>
      )}
      <ErrorNotice error={generate.error} />
      {pending === null ? null : (
        <Notice tone="warning" title={t('recovery.downloadTitle')} testId="recovery-download">
          <p>{t('recovery.downloadBody')}</p>
          <button
            type="button"
            class="primary"
            onClick={download}
            data-testid="recovery-download-identity"
          >
            {t('recovery.download')}
          </button>
        </Notice>
      )}
      {done === null ? null : (
        <Notice tone="success" title={t('recovery.doneTitle')} testId="recovery-done">
          <p>
            {t('recovery.doneSummary', {
              rewrapped: formatNumber(done.rewrapped),
              recipient: done.recipient,
            })}
          </p>
        </Notice>
      )}
      <div class="button-row">
        <button
          type="button"
          disabled={generate.busy || pending !== null}
          onClick={() => generate.run()}
          data-testid="recovery-generate"
        >
          {t('recovery.generate')}
        </button>
        <button
          type="submit"
          class="primary"
          disabled={pending !== null}
          data-testid="recovery-review"
        >
          {t(replacing ? 'recovery.reviewReplace' : 'recovery.review')}
        </button>
      </div>

      <ConfirmDialog
        open={confirming}
        title={t(replacing ? 'recovery.confirmReplaceTitle' : 'recovery.confirmTitle')}
        confirmLabel={t('recovery.confirm')}
        danger={replacing}
        onClose={() => setConfirming(false)}
        onConfirm={async () => {
          try {
            setDone(await api.setRecovery(chosen, replacing));
            setRecipient('');
          } finally {
            recovery.reload();
            props.onChanged();
          }
        }}
      >
        <p>{t('keys.confirmLead')}</p>
        <ol class="steps">
          <li>
            {t('recovery.confirmWrap', {
              dataKeys: current === null ? '?' : formatNumber(current.dataKeys),
              recipient: chosen,
            })}
          </li>
          {replacing && current?.recipient !== null && current?.recipient !== undefined ? (
            <li>{t('recovery.confirmReplace', { previous: current.recipient })}</li>
          ) : null}
          <li>{t('recovery.confirmHolder')}</li>
        </ol>
      </ConfirmDialog>
    </form>
  );
}
