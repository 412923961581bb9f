/**
 * `lockbox import --preview|--apply FILE`: reads an age-encrypted bundle (FILE,
 * or - for stdin) and reports per scope what would be created, overwritten, left
 * unchanged or in conflict (--preview, writes nothing), or does it in one
 * transaction under a conflict policy (--apply). A refused import writes nothing.
 *
 * Exit codes: 0 done; 2 a bad bundle (malformed, too large, newer version,
 * duplicate); 3 the identity or passphrase does not open it (or it was damaged);
 * 5 IMPORT_CONFLICT under --on-conflict fail.
 */
import {
  CONFLICT_POLICIES,
  type ConflictPolicy,
  type ImportReport,
  LockboxError,
} from '@lockbox/core';
import type { Command } from 'commander';
import {
  type DecryptionFlags,
  decryptionFrom,
  decryptionOptions,
  openInput,
  parseSize,
} from '../bundle-io.js';
import type { CliContext } from '../context.js';
import { formatTable } from '../output.js';
import { withProgress } from '../progress.js';

interface ImportFlags extends DecryptionFlags {
  preview?: boolean;
  apply?: boolean;
  onConflict: string;
  maxSize?: string;
}

/** Field values: per field, rows to update, already equal, missing here; fields not registered here. */
function renderFields(r: ImportReport): string[] {
  const lines = formatTable(
    ['FIELD', 'VALUES', 'UPDATE', 'UNCHANGED', 'NO SUCH ROW', 'REGISTRATION'],
    r.fields.map((f) => [
      `${f.table}.${f.column}`,
      String(f.values),
      String(f.update),
      String(f.unchanged),
      String(f.missingRow),
      f.registration === 'registered'
        ? 'ok'
        : f.registration === 'missing'
          ? 'not registered here (not imported)'
          : `keyed by ${f.targetPrimaryKey?.join(',') ?? '?'} here (not imported)`,
    ]),
  ).map((l) => `  ${l}`);
  for (const f of r.fields) {
    if (f.missingRows.length === 0) continue;
    lines.push(
      `  ${f.table}.${f.column}: no row here for ${f.missingRows.join('; ')}${f.missingRowsTruncated ? '; …' : ''} (rows are never inserted)`,
    );
  }
  return lines;
}

function render(r: ImportReport): string[] {
  const verb = r.mode === 'preview' ? 'would' : 'did';
  const lines = [
    `${r.mode === 'preview' ? 'Preview' : 'Imported'}: ${r.bundle.records} record(s) in ${r.scopes.length} scope(s)` +
      (r.bundle.createdAt === undefined ? '' : `, bundle made ${r.bundle.createdAt}`) +
      (r.bundle.sourceFingerprint === undefined ? '' : ` under key ${r.bundle.sourceFingerprint}`),
    '',
    ...formatTable(
      ['SCOPE', 'CREATE', 'OVERWRITE', 'UNCHANGED', 'CONFLICT'],
      [
        ...r.scopes.map((s) => [
          s.scope,
          String(s.create),
          String(s.overwrite),
          String(s.unchanged),
          String(s.conflict),
        ]),
        [
          'total',
          String(r.totals.create),
          String(r.totals.overwrite),
          String(r.totals.unchanged),
          String(r.totals.conflict),
        ],
      ],
    ).map((l) => `  ${l}`),
  ];
  if (r.conflicts.length > 0) {
    lines.push(
      '',
      'conflicts (the target changed after the bundle was made, or cannot be decrypted):',
    );
    lines.push(...r.conflicts.map((c) => `  ${c.scope}/${c.name}  ${c.reason}`));
    if (r.conflictsTruncated) lines.push('  …');
  }
  if (r.fields.length > 0) lines.push('', ...renderFields(r));
  lines.push(
    '',
    `With --on-conflict ${r.policy}, the import ${verb} write ${r.writes.create} new and ${r.writes.overwrite} changed secret(s)` +
      (r.fields.length > 0 ? ` and ${r.writes.fieldValues} field value(s).` : '.'),
  );
  if (r.mode === 'preview' && r.policy === 'fail' && r.totals.conflict > 0) {
    lines.push('It would be refused (IMPORT_CONFLICT): choose --on-conflict skip or overwrite.');
  }
  return lines;
}

export function registerImport(program: Command, context: CliContext): void {
  decryptionOptions(
    program
      .command('import')
      .description('preview or apply an age-encrypted bundle')
      .argument('<file>', 'the bundle, or - for stdin')
      .option('--preview', 'report what would change, per scope; write nothing')
      .option('--apply', 'import in one transaction'),
  )
    .option('--on-conflict <policy>', `skip, overwrite or fail (default fail)`, 'fail')
    .option('--max-size <bytes>', 'refuse bundles larger than this (default 512M)')
    .action(async (file: string, flags: ImportFlags, command: Command) => {
      const invocation = context.invocation(command);
      if ((flags.preview === true) === (flags.apply === true)) {
        throw new LockboxError('INVALID_ARGUMENT', 'give exactly one of --preview and --apply');
      }
      if (!CONFLICT_POLICIES.includes(flags.onConflict as ConflictPolicy)) {
        throw new LockboxError(
          'INVALID_ARGUMENT',
          `--on-conflict must be one of ${CONFLICT_POLICIES.join(', ')}`,
        );
      }
      const maxBytes = flags.maxSize === undefined ? undefined : parseSize(flags.maxSize);
      const decryption = await decryptionFrom(flags, invocation);
      const input = await openInput(file, invocation, flags);
      const lockbox = await invocation.open();
      const report = await withProgress(
        {
          label: flags.preview === true ? 'reading' : 'importing',
          total: input.size ?? 0,
          stream: invocation.io.stderr,
        },
        (progress) => {
          const options = {
            decryption,
            policy: flags.onConflict as ConflictPolicy,
            actor: invocation.actor,
            ...(maxBytes === undefined ? {} : { maxBytes }),
            onProgress: (p: { bytes: number }) => progress.update(p.bytes),
          };
          return flags.preview === true
            ? lockbox.backup.preview(input.stream, options)
            : lockbox.backup.apply(input.stream, options);
        },
      );
      invocation.output.result(report, render);
    });
}
