/**
 * `lockbox export`: writes the secrets of every scope (or the chosen ones), and
 * the registered fields' values (every field, or those whose scope is chosen), as
 * an age-encrypted bundle, to --output FILE or to stdout (never to a terminal).
 * Plaintext exists only in memory; the file holds age ciphertext that `age -d`
 * reads. docs/backup-and-recovery.md describes the format.
 *
 * With --output the summary goes to stdout (text, or --json); when the bundle
 * itself goes to stdout, the summary goes to stderr.
 */
import type { ExportSummary } from '@lockbox/core';
import type { Command } from 'commander';
import { type EncryptionFlags, encryptionFrom, encryptionOptions } from '../bundle-io.js';
import type { CliContext } from '../context.js';
import { writeArchive } from '../write-archive.js';

interface ExportFlags extends EncryptionFlags {
  scope?: string[];
  output?: string;
  force?: boolean;
}

export function describeExport(s: ExportSummary, where: string): string[] {
  return [
    `Exported ${s.records} secret(s) from ${s.scopes.length} scope(s) to ${where} (${s.bytes} bytes, age-encrypted).`,
    ...s.scopes.map((x) => `  ${x.scope}: ${x.secrets}`),
    ...(s.fields.length === 0
      ? []
      : [
          `and ${s.fieldValues} field value(s) of ${s.fields.length} registered field(s):`,
          ...s.fields.map(
            (f) =>
              `  ${f.table}.${f.column}: ${f.values}${f.notLockbox > 0 ? ` (${f.notLockbox} row(s) not adopted yet, not exported)` : ''}`,
          ),
        ]),
    s.complete
      ? 'This is a complete export: lockbox status counts it as a backup until the keys change.'
      : 'Only some scopes were exported; lockbox status does not count this as a backup.',
  ];
}

export function registerExport(program: Command, context: CliContext): void {
  encryptionOptions(
    program
      .command('export')
      .description('write secrets as an age-encrypted bundle (to --output FILE or stdout)')
      .option(
        '-s, --scope <scope>',
        'export only this scope (repeatable)',
        (v: string, p: string[] = []) => [...p, v],
      )
      .option('-o, --output <file>', 'write the bundle here (0600, atomically) instead of stdout'),
  )
    .option('--force', 'replace an existing output file')
    .action(async (flags: ExportFlags, command: Command) => {
      const invocation = context.invocation(command);
      const encryption = await encryptionFrom(flags, invocation);
      await writeArchive(
        invocation,
        flags,
        'exporting',
        (lockbox, sink, onProgress) =>
          lockbox.backup.export(sink, {
            encryption,
            ...(flags.scope === undefined ? {} : { scopes: flags.scope }),
            actor: invocation.actor,
            onProgress,
          }),
        describeExport,
      );
    });
}
