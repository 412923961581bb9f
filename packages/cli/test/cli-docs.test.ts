/**
 * docs/cli.md documents every command and option of the real commander tree:
 * each command has a section headed `lockbox <command>` with an example (a code
 * block that runs it), each of its options appears in that section, and the
 * global options in "Global options". A new command or option without docs fails
 * here, naming exactly what to add and where.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandNodes } from '../src/commands/completion.js';
import { CliContext } from '../src/context.js';
import { buildProgram } from '../src/program.js';

const DOC = 'docs/cli.md';
const text = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');

interface Section {
  heading: string;
  body: string;
}

/** Sections by `##`/`###`/`####` heading; a section runs to the next heading of its level or above. */
function sections(markdown: string): Section[] {
  const lines = markdown.split('\n');
  const found: Section[] = [];
  lines.forEach((line, index) => {
    const match = /^(#{2,4}) (.*)$/.exec(line);
    if (match === null) return;
    const level = (match[1] as string).length;
    let end = index + 1;
    while (end < lines.length) {
      const next = /^(#{1,4}) /.exec(lines[end] as string);
      if (next !== null && (next[1] as string).length <= level) break;
      end++;
    }
    found.push({ heading: match[2] as string, body: lines.slice(index + 1, end).join('\n') });
  });
  return found;
}

/** The command path a heading documents: "### `lockbox rotate master [--atomic]`" → "rotate master". */
function commandOf(heading: string): string | undefined {
  const match = /`lockbox ([^`]*)`/.exec(heading);
  if (match === null) return undefined;
  const words: string[] = [];
  for (const word of (match[1] as string).split(/\s+/)) {
    if (!/^[a-z][a-z-]*$/.test(word)) break;
    words.push(word);
  }
  return words.join(' ');
}

const mentions = (body: string, flag: string) =>
  new RegExp(`(^|[^\\w-])${flag.replace(/[-]/g, '\\-')}(?![\\w-])`).test(body);

function program(): Command {
  return buildProgram(
    new CliContext({
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      env: {},
      cwd: process.cwd(),
    }),
  );
}

describe('docs/cli.md', () => {
  it('documents every command and option, each command with an example', () => {
    const root = program();
    const all = sections(text);
    const byCommand = new Map<string, Section>();
    for (const s of all) {
      const command = commandOf(s.heading);
      if (command !== undefined && !byCommand.has(command)) byCommand.set(command, s);
    }
    const missing: string[] = [];
    const globals = all.find((s) => /^Global options/.test(s.heading));
    if (globals === undefined) missing.push(`${DOC}: no "### Global options" section`);
    for (const option of root.options) {
      if (
        option.long !== undefined &&
        globals !== undefined &&
        !mentions(globals.body, option.long)
      ) {
        missing.push(`global option ${option.long}: add it to "### Global options"`);
      }
    }
    for (const { path, command } of commandNodes(root)) {
      // Groups (rotate, token, …) are documented through their subcommands.
      if (path === '' || command.commands.length > 0) continue;
      const section = byCommand.get(path);
      if (section === undefined) {
        missing.push(`lockbox ${path}: add a section "### \`lockbox ${path}\`" with an example`);
        continue;
      }
      const example = new RegExp(
        `\`\`\`[a-z]*\\n(?:[^\`]*\\n)?(\\$ )?lockbox( --?[a-z-]+( [^ \\n]+)?)* ${path}(\\s|$)`,
      );
      if (!example.test(section.body)) {
        missing.push(
          `lockbox ${path}: add an example (a code block running \`lockbox ${path} …\`) to "${section.heading}"`,
        );
      }
      for (const option of command.options) {
        if (option.long !== undefined && !mentions(section.body, option.long)) {
          missing.push(`lockbox ${path} ${option.long}: document it in "${section.heading}"`);
        }
      }
    }
    expect(missing, `${DOC} is missing:\n  ${missing.join('\n  ')}\n`).toEqual([]);
  });
});
