/**
 * HTTP benchmark (issues 9 and 15): round trips per second of GET
 * /v1/secrets/:scope/:name through the Lockbox server (buildServer from
 * packages/server/dist, bearer-token auth, the read audited as the server always
 * does), beside a bare Fastify route at the same path returning a JSON body of
 * the same size, in the same run, with 8 and with 64 connections. A third row
 * runs the Lockbox server with its verified-token cache off (tokenCacheMs: 0),
 * so the cache's share shows in the same run. Each row notes its failed requests
 * and the median over the windows of each window's p99 latency.
 *
 * Both servers listen on 127.0.0.1 in this process; the load comes from a second
 * process (bench/lib/http-load.js) with keep-alive connections, one request in
 * flight on each. Logging is off on both servers. Runs on SQLite and PostgreSQL.
 *
 * When the server package has not been built, the result is recorded as
 * "not run" with the reason, and the script exits successfully.
 *
 * Usage: node --expose-gc bench/http.js [--quick]
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Fastify from 'fastify';
import { builtEntry, importBuilt, isBuilt, REPO_ROOT } from './lib/built.js';
import { DIALECTS, drivers, freshDatabase } from './lib/databases.js';
import { compare } from './lib/measure.js';
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
const CONNECTION_COUNTS = [8, 64];
const TITLE = 'HTTP: GET /v1/secrets/:scope/:name';

if (!isBuilt('server')) {
  const reason = `not run: server not built (${builtEntry('server')} is missing; run \`npm run build\`)`;
  console.log(reason);
  writeResult({ name: 'http', title: TITLE, issue: 9, status: 'not run', reason });
  process.exit(0);
}

const core = await importBuilt('core');
const { buildServer } = await importBuilt('server');
// HTTP windows need to be longer than CPU-bound ones to settle the connections' pace.
const method = {
  rounds: options.rounds,
  windowMs: options.quick ? 500 : 2000,
  warmupMs: options.quick ? 300 : 1000,
  clock: /** @type {const} */ ('wall'),
};
const client = fork(join(REPO_ROOT, 'bench', 'lib', 'http-load.js'), { stdio: 'inherit' });
const failures = new Map();
/** @type {Map<string, number[]>} each window's p99 latency (ms) per contender */
const p99s = new Map();

/** One window of load from the client process; returns completed requests per second. */
function loadWindow(id, url, headers, connections, durationMs) {
  return new Promise((resolve, reject) => {
    client.once('message', (/** @type {any} */ reply) => {
      if (reply.error !== undefined) return reject(new Error(reply.error));
      failures.set(id, (failures.get(id) ?? 0) + reply.failed);
      if (reply.p99Ms !== null) p99s.set(id, [...(p99s.get(id) ?? []), reply.p99Ms]);
      resolve(reply.completed / reply.seconds);
    });
    client.send({ url, headers, connections, durationMs });
  });
}

/** The median of a contender's per-window p99 latencies, as a note. */
function latencyNote(id) {
  const values = [...(p99s.get(id) ?? [])].sort((a, b) => a - b);
  const median = values[Math.floor(values.length / 2)];
  return `${failures.get(id) ?? 0} failed requests; p99 ${median === undefined ? '–' : `${median.toFixed(1)} ms`}`;
}

