/**
 * `lockbox audit verify`, `lockbox audit anchor` and `lockbox audit tail`.
 *
 * verify checks the whole hash chain and the MACed head; it exits 0 when the log
 * is intact, and otherwise fails with AUDIT_CHAIN_BROKEN (exit 1) naming the first
 * broken entry and why. With --anchor (the text, or a file holding it) it also
 * requires the chain to hold the anchored entry and reach it, which catches an
 * older head put back after later entries were deleted. The verification itself
 * is recorded (audit.verify).
 *
 * anchor verifies the chain, then prints a MACed copy of its head (one line,
 * docs/format.md) to keep outside the database.
 *
 * tail prints the last N entries, oldest first; with --follow it keeps polling
 * for new ones until interrupted (Ctrl-C ends it with exit 0). With --json, tail
 * prints `{ "entries": [...] }`, or one JSON entry per line when following.
 * Entries never hold values or keys, so tail prints them as they are.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ANCHOR_PREFIX,
  type AuditEntry,
  formatAnchor,
  type Lockbox,
  LockboxError,
  MAX_AUDIT_PAGE,
} from '@lockbox/core';
import { type Command, Option } from 'commander';
import type { CliContext, Invocation } from '../context.js';
import { jsonSafe, terminalSafe } from '../output.js';

const MAX_TAIL = 100_000;

interface TailOptions {
  lines: string;
  follow?: boolean;
  interval: string;
}

function positiveInteger(what: string, text: string, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new LockboxError('INVALID_ARGUMENT', `${what} must be a whole number from 1 to ${max}`);
  }
  return value;
}

function line(entry: AuditEntry): string {
  const target = entry.scope === null ? (entry.name ?? '-') : `${entry.scope}/${entry.name ?? '*'}`;
  const actor = entry.actorId ?? '-';
  const extra = entry.details === null ? '' : `  ${JSON.stringify(entry.details)}`;
  const request = entry.requestId === null ? '' : `  req=${entry.requestId}`;
  return `${entry.seq}  ${entry.at}  ${actor}  ${entry.action}  ${target}  ${entry.outcome}${request}${extra}`;
}

/** The last `count` entries, oldest first, read newest-first in pages. */
async function lastEntries(lockbox: Lockbox, count: number): Promise<AuditEntry[]> {
  const newestFirst: AuditEntry[] = [];
  let before: number | undefined;
  while (newestFirst.length < count) {
    const page = await lockbox.audit.list({
      order: 'desc',
      limit: Math.min(MAX_AUDIT_PAGE, count - newestFirst.length),
      ...(before === undefined ? {} : { before }),
    });
    newestFirst.push(...page);
    if (page.length === 0 || page.length < MAX_AUDIT_PAGE) break;
    before = page[page.length - 1]?.seq;
  }
  return newestFirst.reverse();
}

/** Anchors are one short line; a file much larger than that is not an anchor. */
const MAX_ANCHOR_FILE = 4096;

/** The anchor text itself, or the contents of the file it names. */
async function anchorText(argument: string): Promise<string> {
  if (argument.startsWith(ANCHOR_PREFIX)) return argument;
  let text: string;
  try {
    const bytes = await readFile(argument);
    if (bytes.length > MAX_ANCHOR_FILE) {
      throw new LockboxError('AUDIT_ANCHOR_INVALID', `--anchor ${argument} is not an anchor file`);
    }
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof LockboxError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new LockboxError(
      'PATH_INVALID',
      `--anchor ${argument} is neither an anchor nor a readable file${code === undefined ? '' : ` (${code})`}`,
      { cause: err },
    );
  }
  return text;
}

