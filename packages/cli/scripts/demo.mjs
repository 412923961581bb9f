#!/usr/bin/env node
/**
 * `npm run demo`: the quick start, against a real store in the working directory
 * (./lockbox.db and ./lockbox.key, both git-ignored). Creates the store on the
 * first run, then stores, reads and reports a demo secret. Installs nothing.
 *
 * LOCKBOX_* variables from the caller's shell are ignored, so the demo always
 * uses the local files and never touches a configured production store.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const env = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith('LOCKBOX_')),
);

function lockbox(args, input) {
  const shown = input === undefined ? '' : `echo -n ${input} | `;
  const words = args.map((a) =>
    a === process.execPath ? 'node' : /[\s"()]/.test(a) ? `'${a}'` : a,
  );
  // Synchronous, so the narration stays in order with the children's output in a pipe.
  writeSync(2, `\n$ ${shown}lockbox ${words.join(' ')}\n`);
  const result = spawnSync(process.execPath, [cli, ...args], {
    env,
    input,
    stdio: [input === undefined ? 'inherit' : 'pipe', 'inherit', 'inherit'],
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (existsSync('lockbox.db')) {
  writeSync(
    2,
    'Using the existing store ./lockbox.db (delete it and lockbox.key to start over).\n',
  );
} else {
  lockbox(['init']);
}
lockbox(['set', 'demo', 'api-key'], 'sk-demo');
lockbox(['get', 'demo', 'api-key']);
lockbox([
  'run',
  '--scope',
  'demo',
  '--mask',
  '--',
  process.execPath,
  '-e',
  'console.log("child sees API_KEY=" + process.env.API_KEY)',
]);
lockbox(['status']);
