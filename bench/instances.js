/**
 * Instances benchmark (issue 15): audited reads per second (GET
 * /v1/secrets/:scope/:name) from one `lockbox serve` process, and from three on
 * the same PostgreSQL store, under the same total load: C keep-alive
 * connections to the one instance, or C/3 to each of the three. The target:
 * three instances serve at least as many audited reads/s as one (no loss from
 * adding instances; every read appends to the one hash-chained audit log the
 * instances share).
 *
 * Everything runs as an operator would run it: `lockbox init` writes the key
 * file, `lockbox token create` makes the tokens, three real `lockbox serve`
 * child processes (soak/lib/lockbox-instance.js) open the store from a config
 * file, and the secrets are seeded through the API. All three instances run for
 * the whole benchmark; the one-instance windows load instance 1 alone (the other
 * two sit idle). Windows alternate between the two rows (bench/lib/measure.js
 * rotates the order every round); the load comes from a second node process
 * (bench/lib/http-load.js). Afterwards `lockbox audit verify` (spawned) must
 * pass and count at least as many entries as reads completed in the windows;
 * otherwise the benchmark fails (exit 1) after writing its result.
 *
 * When the CLI has not been built or PostgreSQL cannot be reached, the result is
 * recorded as "not run" with the reason, and the script exits successfully.
 *
 * Usage: node --expose-gc bench/instances.js [--quick]
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepAliveAgent, send } from '../soak/lib/http-client.js';
import { writeConfigFile } from '../soak/lib/key-files.js';
import { LOCKBOX_MAIN, lockboxJson, runLockbox } from '../soak/lib/lockbox-cli.js';
import { instancesOnFreePorts, LockboxInstance } from '../soak/lib/lockbox-instance.js';
import { REPO_ROOT } from './lib/built.js';
import { freshDatabase } from './lib/databases.js';
import { compare, median } from './lib/measure.js';
import { benchOptions } from './lib/options.js';
import {
  printGroup,
  printTargets,
  row,
  startRun,
  target,
  withRatios,
  writeResult,
} from './lib/results.js';

const options = benchOptions();
const run = startRun();
const NAME = 'instances';
const TITLE = 'Instances: one vs three `lockbox serve` on one PostgreSQL store';
const INSTANCES = 3;
/** Total connections in both rows: all on one instance, or CONNECTIONS / 3 on each of three. */
const CONNECTIONS = 24;
/** Secrets read in turn: connection i reads secret i / INSTANCES (mod SECRETS) in both rows. */
const SECRETS = 8;
const SCOPE = 'bench';
// Windows long enough for three processes' connections to settle their pace.
const method = {
  rounds: options.rounds,
  windowMs: options.quick ? 1500 : 5000,
  warmupMs: options.quick ? 1000 : 2000,
  clock: /** @type {const} */ ('wall'),
};

/** Records "not run" with its reason and exits successfully. @param {string} reason */
function notRun(reason) {
  console.log(`not run: ${reason}`);
  writeResult({ name: NAME, title: TITLE, issue: 15, status: 'not run', reason });
  process.exit(0);
}

if (!existsSync(LOCKBOX_MAIN)) {
  notRun(`CLI not built (${LOCKBOX_MAIN} is missing; run \`npm run build\`)`);
}

/**
 * The CLI loads @lockbox/core by package resolution, not by path: in a git
 * worktree whose node_modules link to another checkout, that is the other
 * checkout's build. Said loudly, since the figures would then not be this tree's.
 */
const cliCore = realpathSync(createRequire(LOCKBOX_MAIN).resolve('@lockbox/core'));
const foreignCore = !cliCore.startsWith(`${realpathSync(REPO_ROOT)}/`);
if (foreignCore) {
  console.warn(`warning: the CLI resolves @lockbox/core to ${cliCore}, outside this checkout`);
}

let database;
try {
  database = await freshDatabase('postgres');
} catch (err) {
  notRun(`PostgreSQL not reachable: ${err instanceof Error ? err.message : String(err)}`);
}

const work = mkdtempSync(join(tmpdir(), 'lockbox-bench-instances-'));
const configFile = join(work, 'lockbox.json');
const where = { configFile, cwd: work };
const client = fork(join(REPO_ROOT, 'bench', 'lib', 'http-load.js'), { stdio: 'inherit' });
/** @type {LockboxInstance[]} */
const instances = [];
/** @type {Map<string, { completed: number, failed: number, p99s: number[] }>} per row, timed windows only */
const windows = new Map();

