/**
 * The console in a real browser against a real server: Debian's chromium driven
 * by playwright-core, a Lockbox server built in-process over a fresh SQLite
 * store, listening on 127.0.0.1, serving the built console at /.
 *
 * The steps run in order and share one signed-in page, as an operator would:
 * sign in (the token checked with GET /v1/whoami), set and reveal a secret,
 * rotate the master key (a wrong old key first, then a double click that must
 * start exactly one rotation), export, delete, import with preview then apply,
 * read the audit log, create and revoke a token. Then every page is photographed
 * in English and Japanese into docs/img/console/ for docs/console.md. Last, a
 * narrower token signs in and sees only its pages and the scopes it may read.
 *
 * Without /usr/bin/chromium these tests fail in CI (process.env.CI) and are
 * skipped elsewhere; .ci/run installs chromium.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  formatMasterKey,
  generateAgeIdentity,
  generateMasterKey,
  Keyring,
  type Lockbox,
  openLockbox,
} from '@lockbox/core';
import { buildServer, type LockboxServer } from '@lockbox/server';
import { drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import {
  type BrowserContext,
  chromium,
  type Locator,
  type Page,
  type Request,
} from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const CONSOLE_ROOT = fileURLToPath(new URL('../', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCREENSHOTS = join(REPO_ROOT, 'docs', 'img', 'console');
const PAGES = ['overview', 'secrets', 'keys', 'backup', 'audit', 'tokens'] as const;

const SCOPE = 'prod';
const NAME = 'DB_PASSWORD';
const VALUE = 'canary-console-s3cret-7f1e';

const haveChromium = existsSync(CHROMIUM);
// In CI a missing browser is a failure (beforeAll throws); elsewhere the suite is skipped.
const suite = haveChromium || process.env.CI ? describe : describe.skip;

const POLL = { timeout: 15_000, interval: 50 };

/** The element's visible text with whitespace collapsed, or null while it is not there. */
async function textOf(locator: Locator): Promise<string | null> {
  if ((await locator.count()) === 0) return null;
  return ((await locator.first().textContent({ timeout: 2_000 })) ?? '')
    .replace(/\s+/g, ' ')
    .trim();
}

const visible = (locator: Locator) =>
  locator.first().waitFor({ state: 'visible', timeout: 15_000 });
const hidden = (locator: Locator) => locator.first().waitFor({ state: 'hidden', timeout: 15_000 });
const hasText = (locator: Locator, text: string) =>
  expect.poll(() => textOf(locator), POLL).toBe(text);
const showsText = (locator: Locator, text: string) =>
  expect.poll(async () => (await textOf(locator)) ?? '', POLL).toContain(text);

/**
 * Whether fontconfig has a Japanese font. Without one chromium draws Japanese as
 * empty boxes, so Japanese screenshots are not written (a warning says so) —
 * the committed ones stay as they are. Debian: fonts-ipafont-gothic.
 */
function haveJapaneseFont(): boolean {
  try {
    return execFileSync('fc-list', [':lang=ja', 'family'], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}

/** Newest modification time under `dir`, in ms. */
function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const full = join(dir, entry.name);
    const time = entry.isDirectory() ? newest(full) : statSync(full).mtimeMs;
    return Math.max(latest, time);
  }, 0);
}

/**
 * The built console: packages/console/dist when it is at least as new as the
 * sources (`npm run build`, which .ci/run runs first), otherwise a fresh build
 * of the current sources into a temporary directory (never rewriting dist/
 * under another test's feet).
 */
