/**
 * `lockbox doctor`: what the stored data needs from the keyring, and what is
 * wrong. Counts ciphertexts per master-key fingerprint (through their data keys)
 * across secrets and every registered field; rows still in plaintext, Fernet or
 * `v2:` form; rows the configured keys cannot open; the rotation lock and any
 * unfinished job. Says which previous keys are no longer needed (safe to drop)
 * and which must stay. `--verify` decrypts every row instead of checking keys.
 * It also verifies the audit log and compares each secret's stored version with
 * the last version the log recorded, reporting rollbacks (scope/name and
 * versions, never values).
 *
 * Exit codes: 0 when every row opens with the configured keys (warnings, such as
 * legacy rows or an unfinished job, are printed but do not fail); 3 when rows are
 * unreadable or a needed key is missing; 1 when the audit log is broken or a
 * secret was rolled back, resurrected or removed behind Lockbox's back.
 */
import {
  type Census,
  type IntegrityReport,
  isLockboxError,
  type RotationStatus,
  type RowStateCheck,
  type SecretVersionCheck,
  type VersionMismatch,
} from '@lockbox/core';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { loadKeyring } from '../key-files.js';
import { formatTable } from '../output.js';

export interface DoctorFinding {
  severity: 'error' | 'warning' | 'info';
  message: string;
  /** What to run or do about it. */
  hint?: string;
}

/**
 * Errors for rows that fail their integrity check and for a retired primary. While
 * there are any, doctor reports only these: the census would refuse to walk an
 * unauthenticated field registration.
 */
export function integrityFindings(report: IntegrityReport): DoctorFinding[] {
  const findings: DoctorFinding[] = report.breaks.map((b) => ({
    severity: 'error',
    message: `row ${b.rowId} of ${b.table} fails its integrity check: it was changed outside Lockbox and is not used`,
    hint: 'see docs/security.md (the database writer): revoke and re-create such tokens, re-register fields you recognise, `lockbox recovery replace` for the recipient',
  }));
  if (report.primary.state === 'retired') {
    findings.push({
      severity: 'error',
      message: `the primary master key ${report.primary.fingerprint} is retired in the store (another instance rotated)`,
      hint: 'configure the new key as primary',
    });
  }
  return findings;
}

const MISMATCH_TEXT: Record<VersionMismatch['kind'], (m: VersionMismatch) => string> = {
  'rolled-back': (m) =>
    `secret "${m.scope}/${m.name}" is at version ${m.stored}, but the audit log recorded version ${m.audited} written: it was rolled back`,
  resurrected: (m) =>
    `secret "${m.scope}/${m.name}" exists (version ${m.stored}), but the audit log's last record of it is a delete`,
  vanished: (m) =>
    `secret "${m.scope}/${m.name}" is missing, but the audit log recorded version ${m.audited} written and no delete`,
  ahead: (m) =>
    `secret "${m.scope}/${m.name}" is at version ${m.stored}, above the last version the audit log recorded (${m.audited})`,
};

/** The findings about rollback: the audit chain, then each secret whose version disagrees with it. */
export function diagnoseVersions(check: SecretVersionCheck): DoctorFinding[] {
  if (!check.auditOk) {
    return [
      {
        severity: 'error',
        message: 'the audit log does not verify, so secrets cannot be checked for rollback',
        hint: 'lockbox audit verify says where it breaks',
      },
    ];
  }
  const findings: DoctorFinding[] = check.mismatches.map((m) => ({
    severity: m.kind === 'ahead' ? 'warning' : 'error',
    message: MISMATCH_TEXT[m.kind](m),
    ...(m.kind === 'ahead'
      ? { hint: 'a write whose audit entry was not recorded (auditing off, or the append failed)' }
      : { hint: 'restore the secret from a backup or set it again; see docs/security.md' }),
  }));
  const total = Object.values(check.counts).reduce((a, b) => a + b, 0);
  if (total > check.mismatches.length) {
    findings.push({
      severity: 'error',
      message: `${total - check.mismatches.length} more secret version mismatch(es) not listed`,
    });
  }
  return findings;
}

