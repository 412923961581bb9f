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
import { Decrypter, Encrypter } from 'age-encryption';
import {
  type BrowserContext,
  chromium,
  type Locator,
  type Page,
  type Request,
  type Response,
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

interface ConsoleServer {
  database: TestDatabase;
  lockbox: Lockbox;
  app: LockboxServer;
  origin: string;
  /** An operator's token: admin, keys:rotate, backup:export and backup:import. */
  token: string;
  close(): Promise<void>;
}

/** A Lockbox server over a fresh SQLite store, serving the console on 127.0.0.1. */
async function startConsoleServer(consoleDir: string, masterKey: Buffer): Promise<ConsoleServer> {
  const database = await freshDatabase('sqlite');
  const lockbox = await openLockbox({
    database: database.url,
    drivers,
    keyring: Keyring.fromBytes(masterKey),
    audit: true,
  });
  const app = buildServer({ lockbox, logger: false, consoleDir, authRateLimit: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const { token } = await lockbox.tokens.create({
    name: 'console-operator',
    permissions: ['admin', 'keys:rotate', 'backup:export', 'backup:import'],
  });
  return {
    database,
    lockbox,
    app,
    origin: `http://127.0.0.1:${address.port}`,
    token,
    async close() {
      await app.close();
      await lockbox.close().catch(() => undefined);
      await database.drop();
    },
  };
}

suite('web console in chromium', () => {
  let scratch: string;
  let lockbox: Lockbox;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  let token: string;
  let masterKey: Buffer;
  /** The store most steps use, and one with 10,000 scopes for the scope search. */
  let main: ConsoleServer | undefined;
  let crowded: ConsoleServer | undefined;
  let consoleDir: string;
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
    consoleDir = consoleDist(scratch);
    masterKey = generateMasterKey();
    main = await startConsoleServer(consoleDir, masterKey);
    ({ lockbox, origin, token } = main);

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
    for (const server of [main, crowded]) await server?.close();
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

  /** Requests since `since` with this method whose URL path ends with `route`. */
  const sent = (since: number, method: string, route: string) =>
    requests
      .slice(since)
      .filter((r) => r.method() === method && new URL(r.url()).pathname.endsWith(route));

  /** Shows something with `show` in English and then Japanese, photographing each; ends in English. */
  const photographInBothLanguages = async (
    name: string,
    show: () => Promise<void>,
    hide: () => Promise<void> = async () => undefined,
  ) => {
    for (const language of ['en', 'ja'] as const) {
      await page.getByTestId('language').selectOption(language);
      await expect.poll(() => page.locator('html').getAttribute('lang'), POLL).toBe(language);
      await show();
      await shoot(name, language, false);
      await hide();
    }
    await page.getByTestId('language').selectOption('en');
    await expect.poll(() => page.locator('html').getAttribute('lang'), POLL).toBe('en');
  };

  /** Opens a dialog with `opener`, photographs it in both languages, and closes it with Escape. */
  const photographDialogInBothLanguages = (name: string, opener: Locator) => {
    const dialog = page.getByRole('dialog');
    return photographInBothLanguages(
      name,
      async () => {
        await opener.click();
        await visible(dialog);
      },
      async () => {
        await page.keyboard.press('Escape');
        await hidden(dialog);
      },
    );
  };

  /** A data re-key stopped after its first batch, as a crash would leave it: resumable, no lock. */
  const interruptDataRekey = async () => {
    await expect(
      lockbox.rotation.rekeyData({
        mode: 'online',
        batchSize: 1,
        onProgress: (event) => {
          if (event.done > 0) throw new Error('interrupted by the test');
        },
      }),
    ).rejects.toThrow('interrupted by the test');
    const { unfinished } = await lockbox.rotation.status();
    expect(unfinished).toMatchObject({ kind: 'data', state: 'running' });
    return unfinished?.id as string;
  };

  /** Opens the Keys page afresh, so that it reads the rotation status again. */
  const reopenKeys = async () => {
    await nav('overview');
    await nav('keys');
    await expect.poll(() => page.getByText('Loading…').count(), POLL).toBe(0);
  };

  it('signs the operator in again for the key flows', async () => {
    await page.getByTestId('token-input').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await visible(page.locator('main h1'));
    await nav('keys');
    await hasText(page.locator('main h1'), 'Keys');
  });

  it('re-keys data through a dialog naming what happens; a double click starts one re-key', async () => {
    for (let i = 0; i < 3; i++) await lockbox.secrets.set(`team:${i}`, 'token', `team-token-${i}`);
    await reopenKeys();
    const scopes = (await lockbox.status()).totals.scopes;
    const dataKeys = (await lockbox.rotation.census()).dataKeys.active;
    const dialog = page.getByRole('dialog');
    await photographDialogInBothLanguages('keys-rekey-dialog', page.getByTestId('rekey'));
    await page.getByTestId('rekey').click();
    const steps = dialog.getByTestId('rekey-steps');
    await showsText(
      steps,
      `Each of the ${scopes} scopes gets a new data key; their ${dataKeys} current data keys are retired.`,
    );
    await showsText(steps, 'Then the old data keys are destroyed');
    await showsText(steps, 'Backups and snapshots made before stay encrypted under the old keys');
    const before = requests.length;
    await page.getByTestId('confirm-rekey').dblclick();
    await visible(page.getByTestId('rekey-done'));
    await hidden(dialog);
    await showsText(page.getByTestId('rekey-done'), `${scopes} scopes got ${scopes} new data keys`);
    expect(sent(before, 'POST', '/v1/rotation/data')).toHaveLength(1);
    expect((await lockbox.rotation.status()).recent.filter((j) => j.kind === 'data')).toHaveLength(
      1,
    );
    expect(await auditActions('key.rotate.data')).toEqual(['ok']);
    expect(await lockbox.secrets.get(SCOPE, NAME)).toBe(VALUE);
    expect((await lockbox.rotation.census()).dataKeys.destroyed).toBeGreaterThanOrEqual(scopes);
  });

  it('shows an interrupted job with its state and resumes it once', async () => {
    const jobId = await interruptDataRekey();
    await reopenKeys();
    const card = page.getByTestId('interrupted-job');
    await visible(card);
    await expect
      .poll(() => card.getByTestId('rotation-job').getAttribute('data-state'), POLL)
      .toBe('running');
    await showsText(card, 'Data re-key.');
    // The job's error as recorded: a non-Lockbox failure is never described further.
    await showsText(card, 'INTERNAL: unexpected error');
    await photographInBothLanguages('keys-interrupted', async () => {
      await visible(page.getByTestId('resume-job'));
      await page.getByTestId('interrupted-job').scrollIntoViewIfNeeded();
    });
    const before = requests.length;
    await page.getByTestId('resume-job').dblclick();
    await visible(page.getByTestId('resume-done'));
    await hidden(card);
    expect(sent(before, 'POST', '/v1/rotation/resume')).toHaveLength(1);
    const status = await lockbox.rotation.status();
    expect(status.unfinished).toBeNull();
    expect(status.recent.find((job) => job.id === jobId)?.state).toBe('done');
    expect(await lockbox.secrets.get('team:2', 'token')).toBe('team-token-2');
  });

  it('abandons an interrupted job only after a confirmation, once', async () => {
    const jobId = await interruptDataRekey();
    await reopenKeys();
    const dialog = page.getByRole('dialog');
    await photographDialogInBothLanguages('keys-abandon-dialog', page.getByTestId('abandon-job'));
    // Cancelling changes nothing, and focus returns to the button that opened the dialog.
    const before = requests.length;
    await page.getByTestId('abandon-job').click();
    await showsText(dialog, `Job ${jobId} stops for good`);
    await showsText(dialog, 'The old data keys stay intact (retiring)');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await hidden(dialog);
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid')), POLL)
      .toBe('abandon-job');
    expect(sent(before, 'POST', '/v1/rotation/abandon')).toHaveLength(0);
    expect((await lockbox.rotation.status()).unfinished?.id).toBe(jobId);
    await page.getByTestId('abandon-job').click();
    await page.getByTestId('confirm').dblclick();
    await visible(page.getByTestId('abandon-done'));
    await showsText(page.getByTestId('abandon-done'), jobId);
    await hidden(page.getByTestId('interrupted-job'));
    expect(sent(before, 'POST', '/v1/rotation/abandon')).toHaveLength(1);
    const status = await lockbox.rotation.status();
    expect(status.unfinished).toBeNull();
    expect(status.recent.find((job) => job.id === jobId)?.state).toBe('failed');
    expect(await auditActions('key.rotate.abandon')).toEqual(['ok']);
    expect(await lockbox.secrets.get('team:1', 'token')).toBe('team-token-1');
  });

  it('refuses a pasted identity or a malformed recipient before sending anything', async () => {
    const before = requests.length;
    const field = page.getByTestId('recovery-recipient');
    const error = page.getByTestId('recovery-input-error');
    await hasText(page.getByTestId('recovery-state'), 'No recovery key is set.');
    const pasted = await generateAgeIdentity();
    await field.fill(pasted.identity);
    await page.getByTestId('recovery-review').click();
    await showsText(error, 'That is an identity (a secret key), not a recipient. It was not sent.');
    await field.fill(pasted.recipient.slice(0, -2));
    await page.getByTestId('recovery-review').click();
    await showsText(error, 'That is not an age X25519 recipient');
    expect(sent(before, 'PUT', '/v1/recovery')).toHaveLength(0);
    for (const request of requests.slice(before)) {
      expect(request.postData() ?? '').not.toContain(pasted.identity);
    }
    await field.fill('');
  });

  it('generates a recovery identity offered once as a download, never stored, and sets its recipient', async () => {
    const before = requests.length;
    const bodies: Promise<string>[] = [];
    const collect = (response: Response) => {
      if (response.url().includes('/v1/')) {
        bodies.push(response.text().catch(() => ''));
      }
    };
    page.on('response', collect);
    await page.getByTestId('recovery-generate').click();
    const offer = page.getByTestId('recovery-download');
    await visible(offer);
    // Until the identity is saved, its recipient cannot be set.
    expect(await page.getByTestId('recovery-review').isDisabled()).toBe(true);
    await photographInBothLanguages('keys-recovery', async () => {
      await offer.scrollIntoViewIfNeeded();
    });
    const download = page.waitForEvent('download');
    await page.getByTestId('recovery-download-identity').click();
    const file = join(scratch, 'recovery-identity.txt');
    await (await download).saveAs(file);
    await hidden(offer);
    const text = readFileSync(file, 'utf8');
    const identity = text.split('\n').find((line) => line.startsWith('AGE-SECRET-KEY-1')) ?? '';
    const recipient = /^# public key: (age1\S+)$/m.exec(text)?.[1] ?? '';
    expect(identity).toMatch(/^AGE-SECRET-KEY-1/);
    expect(await page.getByTestId('recovery-recipient').inputValue()).toBe(recipient);
    // Offered once: the page no longer holds it anywhere.
    expect(await page.evaluate(() => document.documentElement.outerHTML)).not.toContain(identity);

    await page.getByTestId('recovery-review').click();
    const dialog = page.getByRole('dialog');
    await showsText(dialog, recipient);
    await showsText(dialog, 'Whoever holds the identity and a copy of the database');
    await page.getByTestId('confirm').dblclick();
    await visible(page.getByTestId('recovery-done'));
    await hidden(dialog);
    expect(sent(before, 'PUT', '/v1/recovery')).toHaveLength(1);
    expect(await lockbox.recovery.recipient()).toBe(recipient);
    expect((await lockbox.recovery.coverage()).missing).toBe(0);
    expect(await auditActions('recovery.set')).toEqual(['ok']);
    await showsText(page.getByTestId('recovery-state'), `Recovery key ${recipient} covers`);

    // The identity opens what is encrypted to the recipient the server now holds.
    const encrypter = new Encrypter();
    encrypter.addRecipient(recipient);
    const decrypter = new Decrypter();
    decrypter.addIdentity(identity);
    const sealed = await encrypter.encrypt('proof');
    expect(await decrypter.decrypt(sealed, 'text')).toBe('proof');

    // And it went nowhere else: no request, response, storage or audit entry holds it.
    await nav('audit');
    await visible(page.getByTestId('audit-verified'));
    await nav('overview');
    await visible(page.getByTestId('backup-ok'));
    page.off('response', collect);
    for (const body of await Promise.all(bodies)) expect(body).not.toContain(identity);
    for (const request of requests.slice(before)) {
      expect(request.postData() ?? '').not.toContain(identity);
      expect(request.url()).not.toContain(identity);
    }
    const stored = await page.evaluate(() =>
      [localStorage, sessionStorage].flatMap((storage) =>
        Object.keys(storage).map((key) => `${key}=${storage.getItem(key)}`),
      ),
    );
    expect(stored.join('\n')).not.toContain(identity);
    const audit = JSON.stringify(await lockbox.audit.list({ limit: 1000 }));
    expect(audit).toContain(recipient);
    expect(audit).not.toContain(identity);
    expect(audit).not.toContain(identity.slice('AGE-SECRET-KEY-1'.length, -6));
  });

  it('finds scopes by prefix and pages through 10,000 per-user scopes', async () => {
    // A store of its own: one with a recovery key would wrap each of the 10,000 data keys with age.
    crowded = await startConsoleServer(consoleDir, generateMasterKey());
    // 10,000 scopes in one import through core (one transaction; a loop of sets takes 3×).
    const pair = await generateAgeIdentity();
    const lines = ['{"format":"lockbox-bundle","version":1}'];
    for (let i = 0; i < 10_000; i++) {
      const scope = `user:${String(i).padStart(5, '0')}`;
      lines.push(JSON.stringify({ scope, name: 'api', value: `sk-${i}` }));
    }
    lines.push('{"end":true,"records":10000}');
    const encrypter = new Encrypter();
    encrypter.addRecipient(pair.recipient);
    const bundle = await encrypter.encrypt(`${lines.join('\n')}\n`);
    const applied = await crowded.lockbox.backup.apply(bundle, {
      decryption: { identities: [pair.identity] },
    });
    expect(applied.writes.create).toBe(10_000);

    await page.goto(`${crowded.origin}/#/secrets`);
    await page.getByTestId('token-input').fill(crowded.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await hasText(page.locator('main h1'), 'Secrets');
    const list = page.getByTestId('scope-list');
    const range = page.getByTestId('scopes-page');
    await hasText(range, 'Scopes 1–50');
    expect(await list.locator('li').count()).toBe(50);
    const before = requests.length;
    await page.getByTestId('scope-search').fill('user:');
    await page.getByTestId('scope-search-submit').click();
    await hasText(list.locator('li').first(), 'user:00000 (1)');
    for (let i = 0; i < 3; i++) await page.getByTestId('scopes-next').click();
    await hasText(range, 'Scopes 151–200');
    await hasText(list.locator('li').first(), 'user:00150 (1)');
    await hasText(list.locator('li').last(), 'user:00199 (1)');
    await page.getByTestId('scopes-previous').click();
    await hasText(range, 'Scopes 101–150');
    await hasText(list.locator('li').first(), 'user:00100 (1)');
    // One request per page, each for 50 scopes, with the search and the cursor.
    const pages = sent(before, 'GET', '/v1/scopes').map((r) => new URL(r.url()).searchParams);
    expect(pages.map((q) => [q.get('prefix'), q.get('after'), q.get('limit')])).toEqual([
      ['user:', null, '50'],
      ['user:', 'user:00049', '50'],
      ['user:', 'user:00099', '50'],
      ['user:', 'user:00149', '50'],
      ['user:', 'user:00099', '50'],
    ]);
    await photographInBothLanguages('secrets-search', async () => {
      await visible(list);
    });

    // Leading spaces are dropped (no scope begins with one).
    await page.getByTestId('scope-search').fill('  user:09999');
    await page.getByTestId('scope-search-submit').click();
    await hasText(list, 'user:09999 (1)');
    await hasText(range, 'Scopes 1–1');
    expect(await page.getByTestId('scopes-next').isDisabled()).toBe(true);
    await page.getByTestId('scope-user:09999').click();
    await visible(page.getByTestId('secret-api'));
    await page.getByTestId('scope-search').fill('User:');
    await page.getByTestId('scope-search-submit').click();
    await hasText(
      page.getByTestId('scope-none'),
      'No scope this token can read begins with “User:”.',
    );
  });

  it('ran without a script error or a Content-Security-Policy refusal', () => {
    expect(pageErrors).toEqual([]);
  });
});
