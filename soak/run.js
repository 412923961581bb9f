/**
 * The reliability suite: `npm run soak` (not part of `npm test`).
 *
 * Three `lockbox serve` instances share one PostgreSQL store while a load
 * generator in a second process reads and writes secrets across all three, and
 * the operator's whole key-rotation procedure runs underneath:
 *
 *   1. stage     rolling restart: every instance gets the new master key as
 *                primary and keeps the old one as a previous key
 *   2. master    online master rotation (POST /v1/rotation/master on one
 *                instance, the old and new key in the body as proof of possession)
 *   3. data      online data re-key (`lockbox rotate data --online` in another process)
 *   4. retire    rolling restart with the new key only; each instance's startup
 *                key check proves the old key is no longer needed
 *
 * Pass criteria: zero failed requests (any non-200, socket error, or a read that
 * does not return exactly the last acknowledged write), every secret read back
 * identical from every instance afterwards, `lockbox audit verify` succeeds,
 * `lockbox status` finds nothing undecryptable, needs only the new key and finds
 * every data key wrapped to the recovery recipient, `lockbox doctor --verify`
 * decrypts every row, and every instance shut down
 * gracefully. Nothing is retried.
 *
 * Writes soak/results/soak.json and the "Reliability (soak)" section of
 * docs/soak.md. Exits 1 when a criterion fails, 2 on a setup error.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { keepAliveAgent, send } from './lib/http-client.js';
import { readKeyText, writeConfigFile, writeNewMasterKeyFile } from './lib/key-files.js';
import { LoadController } from './lib/load-controller.js';
import { lockboxJson, REPO_ROOT, requireBuiltCli, runLockbox } from './lib/lockbox-cli.js';
import { instancesOnFreePorts, LockboxInstance } from './lib/lockbox-instance.js';
import { parseOptions } from './lib/options.js';
import { createSchema, queryRows } from './lib/postgres-schema.js';
import { readBack } from './lib/read-back.js';
import { rollingRestart } from './lib/rolling-restart.js';
import { printSummary, updateSoakDoc } from './lib/soak-report.js';

const INSTANCES = 3;
const SEED_CONCURRENCY = 16;

/** @param {string} message */
function log(message) {
  const at = new Date().toISOString().slice(11, 19);
  console.log(`[soak ${at}] ${message}`);
}