const ROLLBACK_TEXT: Record<
  RowStateCheck['rollbacks'][number]['kind'],
  (row: string | null, recorded: string) => string
> = {
  'token-unrevoked': (row) =>
    `token ${row} is stored unrevoked, but the audit log recorded it revoked: its row was put back`,
  'recipient-rolled-back': (row, recorded) =>
    `the recovery recipient is ${row}, but the audit log's last recovery.set recorded ${recorded}: an older recipient was put back`,
  'recipient-removed': (_row, recorded) =>
    `no recovery recipient is stored, but the audit log's last recovery.set recorded ${recorded}`,
};

/** The findings about authenticated rows put back whole (row-state-check.ts in core). */
export function diagnoseRowStates(check: RowStateCheck): DoctorFinding[] {
  return check.rollbacks.map((r) => ({
    severity: 'error',
    message: ROLLBACK_TEXT[r.kind](r.row, r.recorded),
    hint:
      r.kind === 'token-unrevoked'
        ? `revoke it again (lockbox token revoke ${r.row}); see docs/security.md (the database writer)`
        : 'set the recipient again with `lockbox recovery replace`; see docs/security.md (the database writer)',
  }));
}

/**
 * The findings for a census and a rotation status, most severe first.
 * `adoptedFields` ("table.column") are fields with an audited `field.adopt`:
 * legacy-looking rows there did not come from the application's past (or an
 * earlier adoption left them, reported as failed), and may have been planted by
 * someone who can write to the table. Lockbox rows alone do not count: an
 * application may write new values through Lockbox before adopting old ones.
 */