/** One window of load from the client process; returns completed requests per second. */
function loadWindow(id, urls, headers, durationMs) {
  return new Promise((resolve, reject) => {
    client.once('message', (/** @type {any} */ reply) => {
      if (reply.error !== undefined) return reject(new Error(reply.error));
      const tally = windows.get(id) ?? { completed: 0, failed: 0, p99s: [] };
      tally.completed += reply.completed;
      tally.failed += reply.failed;
      if (reply.p99Ms !== null) tally.p99s.push(reply.p99Ms);
      windows.set(id, tally);
      resolve(reply.completed / reply.seconds);
    });
    client.send({ urls, headers, connections: CONNECTIONS, durationMs });
  });
}

/** Seeds the secrets through instance 1's API; returns their values by name. */
async function seed(port, token) {
  const agent = keepAliveAgent(1);
  const values = new Map();
  try {
    for (let i = 0; i < SECRETS; i++) {
      const name = `api-key-${i}`;
      const value = `sk-${randomBytes(64).toString('base64url')}`.slice(0, 64);
      const reply = await send({
        agent,
        port,
        method: 'PUT',
        path: `/v1/secrets/${SCOPE}/${name}`,
        token,
        body: { value, ifVersion: 0 },
      });
      if (reply.status !== 200) {
        throw new Error(`seeding ${SCOPE}/${name} answered ${reply.status}`);
      }
      values.set(name, value);
    }
    return values;
  } finally {
    agent.destroy();
  }
}

/** Every instance must answer every secret with its seeded value before the load starts. */
async function checkReads(ports, token, values) {
  const agent = keepAliveAgent(1);
  try {
    for (const port of ports) {
      for (const [name, value] of values) {
        const reply = await send({
          agent,
          port,
          method: 'GET',
          path: `/v1/secrets/${SCOPE}/${name}`,
          token,
        });
        if (reply.status !== 200 || reply.body?.value !== value) {
          throw new Error(`port ${port}: GET ${SCOPE}/${name} answered ${reply.status}`);
        }
      }
    }
  } finally {
    agent.destroy();
  }
}

/**
 * The URL list for http-load.js (connection i requests urls[i % n]): listed by
 * secret, then by port, so that connection i goes to port i mod ports and reads
 * secret i / INSTANCES; with one port or three, each secret gets the same
 * number of connections.
 */
function urlsFor(ports) {
  return Array.from({ length: SECRETS * INSTANCES }, (_, i) => {
    const port = ports[i % ports.length];
    return `http://127.0.0.1:${port}/v1/secrets/${SCOPE}/api-key-${Math.floor(i / INSTANCES) % SECRETS}`;
  });
}

/** Failed requests and the median of the windows' p99 latencies, as a row note. */
function latencyNote(id) {
  const tally = windows.get(id);
  const p99 = tally === undefined || tally.p99s.length === 0 ? undefined : median(tally.p99s);
  return `${tally?.failed ?? 0} failed requests; p99 ${p99 === undefined ? '–' : `${p99.toFixed(1)} ms`}`;
}

