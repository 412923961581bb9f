/**
 * `lockbox completion`: the bash script, run by a real bash, completes commands,
 * subcommands and options of the real command tree (skipping option values);
 * the zsh and fish scripts name every command.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { commandNodes, completionScript } from '../src/commands/completion.js';
import { CliContext } from '../src/context.js';
import { buildProgram } from '../src/program.js';

const root = buildProgram(
  new CliContext({
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: {},
    cwd: process.cwd(),
  }),
);

/** What bash completes for the words typed so far (the last one being completed). */
function complete(words: string[]): string[] {
  const script = `${completionScript(root, 'bash')}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_lockbox; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('lockbox completion', () => {
  it('bash completes commands, subcommands and their options', () => {
    expect(complete(['lockbox', 'key'])).toEqual(['keygen']);
    expect(complete(['lockbox', 'rotate', 'ma'])).toEqual(['master']);
    expect(complete(['lockbox', '--database', 'x.db', 'rotate', 'master', '--keep'])).toEqual([
      '--keep-key-files',
    ]);
    // A global option's value is not a command word.
    expect(complete(['lockbox', '--config', 'rotate', 'st'])).toEqual(['status']);
  });

  it('zsh and fish scripts name every command', () => {
    const zsh = completionScript(root, 'zsh');
    const fish = completionScript(root, 'fish');
    expect(zsh).toContain('bashcompinit');
    for (const { path } of commandNodes(root)) {
      const name = path.split(' ').pop();
      if (name === undefined || name === '') continue;
      expect(zsh).toContain(name);
      expect(fish).toContain(`-a ${name} `);
    }
  });
});
