/**
 * What `lockbox rotate` prints: the one-line summaries ("10,000 data keys
 * rewrapped; 0 rows re-encrypted across 0 tables") and the text renderings of
 * results and job status. Counts and fingerprints only, never a key or a value.
 */
import type {
  AdoptionResult,
  DataRekeyResult,
  MasterRotationResult,
  RotationJob,
  RotationStatus,
} from '@lockbox/core';
import { formatTable } from '../output.js';

export const count = (n: number) => n.toLocaleString('en-US');
export const plural = (n: number, one: string, many = `${one}s`) =>
  `${count(n)} ${n === 1 ? one : many}`;

export function masterSummary(result: MasterRotationResult): string {
  return `${plural(result.dataKeys.rewrapped, 'data key')} rewrapped; 0 rows re-encrypted across 0 tables`;
}

export function dataSummary(result: DataRekeyResult): string {
  return `${plural(result.rows, 'row')} re-encrypted across ${plural(result.tables, 'table')}; ${plural(result.dataKeys.destroyed, 'old data key')} destroyed`;
}

/** The summary of a master rotation; what to do with the keys is printed by rotate-master.ts. */
export function describeMaster(result: MasterRotationResult): string[] {
  if (result.dryRun) {
    return [
      `dry run: would rewrap ${plural(result.dataKeys.planned, 'data key')} from ${result.from} to ${result.to}`,
      `mode: ${result.modeReason}`,
      'The old key matches and opens the first data key. Nothing was changed.',
    ];
  }
  return [
    masterSummary(result),
    `master key ${result.from} → ${result.to} (job ${result.jobId}, ${result.resumed ? 'resumed, ' : ''}${result.modeReason})`,
    result.oldKeyRetired
      ? `No data key needs the old key ${result.from} any more.`
      : `${plural(result.dataKeys.remaining, 'data key')} still need the old key ${result.from}: do not drop it.`,
  ];
}

export function describeData(result: DataRekeyResult): string[] {
  if (result.dryRun) {
    return [
      `dry run: would re-encrypt ${plural(result.rows, 'row')} across ${plural(result.tables, 'table')} and replace ${plural(result.dataKeys.retired, 'data key')} in ${plural(result.scopes, 'scope')}`,
      `mode: ${result.modeReason}`,
      'Every data key opens and the first rows decrypt. Nothing was changed.',
    ];
  }
  const lines = [
    dataSummary(result),
    `job ${result.jobId} (${result.resumed ? 'resumed, ' : ''}${result.modeReason})`,
    `secrets: ${count(result.secrets)}${result.fields.map((f) => `; ${f.table}.${f.column}: ${count(f.rows)}`).join('')}`,
  ];
  if (result.conflicts > 0) {
    lines.push(
      `${plural(result.conflicts, 'row')} changed by the application meanwhile and kept as it wrote them`,
    );
  }
  return lines;
}

export function describeAdoption(result: AdoptionResult): string[] {
  const a = result.adopted;
  const total = a.fernet + a.v2 + a.plaintext;
  const s = result.skipped;
  return [
    `${result.dryRun ? 'dry run: would adopt' : 'adopted'} ${plural(total, 'row')} of ${result.table}.${result.column} (Fernet ${count(a.fernet)}, v2 ${count(a.v2)}, plaintext ${count(a.plaintext)})`,
    `skipped (no key given, or plaintext not asked for): Fernet ${count(s.fernet)}, v2 ${count(s.v2)}, plaintext ${count(s.plaintext)}, other Lockbox formats ${count(s.otherLockboxFormat)}`,
    ...(result.failed > 0
      ? [
          `FAILED ${plural(result.failed, 'row')} (left exactly as they were): ${result.failedRows.map((r) => `${r.row} ${r.format} ${r.code}`).join(', ')}`,
        ]
      : []),
  ];
}

export function describeJob(job: RotationJob): string {
  const route = job.kind === 'master' ? ` ${job.from} → ${job.to}` : '';
  return `${job.kind}${route} ${job.mode}, job ${job.id}, started ${job.startedAt}${job.startedBy ? ` by ${job.startedBy}` : ''}`;
}

export function describeStatus(status: RotationStatus): string[] {
  const lines: string[] = [];
  lines.push(
    status.lock === null
      ? 'rotation lock: free'
      : `rotation lock: held by ${status.lock.holder} since ${status.lock.since}${status.lock.live ? '' : ' — its holder is gone; the next rotation takes it over'}`,
  );
  if (status.unfinished === null) lines.push('unfinished job: none');
  else {
    lines.push(`unfinished job: ${describeJob(status.unfinished)}`);
    if (status.unfinished.error !== null) lines.push(`  stopped by: ${status.unfinished.error}`);
    if (status.lock === null || !status.lock.live) {
      lines.push(
        '  finish it with `lockbox rotate resume` (or give it up: `lockbox rotate abandon`)',
      );
    }
  }
  if (status.recent.length > 0) {
    lines.push(
      '',
      ...formatTable(
        ['JOB', 'KIND', 'MODE', 'STATE', 'STARTED', 'FINISHED'],
        status.recent.map((j) => [j.id, j.kind, j.mode, j.state, j.startedAt, j.finishedAt ?? '']),
      ),
    );
  }
  return lines;
}