/** @param {number} ms */
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  }
  requireBuiltCli();
  const loadAverageStart = loadavg().map((n) => Math.round(n * 10) / 10);
  const work = mkdtempSync(join(tmpdir(), 'lockbox-soak-'));
  const where = (/** @type {string} */ configFile) => ({ configFile, cwd: work });
  log(`working directory ${work}`);
  const schema = await createSchema(options.postgres);
  log(`PostgreSQL schema ${schema.schema}`);

  const configs = {
    old: join(work, 'lockbox.old.json'),
    staged: join(work, 'lockbox.staged.json'),
    next: join(work, 'lockbox.new.json'),
  };
  const oldKey = join(work, 'old.key');
  const newKey = join(work, 'new.key');
  writeConfigFile(configs.old, { database: schema.url, masterKeyFile: oldKey });

  /** @type {LockboxInstance[]} */
  const instances = [];
  /** @type {LoadController | undefined} */
  let load;
  let exitCode = 2;
  try {
    // Setup, as an operator would do it: init writes the old key file (0600).
    // With a recovery recipient, so the suite also checks that every data key
    // created during the rotations (by any instance) is wrapped to it.
    const init = await lockboxJson(
      ['init', '--recovery-identity', join(work, 'recovery.txt')],
      where(configs.old),
    );
    const fingerprints = { old: init.json.fingerprint, new: '' };
    log(`lockbox init: store created, master key ${fingerprints.old}, recovery recipient set`);
    writeNewMasterKeyFile(newKey);
    writeConfigFile(configs.staged, {
      database: schema.url,
      masterKeyFile: newKey,
      previousKeyFiles: [oldKey],
    });
    writeConfigFile(configs.next, { database: schema.url, masterKeyFile: newKey });

    const loadToken = (
      await lockboxJson(
        [
          'token',
          'create',
          '--name',
          'soak-load',
          '--permission',
          'secrets:read:soak-*',
          '--permission',
          'secrets:write:soak-*',
        ],
        where(configs.old),
      )
    ).json.token;
    const rotateToken = (
      await lockboxJson(
        [
          'token',
          'create',
          '--name',
          'soak-rotate',
          '--permission',
          'keys:rotate',
          '--permission',
          'admin',
        ],
        where(configs.old),
      )
    ).json.token;
    log('tokens created: soak-load (secrets:read/write:soak-*), soak-rotate (keys:rotate, admin)');

    instances.push(...(await instancesOnFreePorts(INSTANCES, work)));
    const ports = instances.map((instance) => instance.port);
    const firstStart = await Promise.all(instances.map((inst) => inst.start(configs.old)));
    log(
      `3 instances ready on ports ${ports.join(', ')} (${firstStart.map((ms) => seconds(ms)).join(', ')})`,
    );

    const seeded = await seed(options, ports, loadToken);
    log(
      `seeded ${seeded.secrets.length} secrets in ${options.scopes} scopes (${seconds(seeded.ms)})`,
    );

    load = new LoadController();
    load.onTick = (tick) =>
      log(`load: ${tick.sent} requests, ${tick.failed} failed (${tick.phase})`);
    const loadStarted = performance.now();
    await load.start({
      ports,
      token: loadToken,
      workers: options.workers,
      readRatio: options.readRatio,
      phase: 'baseline',
      secrets: seeded.secrets,
    });
    log(
      `load generator started: ${options.workers} workers, ${Math.round(options.readRatio * 100)}% reads`,
    );
    await sleep(options.gapMs);

    /** @type {Record<string, any>} */
    const steps = {};

    load.phase('stage-restart');
    log('1/4 stage: rolling restart with the new key primary, the old key previous');
    steps.stage = await rollingRestart(instances, load, configs.staged);
    log(`    done in ${seconds(steps.stage.durationMs)}`);
    load.phase('staged');
    await sleep(options.gapMs);

    load.phase('master-rotation');
    log('2/4 master rotation: POST /v1/rotation/master on instance-1 (online)');
    steps.master = await rotateMasterOverApi(ports[0] ?? 0, rotateToken, {
      oldKey: readKeyText(oldKey),
      newKey: readKeyText(newKey),
      batchSize: options.batchSize,
    });
    fingerprints.new = steps.master.result?.to ?? '';
    log(
      `    ${steps.master.status === 200 ? 'done' : `FAILED (${steps.master.status})`} in ${seconds(steps.master.wallMs)}: ${JSON.stringify(steps.master.result?.dataKeys ?? steps.master.result)}`,
    );
    load.phase('rotated');
    await sleep(options.gapMs);

    load.phase('data-rekey');
    const via = (await hasRotateCommand(where(configs.staged))) ? 'cli' : 'api';
    log(
      `3/4 data re-key (${options.rekeyMode}${options.rekeys > 1 ? `, ${options.rekeys} times` : ''}): ${via === 'cli' ? `\`lockbox rotate data --${options.rekeyMode}\` in another process` : 'POST /v1/rotation/data on instance-2 (the CLI has no rotate command yet)'}`,
    );
    const rekeyStarted = performance.now();
    const runs = [];
    for (let i = 0; i < options.rekeys; i++) {
      const run =
        via === 'cli'
          ? await rekeyDataWithCli(where(configs.staged), options.rekeyMode, options.batchSize)
          : await rekeyDataOverApi(
              ports[1] ?? 0,
              rotateToken,
              options.rekeyMode,
              options.batchSize,
            );
      runs.push(run);
      log(
        `    ${run.ok ? 'done' : 'FAILED'} in ${seconds(run.wallMs)}: ${JSON.stringify(run.summary)}`,
      );
    }
    steps.data = {
      via,
      mode: options.rekeyMode,
      ok: runs.every((run) => run.ok),
      wallMs: Math.round(performance.now() - rekeyStarted),
      runs,
    };
    load.phase('rekeyed');
    await sleep(options.gapMs);

    load.phase('retire-restart');
    log('4/4 retire: rolling restart with the new key only (startup key check)');
    steps.retire = await rollingRestart(instances, load, configs.next);
    log(`    done in ${seconds(steps.retire.durationMs)}`);
    load.phase('final');
    const remaining = options.durationMs - (performance.now() - loadStarted);
    await sleep(Math.max(remaining, options.gapMs));

    const loadResult = await load.stop();
    const loadMs = performance.now() - loadStarted;
    log(
      `load stopped after ${seconds(loadMs)}: ${loadResult.requests} requests, ${loadResult.failures} failed`,
    );

    log('verifying: read back every secret from every instance');
    const readback = await readBack(loadResult.secrets, ports, loadToken);
    const rotationStatus = await send({
      agent: keepAliveAgent(1),
      port: ports[2] ?? 0,
      method: 'GET',
      path: '/v1/rotation',
      token: rotateToken,
    });
    log(
      'verifying: lockbox audit verify, status and doctor --verify (new key only), status (old key only)',
    );
    const auditVerify = await runLockbox(['--json', 'audit', 'verify'], where(configs.next));
    const status = await runLockbox(['--json', 'status'], where(configs.next));
    const doctor = await runLockbox(['--json', 'doctor', '--verify'], where(configs.next));
    const oldOnly = await runLockbox(['--json', 'status'], where(configs.old));
    const database = await databaseFacts(schema.url);

    const stopCodes = [];
    for (const instance of instances) stopCodes.push(await instance.stop());

    const result = buildResult({
      loadAverageStart,
      options,
      fingerprints,
      loadMs,
      loadResult,
      steps,
      readback,
      rotationStatus,
      auditVerify,
      status,
      doctor,
      oldOnly,
      database,
      instances,
      stopCodes,
    });
    mkdirSync(join(REPO_ROOT, 'soak', 'results'), { recursive: true });
    writeFileSync(
      join(REPO_ROOT, 'soak', 'results', 'soak.json'),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    printSummary(result);
    if (options.writeDocs) {
      updateSoakDoc(join(REPO_ROOT, 'docs', 'soak.md'), result);
      log('docs/soak.md updated');
    }
    exitCode = result.passed ? 0 : 1;
    if (!result.passed) log(`instance logs and keys kept in ${work}`);
  } catch (err) {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    log(`setup or orchestration failed; instance logs kept in ${work}`);
    exitCode = 2;
  } finally {
    load?.close();
    for (const instance of instances) {
      await instance.stop();
      instance.close();
    }
    if (!options.keep) await schema.drop();
    if (!options.keep && exitCode === 0) rmSync(work, { recursive: true, force: true });
  }
  process.exit(exitCode);
}

/**
 * Seeds the secrets through the API (instances in turn), and returns the load
 * generator's starting record: each secret's value and version.
 * @param {import('./lib/options.js').SoakOptions} options
 * @param {number[]} ports
 * @param {string} token
 */
async function seed(options, ports, token) {
  const started = performance.now();
  const agents = ports.map(() => keepAliveAgent(SEED_CONCURRENCY));
  const secrets = Array.from({ length: options.secrets }, (_, i) => {
    const scope = `soak-${String(i % options.scopes).padStart(4, '0')}`;
    const name = `secret-${String(i).padStart(6, '0')}`;
    return { scope, name, value: `${scope}/${name} v1 ✓ seed-${i}`, version: 1 };
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: SEED_CONCURRENCY }, async () => {
      while (next < secrets.length) {
        const index = next++;
        const secret = secrets[index];
        if (secret === undefined) break;
        const instance = index % ports.length;
        const reply = await send({
          agent: /** @type {import('node:http').Agent} */ (agents[instance]),
          port: ports[instance] ?? 0,
          method: 'PUT',
          path: `/v1/secrets/${secret.scope}/${secret.name}`,
          token,
          body: { value: secret.value, ifVersion: 0 },
        });
        if (reply.status !== 200 || reply.body?.version !== 1) {
          throw new Error(
            `seeding ${secret.scope}/${secret.name} failed: ${reply.status} ${reply.body?.error?.code ?? reply.error}`,
          );
        }
      }
    }),
  );
  for (const agent of agents) agent.destroy();
  return { secrets, ms: performance.now() - started };
}

/**
 * @param {number} port
 * @param {string} token
 * @param {{ oldKey: string, newKey: string, batchSize: number }} keys
 */
async function rotateMasterOverApi(port, token, keys) {
  const started = performance.now();
  const agent = keepAliveAgent(1);
  const reply = await send({
    agent,
    port,
    method: 'POST',
    path: '/v1/rotation/master',
    token,
    body: { oldKey: keys.oldKey, newKey: keys.newKey, mode: 'online', batchSize: keys.batchSize },
    timeoutMs: 600_000,
  });
  agent.destroy();
  return {
    via: 'api',
    status: reply.status,
    ok: reply.status === 200 && reply.body?.dataKeys?.remaining === 0,
    wallMs: Math.round(performance.now() - started),
    result: reply.status === 200 ? reply.body : reply.body?.error,
  };
}

/** Whether the built CLI has `lockbox rotate` yet. @param {{ configFile: string, cwd: string }} at */
async function hasRotateCommand(at) {
  const help = await runLockbox(['rotate', '--help'], at);
  return help.code === 0 && /\bdata\b/.test(help.stdout);
}

/**
 * @param {{ configFile: string, cwd: string }} at
 * @param {'online' | 'atomic'} mode
 * @param {number} batchSize
 */
async function rekeyDataWithCli(at, mode, batchSize) {
  const run = await runLockbox(
    ['--json', 'rotate', 'data', `--${mode}`, '--batch-size', String(batchSize)],
    at,
  );
  let parsed;
  try {
    parsed = JSON.parse(run.stdout);
  } catch {
    parsed = undefined;
  }
  return rekeySummary(
    'cli',
    run.code === 0,
    run.durationMs,
    parsed ?? { exitCode: run.code, stderr: run.stderr.trim() },
  );
}

/**
 * @param {number} port
 * @param {string} token
 * @param {'online' | 'atomic'} mode
 * @param {number} batchSize
 */
async function rekeyDataOverApi(port, token, mode, batchSize) {
  const started = performance.now();
  const agent = keepAliveAgent(1);
  const reply = await send({
    agent,
    port,
    method: 'POST',
    path: '/v1/rotation/data',
    token,
    body: { mode, batchSize },
    timeoutMs: 600_000,
  });
  agent.destroy();
  return rekeySummary(
    'api',
    reply.status === 200,
    performance.now() - started,
    reply.status === 200 ? reply.body : { status: reply.status, error: reply.body?.error },
  );
}

/**
 * @param {'cli' | 'api'} via
 * @param {boolean} succeeded
 * @param {number} wallMs
 * @param {any} result
 */
function rekeySummary(via, succeeded, wallMs, result) {
  const ok =
    succeeded &&
    result?.unreadable === 0 &&
    result?.dataKeys?.retained === 0 &&
    result?.dryRun === false;
  return {
    via,
    ok,
    wallMs: Math.round(wallMs),
    summary: succeeded
      ? {
          mode: result.mode,
          rows: result.rows,
          secrets: result.secrets,
          conflicts: result.conflicts,
          unreadable: result.unreadable,
          dataKeys: result.dataKeys,
          durationMs: result.durationMs,
        }
      : result,
    result,
  };
}

/** Row counts straight from the schema (read-only), for the report. @param {string} url */
async function databaseFacts(url) {
  const [version] = await queryRows(url, 'select version() as version');
  const dataKeys = await queryRows(
    url,
    'select state, count(*)::int as n from lockbox_data_keys group by state order by state',
  );
  const masterKeys = await queryRows(
    url,
    'select fingerprint, state from lockbox_master_keys order by created_at',
  );
  const [audit] = await queryRows(url, 'select count(*)::int as n from lockbox_audit');
  // Two writers that both find no active key right after a re-key's switch can
  // each create one; reads stay correct (the highest version wins), but it is
  // worth seeing.
  const [doubled] = await queryRows(
    url,
    `select count(*)::int as n from (select scope from lockbox_data_keys where state = 'active'
       group by scope having count(*) > 1) as s`,
  );
  return {
    postgres: String(version?.version ?? '').split(' on ')[0],
    dataKeys: Object.fromEntries(dataKeys.map((r) => [r.state, r.n])),
    scopesWithSeveralActiveDataKeys: doubled?.n ?? 0,
    masterKeys,
    auditEntries: audit?.n ?? 0,
  };
}

/** @param {{ code: number | null, stdout: string, stderr: string }} run */
function parsedOutput(run) {
  try {
    return JSON.parse(run.code === 0 ? run.stdout : run.stderr);
  } catch {
    return { exitCode: run.code, output: (run.stderr || run.stdout).trim().slice(0, 500) };
  }
}

/** Puts every figure and every pass criterion in one object (soak/results/soak.json). @param {any} r */
function buildResult(r) {
  const { options, loadResult, steps, readback } = r;
  const audit = parsedOutput(r.auditVerify);
  const status = parsedOutput(r.status);
  const oldOnly = parsedOutput(r.oldOnly);
  const doctor = parsedOutput(r.doctor);
  const rotationStatus = r.rotationStatus.body;
  const criteria = [
    {
      name: 'zero failed requests under load',
      passed: loadResult.failures === 0,
      detail: `${loadResult.failures} of ${loadResult.requests} failed`,
    },
    {
      name: 'master rotation succeeded online with nothing left under the old key',
      passed: steps.master.ok,
      detail: JSON.stringify(steps.master.result?.dataKeys ?? steps.master.result),
    },
    {
      name: 'data re-key succeeded: no unreadable row, every old data key destroyed',
      passed: steps.data.ok,
      detail: steps.data.runs
        .map((/** @type {any} */ run) => JSON.stringify(run.summary))
        .join('; '),
    },
    {
      name: 'every secret read back identical from every instance',
      passed: readback.mismatches === 0 && readback.tainted === 0 && readback.reads > 0,
      detail: `${readback.reads} reads of ${readback.secrets} secrets, ${readback.mismatches} mismatches, ${readback.tainted} unknown after a failed write`,
    },
    {
      name: 'audit chain verifies (lockbox audit verify)',
      passed: r.auditVerify.code === 0 && audit.ok === true,
      detail: r.auditVerify.code === 0 ? `${audit.entries} entries` : JSON.stringify(audit),
    },
    {
      name: 'lockbox status: nothing undecryptable, only the new key needed',
      passed:
        r.status.code === 0 &&
        Array.isArray(status.undecryptable) &&
        status.undecryptable.length === 0 &&
        status.keys?.needed?.every((/** @type {any} */ n) => n.fingerprint === r.fingerprints.new),
      detail: JSON.stringify({ needed: status.keys?.needed, undecryptable: status.undecryptable }),
    },
    {
      name: 'lockbox doctor --verify: every row decrypts, no key missing',
      passed: r.doctor.code === 0 && doctor.ok === true,
      detail: JSON.stringify({
        exit: r.doctor.code,
        secrets: doctor.census?.secrets?.total,
        unreadable: doctor.census?.secrets?.unreadable,
        findings: doctor.findings?.map((/** @type {any} */ f) => `${f.severity}: ${f.message}`),
      }),
    },
    {
      name: 'every data key is wrapped to the recovery recipient',
      passed:
        status.backup?.recoveryRecipient !== undefined &&
        status.backup?.dataKeysWithoutRecovery === 0,
      detail: JSON.stringify({
        recipient: status.backup?.recoveryRecipient !== undefined,
        dataKeysWithoutRecovery: status.backup?.dataKeysWithoutRecovery,
      }),
    },
    {
      name: 'the old key alone opens nothing (KEY_WRONG)',
      passed: r.oldOnly.code !== 0 && JSON.stringify(oldOnly).includes('KEY_WRONG'),
      detail: `exit ${r.oldOnly.code}`,
    },
    {
      name: 'no rotation left unfinished',
      passed: r.rotationStatus.status === 200 && rotationStatus?.unfinished === null,
      detail: JSON.stringify({
        lock: rotationStatus?.lock ?? null,
        recent: rotationStatus?.recent?.map((/** @type {any} */ j) => `${j.kind}:${j.state}`),
      }),
    },
    {
      name: 'every instance stopped gracefully (exit 0) at every restart',
      passed: r.instances.every((/** @type {LockboxInstance} */ i) =>
        i.exitCodes.every((c) => c === 0),
      ),
      detail: r.instances
        .map((/** @type {LockboxInstance} */ i) => `${i.name}: ${i.exitCodes.join(',')}`)
        .join('; '),
    },
  ];
  const { secrets: _values, ...load } = loadResult;
  return {
    passed: criteria.every((c) => c.passed),
    criteria,
    date: new Date().toISOString(),
    command: `npm run soak${options.quick ? ' -- --quick' : ''}`,
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      loadAverage: {
        start: r.loadAverageStart,
        end: loadavg().map((n) => Math.round(n * 10) / 10),
      },
      node: process.version,
      postgres: r.database.postgres,
    },
    options: {
      quick: options.quick,
      durationMs: options.durationMs,
      gapMs: options.gapMs,
      secrets: options.secrets,
      scopes: options.scopes,
      workers: options.workers,
      readRatio: options.readRatio,
      batchSize: options.batchSize,
      rekeys: options.rekeys,
      rekeyMode: options.rekeyMode,
      instances: INSTANCES,
    },
    fingerprints: r.fingerprints,
    loadMs: Math.round(r.loadMs),
    throughput: Math.round(loadResult.requests / (r.loadMs / 1000)),
    load,
    steps: {
      stage: steps.stage,
      master: { via: steps.master.via, wallMs: steps.master.wallMs, result: steps.master.result },
      data: {
        via: steps.data.via,
        mode: steps.data.mode,
        wallMs: steps.data.wallMs,
        runs: steps.data.runs.map((/** @type {any} */ run) => ({
          wallMs: run.wallMs,
          result: run.summary,
        })),
      },
      retire: steps.retire,
    },
    readback,
    audit: r.auditVerify.code === 0 ? { ok: audit.ok, entries: audit.entries } : audit,
    database: r.database,
  };
}

await main();