export function diagnose(
  census: Census,
  rotation: RotationStatus,
  /** Where each configured key came from (fingerprint → file, variable), for hints. */
  sources: ReadonlyMap<string, string> = new Map(),
  versions?: SecretVersionCheck,
  adoptedFields: ReadonlySet<string> = new Set(),
): DoctorFinding[] {
  const findings: DoctorFinding[] = versions === undefined ? [] : diagnoseVersions(versions);
  for (const fp of census.missing) {
    findings.push({
      severity: 'error',
      message: `master key ${fp} is needed by stored data keys and is not in the keyring`,
      hint: 'add it as a previous key (LOCKBOX_PREVIOUS_KEYS or --previous-key-file)',
    });
  }
  if (census.secrets.unreadable > 0) {
    const reasons = Object.entries(census.secrets.unreadableByReason)
      .map(([reason, n]) => `${n} ${reason}`)
      .join(', ');
    findings.push({
      severity: 'error',
      message: `${census.secrets.unreadable} secret(s) cannot be decrypted with the configured keys (${reasons})`,
      hint: 'restore them from a backup or recovery; `lockbox list --verify` names them',
    });
  }
  for (const f of census.fields) {
    const name = `${f.table}.${f.column}`;
    if (f.keyProblem !== null) {
      findings.push({
        severity: 'warning',
        message: `${name} cannot be adopted or re-keyed, and blocks \`lockbox rotate data\`: ${f.keyProblem.message}`,
        hint: `fix the table's key, or register the field with its real key: lockbox fields add --table ${f.table} --column ${f.column} --primary-key COLUMNS`,
      });
      continue;
    }
    if (f.unreadable > 0) {
      findings.push({
        severity: 'error',
        message: `${f.unreadable} row(s) of ${name} cannot be decrypted with the configured keys`,
      });
    }
    const legacy = f.plaintext + f.fernet + f.v2;
    if (legacy > 0 && adoptedFields.has(name)) {
      findings.push({
        severity: 'warning',
        message: `${name} was already adopted into Lockbox's format, yet holds ${f.plaintext} plaintext, ${f.fernet} Fernet and ${f.v2} v2: value(s): they may have been planted by someone who can write to ${f.table}`,
        hint: `find out where they came from before adopting them: \`rotate adopt --plaintext\` would encrypt whatever was planted as a genuine credential (\`lockbox rotate adopt --table ${f.table} --column ${f.column} --dry-run\` lists them)`,
      });
    } else if (legacy > 0) {
      findings.push({
        severity: 'warning',
        message: `${name} still holds ${f.plaintext} plaintext, ${f.fernet} Fernet and ${f.v2} v2: value(s)`,
        hint: `lockbox rotate adopt [--table ${f.table} --column ${f.column}] [--fernet-key-file F] [--v2-key-file F] [--plaintext]`,
      });
    }
    if (f.otherLockboxFormat > 0) {
      findings.push({
        severity: 'warning',
        message: `${f.otherLockboxFormat} row(s) of ${name} are in a Lockbox format this version does not read`,
        hint: 'upgrade Lockbox',
      });
    }
  }
  if (census.secrets.versionless > 0) {
    findings.push({
      severity: 'warning',
      message: `${census.secrets.versionless} secret(s) are still lb1: (not bound to their version), so an older ciphertext of each can be put back undetected by decryption`,
      hint: 'lockbox rotate data (re-encrypts them as lb2: and destroys the old data keys)',
    });
  }
  const onRetiring =
    census.secrets.onRetiringKeys + census.fields.reduce((n, f) => n + f.onRetiringKeys, 0);
  if (census.dataKeys.retiring > 0) {
    findings.push({
      severity: 'warning',
      message: `${census.dataKeys.retiring} data key(s) are retiring (${onRetiring} row(s) still on them): a data re-key has not finished, or keeps the old keys of field scopes for their grace period`,
      hint: 'lockbox rotate resume if a job is unfinished; otherwise, once the grace period has passed, lockbox rotate data --finish',
    });
  }
  if (rotation.unfinished !== null && (rotation.lock === null || !rotation.lock.live)) {
    findings.push({
      severity: 'warning',
      message: `an interrupted ${rotation.unfinished.kind} rotation (job ${rotation.unfinished.id}) has not finished`,
      hint: 'lockbox rotate resume (or lockbox rotate abandon)',
    });
  }
  if (rotation.lock?.live === true) {
    findings.push({
      severity: 'info',
      message: `a rotation is running: ${rotation.lock.holder} since ${rotation.lock.since}`,
    });
  }
  for (const fp of census.droppable) {
    const source = sources.get(fp);
    const file = source?.includes('/') ? source : undefined;
    findings.push({
      severity: 'info',
      message: `previous key ${fp}${source === undefined ? '' : ` (from ${source})`} is no longer needed by any stored data: it can be dropped from the keyring`,
      ...(file === undefined
        ? {}
        : {
            hint: `delete ${file} (keep an offline copy while backups from before the rotation exist)`,
          }),
    });
  }
  for (const key of census.masterKeys) {
    if (key.needed && !key.primary && key.inKeyring) {
      findings.push({
        severity: 'info',
        message: `previous key ${key.fingerprint} is still needed by ${key.dataKeys} data key(s): keep it`,
        hint: 'lockbox rotate master --old-key-file <its file> --new-key-file <primary key file> moves them',
      });
    }
  }
  const order = { error: 0, warning: 1, info: 2 };
  return findings.sort((a, b) => order[a.severity] - order[b.severity]);
}

