/**
 * Backup: export every user scope as an age-encrypted bundle to a recipient (the
 * browser downloads the ciphertext; plaintext never leaves the server), and
 * import a bundle — choose the file (refused here if it is larger than the
 * server accepts), preview what it would change, then apply with a conflict policy.
 */
import { useId, useState } from 'preact/hooks';
import { useApi } from '../api/api-context.js';
import type { ConflictPolicy, ImportReport } from '../api/api-types.js';
import { ErrorNotice } from '../components/error-notice.js';
import { ImportPreview } from '../components/import-preview.js';
import { Notice } from '../components/notice.js';
import { TextField } from '../components/text-field.js';
import { useI18n } from '../i18n/i18n-context.js';
import type { MessageKey } from '../i18n/messages.js';
import type { Params } from '../i18n/translate.js';
import { bundleFileName } from '../lib/bundle-file-name.js';
import { checkFileSize, formatBytes, MAX_IMPORT_BYTES } from '../lib/file-size-guard.js';
import { saveDownload } from '../lib/save-download.js';
import { useGuardedAction } from '../lib/use-guarded-action.js';

const POLICIES: Record<ConflictPolicy, MessageKey> = {
  fail: 'backup.policyFail',
  skip: 'backup.policySkip',
  overwrite: 'backup.policyOverwrite',
};

export function BackupPage() {
  const { t } = useI18n();
  return (
    <>
      <p class="lead">{t('backup.intro')}</p>
      <ExportCard />
      <ImportCard />
    </>
  );
}

function ExportCard() {
  const { t } = useI18n();
  const api = useApi();
  const [recipient, setRecipient] = useState('');
  const [done, setDone] = useState<{ filename: string; bytes: number } | null>(null);
  const exporter = useGuardedAction(async () => {
    setDone(null);
    const download = await api.exportBundle(recipient.trim());
    const filename = download.filename ?? bundleFileName(new Date());
    saveDownload(download.blob, filename);
    setDone({ filename, bytes: download.blob.size });
  });
  return (
    <form
      class="card"
      aria-labelledby="export-title"
      onSubmit={(event) => {
        event.preventDefault();
        exporter.run();
      }}
    >
      <h2 id="export-title">{t('backup.exportTitle')}</h2>
      <p>{t('backup.exportIntro')}</p>
      <TextField
        label={t('backup.recipient')}
        hint={t('backup.recipientHint')}
        value={recipient}
        onInput={setRecipient}
        placeholder="age1…"
        required
        testId="recipient"
      />
      <ErrorNotice error={exporter.error} />
      {done === null ? null : (
        <Notice tone="success" testId="export-done">
          {t('backup.exported', { file: done.filename, size: formatBytes(done.bytes) })}
        </Notice>
      )}
      <button type="submit" class="primary" disabled={exporter.busy} data-testid="export">
        {exporter.busy ? t('backup.exporting') : t('backup.export')}
      </button>
    </form>
  );
}

function ImportCard() {
  const { t } = useI18n();
  const api = useApi();
  const fileId = useId();
  const policyId = useId();
  const [file, setFile] = useState<File | null>(null);
  /** Why the chosen file was refused (kept as a message key, so it follows a language switch). */
  const [fileError, setFileError] = useState<{ key: MessageKey; params: Params } | null>(null);
  const [identity, setIdentity] = useState('');
  const [policy, setPolicy] = useState<ConflictPolicy>('fail');
  const [preview, setPreview] = useState<ImportReport | null>(null);
  const [applied, setApplied] = useState<ImportReport | null>(null);

  const previewing = useGuardedAction(async () => {
    if (file === null) return;
    setPreview(null);
    setApplied(null);
    setPreview(await api.previewImport(file, identity.trim(), policy));
  });
  const applying = useGuardedAction(async () => {
    if (file === null || preview === null) return;
    setApplied(await api.applyImport(file, identity.trim(), policy));
    setPreview(null);
  });

  const choose = (chosen: File | null) => {
    setPreview(null);
    setApplied(null);
    previewing.clearError();
    applying.clearError();
    if (chosen === null) {
      setFile(null);
      setFileError(null);
      return;
    }
    const check = checkFileSize(chosen.size);
    if (check.ok) {
      setFile(chosen);
      setFileError(null);
    } else {
      setFile(null);
      setFileError(
        check.reason === 'empty'
          ? { key: 'backup.fileEmpty', params: {} }
          : {
              key: 'backup.fileTooLarge',
              params: { size: formatBytes(chosen.size), limit: formatBytes(check.limit) },
            },
      );
    }
  };

  return (
    <section class="card" aria-labelledby="import-title">
      <h2 id="import-title">{t('backup.importTitle')}</h2>
      <p>{t('backup.importIntro')}</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          previewing.run();
        }}
      >
        <div class="field">
          <label for={fileId}>{t('backup.file')}</label>
          <input
            id={fileId}
            type="file"
            accept=".age,application/octet-stream"
            aria-describedby={`${fileId}-hint`}
            data-testid="import-file"
            onChange={(event) => choose(event.currentTarget.files?.[0] ?? null)}
          />
          <p id={`${fileId}-hint`} class="hint">
            {t('backup.fileHint', { limit: formatBytes(MAX_IMPORT_BYTES) })}
          </p>
          {fileError === null ? null : (
            <p class="field-error" role="alert" data-testid="file-error">
              {t(fileError.key, fileError.params)}
            </p>
          )}
        </div>
        <TextField
          label={t('backup.identity')}
          hint={t('backup.identityHint')}
          type="password"
          value={identity}
          onInput={setIdentity}
          required
          testId="identity"
        />
        <div class="field">
          <label for={policyId}>{t('backup.policy')}</label>
          <select
            id={policyId}
            value={policy}
            onChange={(event) => {
              // The preview shows what apply writes under one policy; another needs a new preview.
              setPolicy(event.currentTarget.value as ConflictPolicy);
              setPreview(null);
            }}
          >
            {(Object.keys(POLICIES) as ConflictPolicy[]).map((p) => (
              <option key={p} value={p}>
                {t(POLICIES[p])}
              </option>
            ))}
          </select>
        </div>
        <ErrorNotice error={previewing.error} />
        <button
          type="submit"
          disabled={file === null || previewing.busy}
          data-testid="import-preview"
        >
          {t('backup.preview')}
        </button>
      </form>

      {preview === null ? null : (
        <div class="preview">
          <h3>{t('backup.previewTitle')}</h3>
          <ImportPreview report={preview} testId="preview-table" />
          <ErrorNotice error={applying.error} />
          <button
            type="button"
            class="primary"
            disabled={applying.busy}
            data-testid="import-apply"
            onClick={() => applying.run()}
          >
            {t('backup.apply')}
          </button>
        </div>
      )}

      {applied === null ? null : (
        <Notice tone="success" title={t('backup.appliedTitle')} testId="import-done">
          <ImportPreview report={applied} testId="applied-table" />
        </Notice>
      )}
    </section>
  );
}
