/**
 * `lockbox status`: what the store holds and which keys it needs — schema
 * version, location (password redacted), fingerprints, secrets per scope, and
 * rows the configured keys cannot open. Never a value or a key.
 *
 * Exit codes: 0 when every data key opens; 3 when some rows are undecryptable
 * (after printing the report), or when the keyring opens nothing at all (the
 * store then refuses to open with KEY_WRONG, naming the fingerprint it needs);
 * 1 when security-relevant rows fail their integrity check (listed by table and
 * row id, never values).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { loadKeyring } from '../key-files.js';
import { formatTable } from '../output.js';

export function registerStatus(program: Command, context: CliContext): void {
  program
    .command('status')
    .description('show keys, fingerprints, counts per scope and undecryptable rows')
    .action(async (_options: unknown, command: Command) => {
      const invocation = context.invocation(command);
      const config = await invocation.config();
      const lockbox = await invocation.open();
      const { sources } = await loadKeyring(config);
      const status = await lockbox.status();
      const backup = await lockbox.backup.state();
      const store = lockbox.vault.store;
      const report = {
        database: { dialect: store.dialect, location: store.location },
        storeId: lockbox.vault.storeId,
        schemaVersion: status.schemaVersion,
        keys: {
          primary: status.keys.primary,
          primarySource: config.primaryKeySource ?? null,
          previous: status.keys.previous,
          previousSources: Object.fromEntries(
            status.keys.previous.map((fp) => [fp, sources.get(fp) ?? null]),
          ),
          needed: status.keys.needed,
          unusedPreviousKeys: status.keys.unusedPreviousKeys,
        },
        scopes: status.scopes,
        totals: status.totals,
        undecryptable: status.undecryptable,
        integrity: status.integrity,
        backup,
      };
      invocation.output.result(report, (r) => {
        const lines = [
          `database:        ${r.database.location} (${r.database.dialect})`,
          `store id:        ${r.storeId}`,
          `schema version:  ${r.schemaVersion}`,
          `primary key:     ${r.keys.primary}${r.keys.primarySource === null ? '' : ` (from ${r.keys.primarySource})`}`,
          `previous keys:   ${r.keys.previous.length === 0 ? 'none' : r.keys.previous.map((fp) => `${fp}${r.keys.previousSources[fp] ? ` (from ${r.keys.previousSources[fp]})` : ''}`).join(', ')}`,
        ];
        if (r.keys.unusedPreviousKeys.length > 0) {
          lines.push(
            `unused previous: ${r.keys.unusedPreviousKeys.join(', ')} (no data key needs them; safe to drop)`,
          );
        }
        lines.push('', 'master keys needed by stored data keys:');
        if (r.keys.needed.length === 0) lines.push('  none yet (no secrets written)');
        for (const n of r.keys.needed) {
          lines.push(
            `  ${n.fingerprint}  ${n.dataKeys} data key(s)  ${n.inKeyring ? 'in keyring' : 'MISSING from keyring'}`,
          );
        }
        lines.push(
          '',
          `${r.totals.secrets} secret(s) in ${r.totals.scopes} scope(s), ${r.totals.dataKeys} data key(s)`,
        );
        if (r.scopes.length > 0) {
          lines.push(
            ...formatTable(
              ['SCOPE', 'SECRETS'],
              r.scopes.map((s) => [s.scope, String(s.secrets)]),
            ).map((l) => `  ${l}`),
          );
        }
        lines.push(
          '',
          r.backup.state === 'ok'
            ? `backup:          ok${r.backup.recoveryRecipient === undefined ? '' : ` (recovery recipient ${r.backup.recoveryRecipient})`}${r.backup.lastExportAt === undefined ? '' : `, last complete export ${r.backup.lastExportAt}`}`
            : `backup:          NOT BACKED UP: ${r.backup.reasons.join('; ')} (see lockbox recovery add / lockbox export)`,
        );
        if (r.integrity.breaks.length > 0) {
          lines.push(
            '',
            'INTEGRITY BROKEN (changed outside Lockbox, not used; run lockbox doctor):',
          );
          for (const b of r.integrity.breaks) lines.push(`  ${b.table} ${b.rowId}`);
        }
        if (r.integrity.primary.state === 'retired') {
          lines.push(
            '',
            `PRIMARY KEY RETIRED: ${r.integrity.primary.fingerprint} was retired by a rotation; configure the new key as primary`,
          );
        }
        if (r.undecryptable.length > 0) {
          lines.push('', 'UNDECRYPTABLE:');
          for (const u of r.undecryptable) {
            lines.push(
              `  ${u.scope}: ${u.secrets} secret(s), data key ${u.dataKeyId}: ${u.code} ${u.message}`,
            );
          }
        }
        return lines;
      });
      if (status.undecryptable.length > 0) {
        const count = status.undecryptable.reduce((sum, u) => sum + u.secrets, 0);
        invocation.output.error(
          'SECRET_UNDECRYPTABLE',
          `${count} secret(s) cannot be decrypted with the configured keys`,
        );
        process.exitCode = EXIT.WRONG_KEY;
      } else if (status.integrity.breaks.length > 0) {
        invocation.output.error(
          'INTEGRITY_CHECK_FAILED',
          `${status.integrity.breaks.length} row(s) fail their integrity check`,
        );
        process.exitCode = EXIT.FAILURE;
      }
    });
}