let exitCode = 0;
let keepWork = false;
try {
  writeConfigFile(configFile, {
    database: /** @type {{ url: string }} */ (database).url,
    masterKeyFile: join(work, 'lockbox.key'),
  });
  await lockboxJson(['init'], where);
  const tokenFor = async (name, permission) =>
    (await lockboxJson(['token', 'create', '--name', name, '--permission', permission], where)).json
      .token;
  const seedToken = await tokenFor('bench-seed', `secrets:write:${SCOPE}`);
  const readToken = await tokenFor('bench-read', `secrets:read:${SCOPE}`);
  instances.push(...(await instancesOnFreePorts(INSTANCES, work)));
  const ports = instances.map((instance) => instance.port);
  const readyMs = await Promise.all(instances.map((instance) => instance.start(configFile)));
  console.log(
    `${INSTANCES} instances ready on ports ${ports.join(', ')} (${readyMs.map((ms) => `${Math.round(ms)} ms`).join(', ')})`,
  );
  const values = await seed(ports[0], seedToken);
  await checkReads(ports, readToken, values);

  const headers = { authorization: `Bearer ${readToken}` };
  const single = urlsFor([ports[0]]);
  const three = urlsFor(ports);
  const share = Array(INSTANCES)
    .fill(CONNECTIONS / INSTANCES)
    .join(' + ');
  console.log(
    `\n${SECRETS} secrets; ${method.rounds} rounds of ${method.windowMs} ms; ${CONNECTIONS} connections to one instance vs ${share} to three`,
  );
  const figures = await compare(
    [
      {
        id: 'one',
        label: 'one instance',
        measureWindow: (ms) => loadWindow('one', single, headers, ms),
      },
      {
        id: 'three',
        label: 'three instances',
        measureWindow: (ms) => loadWindow('three', three, headers, ms),
      },
    ],
    { ...method, log: console.log },
  );

  const auditStarted = Date.now();
  const verify = await runLockbox(['--json', 'audit', 'verify'], where);
  let verified;
  try {
    verified = JSON.parse(verify.stdout);
  } catch {
    verified = undefined;
  }
  const readsInWindows = [...windows.values()].reduce((sum, t) => sum + t.completed, 0);
  const audit = {
    command: 'lockbox audit verify',
    exitCode: verify.code,
    ok: verify.code === 0 && verified?.ok === true,
    entries: verified?.entries ?? null,
    readsInWindows,
    durationMs: Date.now() - auditStarted,
    ...(verify.code === 0 ? {} : { error: verify.stderr.trim() || verify.stdout.trim() }),
  };
  const auditPassed = audit.ok && audit.entries !== null && audit.entries >= readsInWindows;
  console.log(
    `\nlockbox audit verify: ${audit.ok ? 'ok' : 'FAILED'}, ${audit.entries ?? '?'} entries (${readsInWindows} reads completed in the windows), ${audit.durationMs} ms${audit.error === undefined ? '' : `: ${audit.error}`}`,
  );

  const stopCodes = [];
  for (const instance of instances) stopCodes.push(await instance.stop());

  const group = withRatios({
    id: 'postgres',
    title: `Audited reads/s, PostgreSQL store, ${CONNECTIONS} connections in total`,
    unit: 'requests/s',
    peer: 'lockbox-one',
    rows: [
      row('lockbox-one', `1 instance, ${CONNECTIONS} connections`, figures.get('one'), {
        note: latencyNote('one'),
      }),
      row('lockbox-three', `3 instances, ${share} connections`, figures.get('three'), {
        note: latencyNote('three'),
      }),
    ],
  });
  printGroup(group);
  const targets = [
    target({
      issue: 15,
      description: `Three instances on one PostgreSQL store, the same ${CONNECTIONS} connections in total: audited reads/s ≥ 1.0× one instance`,
      group,
      row: 'lockbox-three',
      against: 'lockbox-one',
      threshold: 1.0,
    }),
  ];
  console.log('');
  printTargets(targets);
  const failed = [...windows.values()].reduce((sum, t) => sum + t.failed, 0);
  console.log(`\nfailed requests: ${failed}`);
  const gracefulStops = stopCodes.every((code) => code === 0);
  if (!auditPassed || !gracefulStops) {
    exitCode = 1;
    keepWork = true;
  }

  const file = writeResult({
    name: NAME,
    title: TITLE,
    issue: 15,
    command: `npm run bench -- --only ${NAME}`,
    quick: options.quick,
    method,
    ...run.finish(),
    groups: [group],
    targets,
    audit,
    stopCodes,
    notes: [
      `${INSTANCES} \`lockbox serve\` child processes (the built CLI, --log-level warn, default settings: PostgreSQL pool of 4 per process, token cache 1 s) on one PostgreSQL schema; all three run throughout, and the one-instance windows load instance 1 alone while the other two sit idle.`,
      `Load from a second node process (bench/lib/http-load.js): ${CONNECTIONS} keep-alive connections in both rows, one request in flight on each, reading ${SECRETS} secrets in turn; every read is authenticated by a read-only bearer token and appends a hash-chained audit entry to the log the instances share.`,
      `Windows alternate between the rows (the order rotates every round); figures are medians over the rounds. p99: the 99th percentile of one window’s request latencies, median over the windows.`,
      `Failed requests over the timed windows: ${failed}.`,
      `After the run, \`lockbox audit verify\` (spawned): ${audit.ok ? 'passed' : 'FAILED'}, ${audit.entries ?? '?'} entries for ${readsInWindows} reads completed in the timed windows (plus warm-up reads and setup), in ${(audit.durationMs / 1000).toFixed(1)} s.`,
      `Instances stopped with SIGTERM, exit codes ${stopCodes.join(', ')}.`,
      ...(foreignCore
        ? [`Warning: the CLI loaded @lockbox/core from ${cliCore}, not this checkout.`]
        : []),
    ],
  });
  console.log(`wrote ${file}`);
  if (exitCode !== 0) {
    console.error(
      `${auditPassed ? '' : 'the audit check failed; '}${gracefulStops ? '' : 'an instance did not stop gracefully; '}instance logs kept in ${work}`,
    );
  }
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  console.error(`instance logs kept in ${work}`);
  exitCode = 1;
  keepWork = true;
} finally {
  client.send({ exit: true });
  for (const instance of instances) {
    await instance.stop();
    instance.close();
  }
  await /** @type {{ drop: () => Promise<void> }} */ (database).drop();
  if (!keepWork) rmSync(work, { recursive: true, force: true });
}
process.exitCode = exitCode;
