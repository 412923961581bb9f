/**
 * Creating an API token: a name and permissions. The token text comes back once,
 * in the creation answer; it is shown here once with a copy button and is gone
 * when the operator dismisses it or leaves the page (Lockbox keeps only its hash).
 */
import { useId, useState } from 'preact/hooks';
import { useApi } from '../api/api-context.js';
import type { CreatedToken } from '../api/api-types.js';
import { useI18n } from '../i18n/i18n-context.js';
import type { MessageKey } from '../i18n/messages.js';
import {
  PLAIN_PERMISSIONS,
  type PlainPermission,
  permissionStrings,
} from '../lib/permission-choice.js';
import { useGuardedAction } from '../lib/use-guarded-action.js';
import { ErrorNotice } from './error-notice.js';
import { Notice } from './notice.js';
import { TextField } from './text-field.js';

const PLAIN_LABELS: Record<PlainPermission, MessageKey> = {
  'keys:rotate': 'tokens.permKeysRotate',
  'backup:export': 'tokens.permBackupExport',
  'backup:import': 'tokens.permBackupImport',
  'audit:read': 'tokens.permAuditRead',
  admin: 'tokens.permAdmin',
};

export function CreateTokenForm(props: { onCreated: () => void }) {
  const { t } = useI18n();
  const api = useApi();
  const [name, setName] = useState('');
  const [read, setRead] = useState<string | null>(null);
  const [write, setWrite] = useState<string | null>(null);
  const [plain, setPlain] = useState<ReadonlySet<PlainPermission>>(new Set());
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [copied, setCopied] = useState(false);
  const permissions = permissionStrings({ read, write, plain });
  const create = useGuardedAction(async () => {
    setCreated(null);
    setCopied(false);
    setCreated(await api.createToken(name.trim(), permissions));
    setName('');
    props.onCreated();
  });

  const toggle = (perm: PlainPermission, on: boolean) => {
    const next = new Set(plain);
    if (on) next.add(perm);
    else next.delete(perm);
    setPlain(next);
  };

  return (
    <form
      class="card"
      aria-labelledby="create-token-title"
      onSubmit={(event) => {
        event.preventDefault();
        create.run();
      }}
    >
      <h2 id="create-token-title">{t('tokens.createTitle')}</h2>
      <TextField
        label={t('tokens.name')}
        hint={t('tokens.nameHint')}
        value={name}
        onInput={setName}
        required
        testId="token-name"
      />
      <fieldset>
        <legend>{t('tokens.permissions')}</legend>
        <ScopedPermission
          label={t('tokens.permRead')}
          code="secrets:read"
          glob={read}
          onChange={setRead}
        />
        <ScopedPermission
          label={t('tokens.permWrite')}
          code="secrets:write"
          glob={write}
          onChange={setWrite}
        />
        {PLAIN_PERMISSIONS.map((perm) => (
          <Checkbox
            key={perm}
            label={t(PLAIN_LABELS[perm])}
            code={perm}
            checked={plain.has(perm)}
            onChange={(on) => toggle(perm, on)}
          />
        ))}
      </fieldset>
      <ErrorNotice error={create.error} />
      <button type="submit" class="primary" disabled={create.busy || permissions.length === 0}>
        {t('tokens.create')}
      </button>
      {created === null ? null : (
        <Notice tone="warning" title={t('tokens.createdTitle')} testId="created-token">
          <p>{t('tokens.createdOnce', { name: created.info.name })}</p>
          <p>
            <code class="token-text" data-testid="created-token-text">
              {created.token}
            </code>
          </p>
          <button
            type="button"
            onClick={() => {
              void navigator.clipboard?.writeText(created.token).then(() => setCopied(true));
            }}
          >
            {copied ? t('tokens.copied') : t('tokens.copy')}
          </button>{' '}
          <button type="button" onClick={() => setCreated(null)}>
            {t('tokens.dismiss')}
          </button>
        </Notice>
      )}
    </form>
  );
}

function Checkbox(props: {
  label: string;
  code: string;
  checked: boolean;
  onChange: (on: boolean) => void;
}) {
  const id = useId();
  return (
    <div class="check">
      <input
        id={id}
        type="checkbox"
        checked={props.checked}
        onChange={(event) => props.onChange(event.currentTarget.checked)}
      />
      <label for={id}>
        {props.label} <code>{props.code}</code>
      </label>
    </div>
  );
}

/** A secret permission: a checkbox, and when checked, the scope glob it applies to. */
function ScopedPermission(props: {
  label: string;
  code: 'secrets:read' | 'secrets:write';
  glob: string | null;
  onChange: (glob: string | null) => void;
}) {
  const { t } = useI18n();
  return (
    <div class="scoped-permission">
      <Checkbox
        label={props.label}
        code={props.code}
        checked={props.glob !== null}
        onChange={(on) => props.onChange(on ? '*' : null)}
      />
      {props.glob === null ? null : (
        <TextField
          label={t('tokens.scopeGlob')}
          hint={t('tokens.scopeGlobHint')}
          value={props.glob}
          onInput={props.onChange}
        />
      )}
    </div>
  );
}
