/**
 * The packages as users install them: `npm pack` of @lockbox/core,
 * @lockbox/server and lockbox, installed with npm into an empty application
 * directory outside the checkout (dependencies from the registry, better-sqlite3
 * built from source). A broken `files` list, a missing runtime dependency, a
 * console left out of the tarball or a dependency that wants another Node fails
 * here. Then the installed `lockbox` runs init, set, get and serve (the console
 * at /), and docs/library.md's examples run against the installed core.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { formatMasterKey, generateMasterKey } from '@lockbox/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, runCli, startCli, tempDir } from './helpers/cli.js';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../../..');
const EXAMPLES = join(REPO, 'docs', 'examples');

describe('the packed packages, installed outside the checkout', { timeout: 600_000 }, () => {
  const work = tempDir();
  const app = join(work.dir, 'app');
  let lockbox: string;
  let installLog: string;

  beforeAll(async () => {
    await run(
      'npm',
      [
        'pack',
        '--pack-destination',
        work.dir,
        '-w',
        'packages/core',
        '-w',
        'packages/server',
        '-w',
        'packages/cli',
      ],
      { cwd: REPO },
    );
    const tarballs = readdirSync(work.dir)
      .filter((f) => f.endsWith('.tgz'))
      .sort();
    expect(tarballs).toEqual([
      'lockbox-0.1.0.tgz',
      'lockbox-core-0.1.0.tgz',
      'lockbox-server-0.1.0.tgz',
    ]);
    mkdirSync(app);
    // An application of its own: npm 11 builds better-sqlite3 only when allowed.
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'lockbox-install-check',
        private: true,
        type: 'module',
        allowScripts: { 'better-sqlite3': true },
      }),
    );
    const installed = await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--loglevel',
        'warn',
        ...tarballs.map((t) => join(work.dir, t)),
      ],
      { cwd: app, maxBuffer: 64 * 1024 * 1024 },
    );
    installLog = installed.stdout + installed.stderr;
    lockbox = join(app, 'node_modules', 'lockbox', 'bin', 'lockbox.js');
  }, 600_000);
  afterAll(() => work.cleanup());

  it('installs with no engine mismatch, the console inside the lockbox package', () => {
    expect(installLog).not.toContain('EBADENGINE');
    expect(existsSync(join(app, 'node_modules', 'lockbox', 'console', 'index.html'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'lockbox', 'LICENSE'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', '@lockbox', 'console'))).toBe(false);
  });

  it('runs init, set, get and serve with the console at /', async () => {
    const options = { cwd: app, main: lockbox };
    const init = await runCli(['init'], options);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(
      (await runCli(['set', 'demo', 'api-key'], { ...options, input: 'sk-installed' })).code,
    ).toBe(0);
    const got = await runCli(['get', 'demo', 'api-key'], options);
    expect(got).toMatchObject({ code: 0, stdout: 'sk-installed\n' });

    const serve = startCli(['serve', '--port', '0'], options);
    const done = finished(serve);
    let stderr = '';
    serve.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    try {
      let url: string | undefined;
      for (let i = 0; i < 1500 && url === undefined && serve.exitCode === null; i++) {
        url = /serving on (https?:\/\/\S+)/.exec(stderr)?.[1];
        if (url === undefined) await new Promise((r) => setTimeout(r, 20));
      }
      expect(url, stderr).toBeDefined();
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="app"');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      serve.kill('SIGTERM');
      await done;
    }
  });

  it('runs docs/library.md examples against the installed @lockbox/core', async () => {
    const key = formatMasterKey(generateMasterKey());
    // Beside the store `init` made above, in a directory of their own (their ./lockbox.db).
    const examples = join(app, 'examples');
    mkdirSync(examples);
    for (const example of readdirSync(EXAMPLES)
      .filter((f) => f.endsWith('.mjs'))
      .sort()) {
      // Copied into the application, so `@lockbox/core` resolves to the installed one.
      copyFileSync(join(EXAMPLES, example), join(examples, example));
      const { stdout, stderr } = await run(process.execPath, [example], {
        cwd: examples,
        env: { PATH: process.env.PATH ?? '', ENCRYPTION_KEY: key },
      });
      expect(stderr, example).toBe('');
      expect(stdout.length, example).toBeGreaterThan(0);
    }
  });
});