export function registerDoctor(program: Command, context: CliContext): void {
  program
    .command('doctor')
    .description(
      'count ciphertexts per key, find legacy and unreadable rows, say which keys can be dropped',
    )
    .option('--verify', 'decrypt every secret and field row instead of checking keys only')
    .action(async (flags: { verify?: boolean }, command: Command) => {
      const invocation = context.invocation(command);
      const config = await invocation.config();
      const lockbox = await invocation.open();
      const integrity = integrityFindings(await lockbox.integrityReport());
      if (integrity.length > 0) {
        invocation.output.result({ ok: false, integrity: true, findings: integrity }, (r) =>
          r.findings.flatMap((f) => [
            `${f.severity}: ${f.message}`,
            ...(f.hint === undefined ? [] : [`  → ${f.hint}`]),
          ]),
        );
        process.exitCode = EXIT.FAILURE;
        return;
      }
      const census = await lockbox.rotation.census({ verify: flags.verify === true });
      const rotation = await lockbox.rotation.status();
      const { sources } = await loadKeyring(config);
      // A keyring that cannot unwrap the audit key is reported by the census above.
      const versions = await lockbox.audit
        .checkSecretVersions()
        .catch((err: unknown) => (isLockboxError(err) ? undefined : Promise.reject(err)));
      // Audited adoptions (the entries are MACed, so a database writer cannot add one).
      const adoptions = await lockbox.audit.list({ action: 'field.adopt', limit: 1000 });
      const adopted = new Set(
        adoptions
          .filter((e) => e.outcome === 'ok')
          .map((e) => `${String(e.details?.table)}.${String(e.details?.column)}`),
      );
      const rowStates = await lockbox.audit
        .checkRowStates()
        .catch((err: unknown) => (isLockboxError(err) ? undefined : Promise.reject(err)));
      const findings = [
        ...(rowStates === undefined ? [] : diagnoseRowStates(rowStates)),
        ...diagnose(census, rotation, sources, versions, adopted),
      ];
      const ok = !findings.some((f) => f.severity === 'error');
      const store = lockbox.vault.store;
      const report = {
        ok,
        database: { dialect: store.dialect, location: store.location },
        primarySource: config.primaryKeySource ?? null,
        census,
        rotation,
        versions,
        findings,
      };
      invocation.output.result(report, (r) => {
        const c = r.census;
        const lines = [
          `database:   ${r.database.location} (${r.database.dialect})`,
          `primary:    ${c.primary}${r.primarySource === null ? '' : ` (from ${r.primarySource})`}`,
          `keyring:    ${c.keyring.join(', ')}`,
          '',
          'master keys (what the stored data keys are wrapped under):',
          ...formatTable(
            ['FINGERPRINT', 'RECORDED', 'KEYRING', 'DATA KEYS', 'SECRETS', 'FIELD ROWS', 'NEEDED'],
            c.masterKeys.map((k) => [
              k.fingerprint,
              k.recorded ?? '-',
              k.primary ? 'primary' : k.inKeyring ? 'previous' : 'absent',
              String(k.dataKeys),
              String(k.secrets),
              String(k.fieldRows),
              k.needed ? 'yes' : 'no',
            ]),
          ).map((l) => `  ${l}`),
          '',
          `data keys:  ${c.dataKeys.active} active, ${c.dataKeys.retiring} retiring, ${c.dataKeys.destroyed} destroyed`,
          `secrets:    ${c.secrets.total} (${c.secrets.unreadable} unreadable${c.verified ? ', every one decrypted' : ''})`,
          `versions:   ${r.versions === undefined ? 'not checked (the audit key cannot be opened)' : !r.versions.auditOk ? 'not checked (the audit log does not verify)' : `${r.versions.compared} compared with the audit log, ${r.versions.unrecorded} without a record`}`,
        ];
        if (c.fields.length > 0) {
          lines.push(
            'fields:',
            ...formatTable(
              ['FIELD', 'ROWS', 'LOCKBOX', 'PLAINTEXT', 'FERNET', 'V2', 'UNREADABLE'],
              c.fields.map((f) => [
                `${f.table}.${f.column}`,
                String(f.rows),
                String(f.lockbox),
                String(f.plaintext),
                String(f.fernet),
                String(f.v2),
                String(f.unreadable),
              ]),
            ).map((l) => `  ${l}`),
          );
        }
        lines.push('');
        if (r.findings.length === 0) lines.push('ok: every row opens with the configured keys');
        for (const f of r.findings) {
          lines.push(`${f.severity}: ${f.message}`);
          if (f.hint !== undefined) lines.push(`  → ${f.hint}`);
        }
        if (r.ok && r.findings.length > 0)
          lines.push('ok: every row opens with the configured keys');
        return lines;
      });
      const keysOk = !diagnose(census, rotation).some((f) => f.severity === 'error');
      if (!keysOk) process.exitCode = EXIT.WRONG_KEY;
      else if (!ok) process.exitCode = EXIT.FAILURE;
    });
}