async function verify(invocation: Invocation, options: { anchor?: string }): Promise<void> {
  const anchor = options.anchor === undefined ? undefined : await anchorText(options.anchor);
  const lockbox = await invocation.open();
  const result = await lockbox.audit.verify(anchor === undefined ? {} : { anchor });
  await lockbox.audit.record({
    action: 'audit.verify',
    outcome: result.ok ? 'ok' : 'error',
    actor: invocation.actor,
    details: result.ok
      ? { entries: result.entries, ...(anchor === undefined ? {} : { anchored: true }) }
      : {
          code: 'AUDIT_CHAIN_BROKEN',
          chain: result.chain,
          firstBroken: result.firstBroken,
          reason: result.reason,
        },
  });
  if (!result.ok) {
    throw new LockboxError(
      'AUDIT_CHAIN_BROKEN',
      `the audit chain is broken at ${result.chain === 0 ? '' : `chain ${result.chain} `}entry ${result.firstBroken} (${result.reason}): ${result.message}`,
      { details: { chain: result.chain, firstBroken: result.firstBroken, reason: result.reason } },
    );
  }
  invocation.output.result(result, (r) =>
    r.head === null
      ? 'audit log verified: no entries yet'
      : `audit log verified: ${r.entries} entries, head ${r.head.seq} ${r.head.hash}${anchor === undefined ? '' : ' (reaches the anchor)'}`,
  );
}

async function anchor(invocation: Invocation): Promise<void> {
  const lockbox = await invocation.open();
  const result = await lockbox.audit.verify();
  if (!result.ok) {
    throw new LockboxError(
      'AUDIT_CHAIN_BROKEN',
      `not anchoring a broken audit log: ${result.chain === 0 ? '' : `chain ${result.chain} `}entry ${result.firstBroken} (${result.reason}): ${result.message}`,
      { details: { chain: result.chain, firstBroken: result.firstBroken, reason: result.reason } },
    );
  }
  const made = await lockbox.audit.anchor();
  if (made === null) {
    throw new LockboxError('INVALID_ARGUMENT', 'the audit log has no entries to anchor yet');
  }
  const text = formatAnchor(made);
  invocation.output.result({ anchor: text, ...made }, (r) => r.anchor);
}

async function tail(invocation: Invocation, options: TailOptions): Promise<void> {
  const count = positiveInteger('-n', options.lines, MAX_TAIL);
  const intervalMs = positiveInteger('--interval', options.interval, 3_600_000);
  const lockbox = await invocation.open();
  const output = invocation.output;
  const entries = await lastEntries(lockbox, count);
  if (options.follow !== true) {
    output.result({ entries }, (r) => (r.entries.length === 0 ? [] : r.entries.map(line)));
    return;
  }
  const print = (entry: AuditEntry) =>
    output.raw(
      `${output.json ? jsonSafe(JSON.stringify(entry)) : terminalSafe(line(entry), true)}\n`,
    );
  for (const entry of entries) print(entry);
  let after = entries[entries.length - 1]?.seq ?? 0;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    while (!stop.signal.aborted) {
      const page = await lockbox.audit.list({ after, limit: MAX_AUDIT_PAGE });
      for (const entry of page) print(entry);
      after = page[page.length - 1]?.seq ?? after;
      if (page.length < MAX_AUDIT_PAGE) {
        await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function registerAudit(program: Command, context: CliContext): void {
  const audit = program.command('audit').description('verify and read the audit log');
  audit
    .command('verify')
    .description('check the hash chain; exit 1 (AUDIT_CHAIN_BROKEN) naming the first broken entry')
    .option(
      '--anchor <anchor or file>',
      'also require the chain to hold and reach this anchor (from `audit anchor` or `serve`)',
    )
    .action(async (options: { anchor?: string }, command: Command) =>
      verify(context.invocation(command), options),
    );
  audit
    .command('anchor')
    .description('verify the log, then print a MACed copy of its head to keep outside the database')
    .action(async (_options: unknown, command: Command) => anchor(context.invocation(command)));
  audit
    .command('tail')
    .description('print the last entries (never values or keys)')
    .option('-n, --lines <count>', 'how many entries', '20')
    .option('-f, --follow', 'keep printing new entries until interrupted')
    .addOption(
      new Option('--interval <ms>', 'with --follow: poll interval in milliseconds')
        .default('1000')
        .hideHelp(),
    )
    .action(async (options: TailOptions, command: Command) =>
      tail(context.invocation(command), options),
    );
}