async function benchDialect(dialect) {
  const database = await freshDatabase(dialect);
  const lockbox = await core.openLockbox({
    database: database.url,
    drivers,
    keyring: core.Keyring.fromBytes(core.generateMasterKey()),
    audit: true,
  });
  const value = `sk-${randomBytes(64).toString('base64url')}`.slice(0, 64);
  await lockbox.secrets.set('bench', 'api-key', value);
  const { token } = await lockbox.tokens.create({
    name: 'bench',
    permissions: ['secrets:read:bench'],
  });
  const app = buildServer({ lockbox, logger: false, authRateLimit: false });
  const uncached = buildServer({ lockbox, logger: false, authRateLimit: false, tokenCacheMs: 0 });
  const bare = Fastify({ logger: false });
  try {
    const path = '/v1/secrets/bench/api-key';
    const lockboxUrl = `${await app.listen({ host: '127.0.0.1', port: 0 })}${path}`;
    const uncachedUrl = `${await uncached.listen({ host: '127.0.0.1', port: 0 })}${path}`;
    const headers = { authorization: `Bearer ${token}` };
    const response = await fetch(lockboxUrl, { headers });
    const body = await response.text();
    if (response.status !== 200 || JSON.parse(body).value !== value) {
      throw new Error(`the Lockbox server answered ${response.status}`);
    }
    const document = JSON.parse(body);
    bare.get('/v1/secrets/:scope/:name', async () => document);
    const bareUrl = `${await bare.listen({ host: '127.0.0.1', port: 0 })}${path}`;
    const bareBody = await (await fetch(bareUrl)).text();
    const name = dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL';
    const groups = [];
    for (const connections of CONNECTION_COUNTS) {
      console.log(
        `\n${dialect}: response bodies ${Buffer.byteLength(body)} B (Lockbox) and ${Buffer.byteLength(bareBody)} B (bare); ${method.rounds} rounds of ${method.windowMs} ms, ${connections} connections`,
      );
      const lockboxId = `lockbox-${dialect}-${connections}`;
      const uncachedId = `lockbox-uncached-${dialect}-${connections}`;
      const bareId = `bare-${dialect}-${connections}`;
      const figures = await compare(
        [
          {
            id: lockboxId,
            label: 'Lockbox server',
            measureWindow: (ms) => loadWindow(lockboxId, lockboxUrl, headers, connections, ms),
          },
          {
            id: uncachedId,
            label: 'Lockbox server, token cache off',
            measureWindow: (ms) => loadWindow(uncachedId, uncachedUrl, headers, connections, ms),
          },
          {
            id: bareId,
            label: 'bare Fastify route',
            measureWindow: (ms) => loadWindow(bareId, bareUrl, {}, connections, ms),
          },
        ],
        { ...method, log: console.log },
      );
      groups.push(
        withRatios({
          // The 8-connection groups keep their earlier ids, so older results still compare.
          id: connections === 8 ? dialect : `${dialect}-${connections}`,
          title: `HTTP round trips/s, ${name} store, ${connections} connections`,
          unit: 'requests/s',
          peer: 'bare',
          rows: [
            row('lockbox', 'Lockbox server (auth + audited read)', figures.get(lockboxId), {
              note: latencyNote(lockboxId),
            }),
            row(
              'lockbox-uncached',
              'Lockbox server, token cache off (tokenCacheMs: 0)',
              figures.get(uncachedId),
              { note: latencyNote(uncachedId) },
            ),
            row('bare', 'bare Fastify route, same-size JSON', figures.get(bareId), {
              note: latencyNote(bareId),
            }),
          ],
        }),
      );
    }
    return groups;
  } finally {
    await bare.close();
    await uncached.close();
    await app.close();
    await lockbox.close();
    await database.drop();
  }
}

const groups = [];
try {
  for (const dialect of DIALECTS) {
    try {
      groups.push(...(await benchDialect(dialect)));
    } catch (err) {
      const reason = `${dialect}: ${err instanceof Error ? err.message : String(err)}`;
      console.error(reason);
      groups.push({
        id: dialect,
        title: `HTTP round trips/s, ${dialect}`,
        unit: 'requests/s',
        peer: 'bare',
        rows: [row('lockbox', 'Lockbox server', undefined, { reason })],
      });
    }
  }
} finally {
  client.send({ exit: true });
}
for (const group of groups) printGroup(group);
/** Issue 15: the audited read over HTTP at half the bare route's rate or better. */
const targets = groups
  .filter((group) => group.rows.some((r) => r.id === 'bare'))
  .map((group) =>
    target({
      issue: 15,
      description: `HTTP GET secret (auth + audited read) ≥ 0.5× the bare Fastify route, ${group.title.replace('HTTP round trips/s, ', '')}`,
      group,
      row: 'lockbox',
      against: 'bare',
      threshold: 0.5,
    }),
  );
console.log('');
printTargets(targets);
const failed = [...failures.values()].reduce((a, b) => a + b, 0);
console.log(`\nfailed requests: ${failed}`);

const file = writeResult({
  name: 'http',
  title: TITLE,
  issue: 9,
  command: 'npm run bench -- --only http',
  quick: options.quick,
  method,
  ...run.finish(),
  groups,
  targets,
  notes: [
    `Load from a second node process: ${CONNECTION_COUNTS.join(' and ')} keep-alive connections (node:http Agent), one request in flight on each; all servers in one process on 127.0.0.1, logging off.`,
    'The Lockbox server authenticates the bearer token (verified from the database at most once a second per token: tokenCacheMs 1000, the default), reads and decrypts the secret, and appends a hash-chained audit entry for every read (the server always audits reads) before it answers. The "token cache off" row reads and checks the token row on every request.',
    'p99: the 99th percentile of one window’s request latencies, median over the windows.',
    `Failed requests over the whole run: ${failed}.`,
  ],
});
console.log(`wrote ${file}`);