function consoleDist(scratch: string): string {
  const dist = join(CONSOLE_ROOT, 'dist');
  const index = join(dist, 'index.html');
  const sources = Math.max(
    newest(join(CONSOLE_ROOT, 'src')),
    statSync(join(CONSOLE_ROOT, 'index.html')).mtimeMs,
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return dist;
  const out = join(scratch, 'dist');
  const vite = join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  execFileSync(
    process.execPath,
    [vite, 'build', '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'],
    {
      cwd: CONSOLE_ROOT,
      stdio: 'inherit',
    },
  );
  return out;
}

suite('web console in chromium', () => {
  let scratch: string;
  let database: TestDatabase;
  let lockbox: Lockbox;
  let app: LockboxServer;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  let token: string;
  let masterKey: Buffer;
  const requests: Request[] = [];
  /** Script errors and console errors (a CSP refusal among them), except failed-request notices. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!haveChromium) {
      throw new Error(
        `${CHROMIUM} is missing: the console browser tests need Debian's chromium (.ci/run installs it)`,
      );
    }
    scratch = mkdtempSync(join(tmpdir(), 'lockbox-console-'));
    const consoleDir = consoleDist(scratch);
    database = await freshDatabase('sqlite');
    masterKey = generateMasterKey();
    lockbox = await openLockbox({
      database: database.url,
      drivers,
      keyring: Keyring.fromBytes(masterKey),
      audit: true,
    });
    app = buildServer({ lockbox, logger: false, consoleDir, authRateLimit: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    origin = `http://127.0.0.1:${address.port}`;
    token = (
      await lockbox.tokens.create({
        name: 'console-operator',
        permissions: ['admin', 'keys:rotate', 'backup:export', 'backup:import'],
      })
    ).token;

    context = await chromium.launchPersistentContext(join(scratch, 'profile'), {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 860 },
      locale: 'en-US',
      acceptDownloads: true,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (request) => requests.push(request));
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      // Chromium logs every 4xx answer as "Failed to load resource"; those are expected here.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        pageErrors.push(message.text());
      }
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await app?.close();
    await lockbox?.close().catch(() => undefined);
    await database?.drop();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  /** The pages the navigation offers, in order. */
  const navEntries = async () =>
    (await page
      .locator('[data-testid^="nav-"]')
      .evaluateAll((links) =>
        links.map((link) => link.getAttribute('data-testid')?.slice('nav-'.length)),
      )) as string[];

  const nav = async (target: (typeof PAGES)[number]) => {
    await page.getByTestId(`nav-${target}`).click();
    await page.waitForFunction((hash) => location.hash === hash, `#/${target}`);
  };

  const japaneseFont = haveJapaneseFont();

  /** Saves a screenshot into docs/img/console/ (Japanese ones only when a Japanese font exists). */
  const shoot = async (name: string, language: 'en' | 'ja', fullPage = true) => {
    if (language === 'ja' && !japaneseFont) {
      console.warn(`no Japanese font (fc-list :lang=ja): not writing ${name}-ja.png`);
      return;
    }
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${language}.png`), fullPage });
  };

  const auditActions = async (action: string) =>
    (await lockbox.audit.list({ action, limit: 1000 })).map((entry) => entry.outcome);

  it('refuses an unknown token with the server message and keeps nothing', async () => {
    await page.goto(`${origin}/`);
    await hasText(page.locator('h1'), 'Lockbox console');
    await page.getByTestId('token-input').fill('lbx_000000000000_notavalidsecret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await showsText(page.getByTestId('error'), 'AUTH_INVALID');
    expect(await page.evaluate(() => sessionStorage.getItem('lockbox.token'))).toBeNull();
  });

  it('signs in with a pasted token kept in sessionStorage, never in the URL', async () => {
    const before = requests.length;
    await page.getByTestId('token-input').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await hasText(page.locator('main h1'), 'Overview');
    // The token is checked with whoami, and its permissions open every page.
    const first = requests.slice(before).find((r) => r.url().includes('/v1/'));
    expect(first?.url()).toBe(`${origin}/v1/whoami`);
    expect(await navEntries()).toEqual([...PAGES]);
    expect(await page.evaluate(() => sessionStorage.getItem('lockbox.token'))).toBe(token);
    expect(await page.evaluate(() => localStorage.getItem('lockbox.token'))).toBeNull();
    expect(page.url()).not.toContain(token);
    const apiCalls = requests.slice(before).filter((r) => r.url().includes('/v1/'));
    expect(apiCalls.length).toBeGreaterThan(0);
    for (const request of requests) expect(request.url()).not.toContain(token.slice(4));
    expect(apiCalls.every((r) => r.headers().authorization === `Bearer ${token}`)).toBe(true);
  });

  it('shows the primary fingerprint and an amber backup warning on a fresh store', async () => {
    const primary = Keyring.fromBytes(masterKey).primary.fingerprint;
    await showsText(page.getByTestId('master-keys'), primary);
    await visible(page.getByTestId('backup-warning'));
    await showsText(page.getByTestId('backup-warning'), 'No recovery key is set.');
    await shoot('overview-warning', 'en');
    await page.getByTestId('language').selectOption('ja');
    await showsText(page.getByTestId('backup-warning'), 'リカバリー鍵が設定されていません。');
    await shoot('overview-warning', 'ja');
    await page.getByTestId('language').selectOption('en');
    await hasText(page.locator('main h1'), 'Overview');
  });

  it('sets a secret and reveals its value on click, audited as secret.read', async () => {
    await nav('secrets');
    await visible(
      page.getByText('No scope this token can read holds secrets yet.', { exact: false }),
    );
    await page.getByTestId('set-scope').fill(SCOPE);
    await page.getByTestId('set-name').fill(NAME);
    await page.getByTestId('set-value').fill(VALUE);
    await page.getByLabel('Metadata').fill('{"owner": "payments"}');
    await page.getByRole('button', { name: 'Save' }).click();
    await showsText(page.getByTestId('set-done'), `Saved ${NAME} (version 1).`);
    // The new scope is listed (with its secret count) and opened.
    await hasText(page.getByTestId('scope-list'), `${SCOPE} (1)`);
    await hasText(page.locator('#list-title'), `Secrets in ${SCOPE}`);
    const row = page.getByTestId(`secret-${NAME}`);
    await showsText(row, '{"owner":"payments"}');
    expect(await textOf(row)).not.toContain(VALUE);
    expect(await auditActions('secret.read')).toEqual([]);
    await row.getByRole('button', { name: 'Reveal' }).click();
    await hasText(row.getByTestId('secret-value'), VALUE);
    expect(await auditActions('secret.read')).toEqual(['ok']);
    await row.getByRole('button', { name: 'Hide' }).click();
    await expect.poll(async () => (await textOf(row)) ?? '', POLL).not.toContain(VALUE);
  });

  it('shows the API error message when the old key is wrong, and rotates nothing', async () => {
    await nav('keys');
    await page.getByTestId('old-key').fill(formatMasterKey(generateMasterKey()));
    await page.getByTestId('new-key').fill(formatMasterKey(generateMasterKey()));
    await page.getByTestId('rotate').click();
    const dialog = page.getByRole('dialog');
    await visible(dialog);
    await showsText(dialog, 'This is what will happen');
    const answer = page.waitForResponse((r) => r.url().endsWith('/v1/rotation/master'));
    await page.getByTestId('confirm-rotate').click();
    const body = (await (await answer).json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('ROTATION_OLD_KEY_MISMATCH');
    await hidden(dialog);
    const shown = page.getByTestId('rotate-error');
    await hasText(shown.locator('.error-message'), body.error.message);
    await hasText(shown.locator('.error-code'), 'ROTATION_OLD_KEY_MISMATCH');
    expect(await auditActions('key.rotate.master')).toEqual(['denied']);
  });

  it('keeps focus inside the confirmation dialog and closes it with Escape', async () => {
    await page.getByTestId('rotate').click();
    const dialog = page.getByRole('dialog');
    await visible(dialog);
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      expect(await dialog.evaluate((el) => el.contains(document.activeElement))).toBe(true);
    }
    await page.keyboard.press('Shift+Tab');
    expect(await dialog.evaluate((el) => el.contains(document.activeElement))).toBe(true);
    await page.keyboard.press('Escape');
    await hidden(dialog);
    // Focus returns to the button that opened the dialog.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(
      'rotate',
    );
  });

  it('rotates the master key through the dialog; a double click starts one rotation', async () => {
    const newKey = generateMasterKey();
    const newFingerprint = Keyring.fromBytes(newKey).primary.fingerprint;
    await page.getByTestId('old-key').fill(formatMasterKey(masterKey));
    await page.getByTestId('new-key').fill(formatMasterKey(newKey));
    await page.getByTestId('rotate').click();
    await visible(page.getByRole('dialog'));
    const before = requests.length;
    await page.getByTestId('confirm-rotate').dblclick();
    await visible(page.getByTestId('rotate-done'));
    await showsText(page.getByTestId('rotate-done'), newFingerprint);
    await hasText(page.getByTestId('primary-fingerprint'), newFingerprint);
    const posts = requests
      .slice(before)
      .filter((r) => r.method() === 'POST' && r.url().endsWith('/v1/rotation/master'));
    expect(posts).toHaveLength(1);
    expect(await auditActions('key.rotate.master')).toEqual(['denied', 'ok']);
    const jobs = (await lockbox.rotation.status()).recent.filter((job) => job.kind === 'master');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.to).toBe(newFingerprint);
    // The keys left the form with the request.
    expect(await page.getByTestId('old-key').inputValue()).toBe('');
    expect(await page.getByTestId('new-key').inputValue()).toBe('');
    masterKey = newKey;
  });

  let bundleFile: string;
  let identity: string;

  it('exports a bundle to an age recipient as a download, and the warning clears', async () => {
    const pair = await generateAgeIdentity();
    identity = pair.identity;
    await nav('backup');
    await page.getByTestId('recipient').fill(pair.recipient);
    const download = page.waitForEvent('download');
    await page.getByTestId('export').click();
    bundleFile = join(scratch, 'bundle.age');
    await (await download).saveAs(bundleFile);
    await visible(page.getByTestId('export-done'));
    const bytes = readFileSync(bundleFile);
    expect(bytes.subarray(0, 21).toString('latin1')).toBe('age-encryption.org/v1');
    expect(bytes.includes(Buffer.from(VALUE))).toBe(false);
    expect(await auditActions('backup.export')).toEqual(['ok']);
    await nav('overview');
    await visible(page.getByTestId('backup-ok'));
  });

  it('deletes a secret after a confirmation', async () => {
    await nav('secrets');
    await page.getByTestId(`scope-${SCOPE}`).click();
    await page.getByTestId(`secret-${NAME}`).getByRole('button', { name: 'Delete' }).click();
    await showsText(page.getByRole('dialog'), NAME);
    await page.getByTestId('confirm').click();
    await visible(page.getByText('No secrets in this scope.'));
    expect(await lockbox.secrets.has(SCOPE, NAME)).toBe(false);
    // Its last secret gone, the scope leaves the list.
    await hidden(page.getByTestId('scope-list'));
  });

  it('refuses an empty import file in the browser', async () => {
    await nav('backup');
    await page.getByTestId('import-file').setInputFiles({
      name: 'empty.age',
      mimeType: 'application/octet-stream',
      buffer: Buffer.alloc(0),
    });
    await hasText(page.getByTestId('file-error'), 'That file is empty.');
    expect(await page.getByTestId('import-preview').isDisabled()).toBe(true);
  });

  it('imports the bundle: preview shows the creates, apply writes them', async () => {
    await page.getByTestId('import-file').setInputFiles(bundleFile);
    await page.getByTestId('identity').fill(identity);
    await page.getByTestId('import-preview').click();
    const preview = page.getByTestId('preview-table');
    await visible(preview);
    await hasText(preview.getByTestId('total-create'), '1');
    await hasText(preview.getByTestId('total-overwrite'), '0');
    await hasText(preview.getByTestId('total-conflict'), '0');
    await showsText(preview, SCOPE);
    expect(await lockbox.secrets.has(SCOPE, NAME)).toBe(false);
    await page.getByTestId('import-apply').click();
    await visible(page.getByTestId('import-done'));
    await hasText(page.getByTestId('applied-table').getByTestId('total-create'), '1');
    expect(await lockbox.secrets.has(SCOPE, NAME)).toBe(true);
    await nav('secrets');
    await page.getByTestId(`scope-${SCOPE}`).click();
    const row = page.getByTestId(`secret-${NAME}`);
    await row.getByRole('button', { name: 'Reveal' }).click();
    await hasText(row.getByTestId('secret-value'), VALUE);
  });

  it('shows the audit entries and a verified chain', async () => {
    await nav('audit');
    await visible(page.getByTestId('audit-verified'));
    const table = page.getByTestId('audit-table');
    for (const action of [
      'secret.set',
      'secret.read',
      'key.rotate.master',
      'backup.export',
      'secret.delete',
      'backup.import',
    ]) {
      await visible(table.locator(`tr[data-action="${action}"]`).first());
    }
    expect(await table.locator('tr[data-action="key.rotate.master"]').count()).toBe(2);
    expect(await textOf(table)).not.toContain(VALUE);
  });

  it('creates a token, shows it once, and revokes it', async () => {
    await nav('tokens');
    await page.getByTestId('token-name').fill('ci-deploy');
    await page.getByLabel(/Read secrets/).check();
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = page.getByTestId('created-token-text');
    await expect.poll(async () => (await textOf(shown)) ?? '', POLL).toMatch(/^lbx_/);
    const created = (await textOf(shown)) ?? '';
    await expect(lockbox.tokens.verify(created)).resolves.toMatchObject({ name: 'ci-deploy' });
    const row = page.getByTestId('token-ci-deploy');
    await showsText(row, 'secrets:read:*');
    await page.getByRole('button', { name: 'Done' }).click();
    await hidden(page.getByTestId('created-token'));
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByTestId('confirm').click();
    await showsText(row, 'Revoked');
    await expect(lockbox.tokens.verify(created)).rejects.toMatchObject({ code: 'AUTH_INVALID' });
  });

  it('switches to Japanese, keeps the choice across a reload, and photographs every page', async () => {
    for (const language of ['en', 'ja'] as const) {
      await page.getByTestId('language').selectOption(language);
      await expect.poll(() => page.locator('html').getAttribute('lang'), POLL).toBe(language);
      for (const target of PAGES) {
        await nav(target);
        const loading = page.getByText(language === 'en' ? 'Loading…' : '読み込み中…');
        await expect.poll(() => loading.count(), POLL).toBe(0);
        if (target === 'secrets') {
          await page.getByTestId(`scope-${SCOPE}`).click();
          await visible(page.getByTestId(`secret-${NAME}`));
        }
        if (target === 'backup') {
          await page.getByTestId('import-file').setInputFiles(bundleFile);
          await page.getByTestId('identity').fill(identity);
          await page.getByTestId('import-preview').click();
          await visible(page.getByTestId('preview-table'));
        }
        await shoot(target, language);
      }
      await nav('keys');
      await page.getByTestId('old-key').fill(formatMasterKey(masterKey));
      await page.getByTestId('new-key').fill(formatMasterKey(generateMasterKey()));
      await page.getByTestId('rotate').click();
      await visible(page.getByRole('dialog'));
      await shoot('keys-dialog', language, false);
      await page.keyboard.press('Escape');
      await hidden(page.getByRole('dialog'));
    }
    await page.reload();
    await expect.poll(() => page.locator('html').getAttribute('lang'), POLL).toBe('ja');
    await hasText(page.locator('main h1'), '鍵');
    expect(await page.evaluate(() => localStorage.getItem('lockbox.lang'))).toBe('ja');
  });

  it('signs out, forgetting the token, and photographs the sign-in page', async () => {
    await page.getByRole('button', { name: 'サインアウト' }).click();
    await hasText(page.locator('h1'), 'Lockbox コンソール');
    expect(await page.evaluate(() => sessionStorage.getItem('lockbox.token'))).toBeNull();
    await shoot('sign-in', 'ja', false);
    await page.getByTestId('language').selectOption('en');
    await hasText(page.locator('h1'), 'Lockbox console');
    await shoot('sign-in', 'en', false);
  });

  it('shows a narrower token only its pages and the scopes it may read', async () => {
    await lockbox.secrets.set('user:7', 'api', 'sk-7');
    const narrow = (
      await lockbox.tokens.create({
        name: 'support',
        permissions: ['secrets:read:user:*', 'audit:read'],
      })
    ).token;
    await page.getByTestId('token-input').fill(narrow);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // The page in the URL (Keys, from the steps before) is not one this token can use.
    await hasText(page.locator('main h1'), 'Secrets');
    expect(await navEntries()).toEqual(['secrets', 'audit']);
    await hasText(page.getByTestId('scope-list'), 'user:7 (1)');
    // After a reload the console asks whoami again and shows the same.
    await page.reload();
    await hasText(page.locator('main h1'), 'Secrets');
    expect(await navEntries()).toEqual(['secrets', 'audit']);
    await hasText(page.getByTestId('scope-list'), 'user:7 (1)');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await hasText(page.locator('h1'), 'Lockbox console');
  });

  it('ran without a script error or a Content-Security-Policy refusal', () => {
    expect(pageErrors).toEqual([]);
  });
});
