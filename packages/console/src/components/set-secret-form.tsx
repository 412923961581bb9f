/**
 * Creating or replacing a secret: scope, name, value and optional metadata (a
 * JSON object kept in clear beside the value — the hint says so). The value
 * field is cleared after a successful save so it does not linger on screen;
 * metadata that is not a JSON object is refused here, before anything is sent.
 */
import { useState } from 'preact/hooks';
import { useApi } from '../api/api-context.js';
import { useI18n } from '../i18n/i18n-context.js';
import { parseMetadata } from '../lib/parse-metadata.js';
import { useGuardedAction } from '../lib/use-guarded-action.js';
import { ErrorNotice } from './error-notice.js';
import { Notice } from './notice.js';
import { TextField } from './text-field.js';

export function SetSecretForm(props: { scope: string; onSaved: (scope: string) => void }) {
  const { t } = useI18n();
  const api = useApi();
  const [scope, setScope] = useState(props.scope);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [metadata, setMetadata] = useState('');
  const [saved, setSaved] = useState<{ name: string; version: number } | null>(null);
  const [metadataError, setMetadataError] = useState(false);
  const save = useGuardedAction(async () => {
    setSaved(null);
    const parsed = parseMetadata(metadata);
    setMetadataError(!parsed.ok);
    if (!parsed.ok) return;
    const written = await api.setSecret(scope.trim(), name.trim(), value, parsed.metadata);
    setSaved({ name: name.trim(), version: written.version });
    setValue('');
    props.onSaved(scope.trim());
  });
  return (
    <form
      class="card"
      aria-labelledby="set-secret-title"
      onSubmit={(event) => {
        event.preventDefault();
        save.run();
      }}
    >
      <h2 id="set-secret-title">{t('secrets.setTitle')}</h2>
      <div class="row">
        <TextField
          label={t('secrets.scope')}
          value={scope}
          onInput={setScope}
          required
          testId="set-scope"
        />
        <TextField
          label={t('secrets.name')}
          value={name}
          onInput={setName}
          required
          testId="set-name"
        />
      </div>
      <TextField
        label={t('secrets.value')}
        hint={t('secrets.valueHint')}
        value={value}
        onInput={setValue}
        multiline
        required
        testId="set-value"
      />
      <TextField
        label={t('secrets.metadata')}
        hint={t('secrets.metadataHint')}
        value={metadata}
        onInput={setMetadata}
        placeholder='{"owner": "payments"}'
      />
      {metadataError ? (
        <p class="field-error" role="alert">
          {t('secrets.metadataInvalid')}
        </p>
      ) : null}
      <ErrorNotice error={save.error} />
      {saved === null ? null : (
        <Notice tone="success" testId="set-done">
          {t('secrets.saved', { name: saved.name, version: saved.version })}
        </Notice>
      )}
      <button type="submit" class="primary" disabled={save.busy}>
        {t('secrets.save')}
      </button>
    </form>
  );
}
