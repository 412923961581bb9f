/**
 * The load generator: a separate process (forked by run.js, talking over IPC)
 * that reads and writes secrets across the instances while keys rotate.
 *
 * Correctness check, kept exact on purpose: the secrets are partitioned among
 * `workers` sequential loops, so each secret is written by exactly one loop,
 * one request at a time. The loop therefore knows the value and version every
 * read must return — the last write the server acknowledged — with no window of
 * uncertainty, whichever instance serves the read. A read that returns anything
 * else (an older value, another secret's value, a wrong version) is a failure,
 * as is any non-200 status or socket error. Nothing is retried.
 *
 * A write that fails leaves its secret's value unknown (it may or may not have
 * been committed); the failure is counted and that secret is excluded from
 * later checks ("tainted"), so one failure is reported once, not as a cascade.
 *
 * Routing is round-robin over the instances not being drained. A drain (the
 * parent's request before it restarts an instance) stops new requests to that
 * instance and answers once its in-flight requests have finished — what a load
 * balancer does when a backend is taken out of rotation.
 *
 * Messages in: start, phase, drain, undrain, stop. Messages out: started, tick,
 * drained, result.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { keepAliveAgent, send } from './http-client.js';
import { summarizeLatency } from './latency-summary.js';

const MAX_FAILURE_SAMPLES = 100;
const TICK_MS = 5_000;

/**
 * @typedef {object} TrackedSecret
 * @property {string} scope
 * @property {string} name
 * @property {string} value the last acknowledged value
 * @property {number} version the last acknowledged version
 * @property {number} reads checked reads
 * @property {number} writes acknowledged writes
 * @property {boolean} tainted a write failed, so the value is unknown
 */

/**
 * @typedef {object} PhaseStats
 * @property {number[]} read latencies of reads (ms)
 * @property {number[]} write latencies of writes (ms)
 * @property {number} failures
 * @property {number[]} byInstance requests sent to each instance
 */

/** @type {{ ports: number[], token: string, workers: number, readRatio: number } | undefined} */
let config;
/** @type {TrackedSecret[]} */
let secrets = [];
/** @type {import('node:http').Agent[]} */
let agents = [];
/** @type {boolean[]} */
let routable = [];
/** @type {number[]} */
let inflight = [];
let phase = 'warm-up';
let stopping = false;
let turn = 0;
/** @type {Map<string, PhaseStats>} */
const phases = new Map();
/** @type {Record<string, number>} */
const failureKinds = {};
/** @type {object[]} */
const failureSamples = [];
let sent = 0;
/** @type {NodeJS.Timeout | undefined} */
let ticker;
let failed = 0;

/** @param {string} name */
function statsOf(name) {
  let stats = phases.get(name);
  if (stats === undefined) {
    stats = { read: [], write: [], failures: 0, byInstance: config?.ports.map(() => 0) ?? [] };
    phases.set(name, stats);
  }
  return stats;
}

/**
 * @param {PhaseStats} stats
 * @param {string} kind
 * @param {Record<string, unknown>} sample
 */
function recordFailure(stats, kind, sample) {
  failed += 1;
  stats.failures += 1;
  failureKinds[kind] = (failureKinds[kind] ?? 0) + 1;
  if (failureSamples.length < MAX_FAILURE_SAMPLES) {
    failureSamples.push({ kind, phase, at: new Date().toISOString(), ...sample });
  }
}

/** The next instance in round-robin order that is not drained, or undefined. */
function pickInstance() {
  const count = routable.length;
  for (let i = 0; i < count; i++) {
    const candidate = (turn + i) % count;
    if (routable[candidate]) {
      turn = candidate + 1;
      return candidate;
    }
  }
  return undefined;
}

/** @param {TrackedSecret} secret */
function nextValue(secret) {
  // Non-ASCII on purpose: values must come back byte for byte, not just as ASCII.
  return `${secret.scope}/${secret.name} v${secret.version + 1} ✓ ${randomBytes(18).toString('base64url')}`;
}

/** @param {TrackedSecret} secret @param {number} instance */
async function read(secret, instance) {
  const stats = statsOf(phase);
  stats.byInstance[instance] += 1;
  const reply = await send({
    agent: /** @type {import('node:http').Agent} */ (agents[instance]),
    port: /** @type {number} */ (config?.ports[instance]),
    method: 'GET',
    path: `/v1/secrets/${encodeURIComponent(secret.scope)}/${encodeURIComponent(secret.name)}`,
    token: config?.token,
  });
  stats.read.push(reply.ms);
  const where = { op: 'read', instance, scope: secret.scope, name: secret.name };
  if (reply.status !== 200) {
    recordFailure(stats, `read-${reply.status || reply.error}`, {
      ...where,
      status: reply.status,
      code: reply.body?.error?.code ?? reply.error,
      message: reply.body?.error?.message,
    });
    return;
  }
  if (reply.body?.value !== secret.value) {
    recordFailure(stats, 'read-wrong-value', {
      ...where,
      expectedVersion: secret.version,
      gotVersion: reply.body?.version,
    });
    return;
  }
  if (reply.body?.version !== secret.version) {
    recordFailure(stats, 'read-wrong-version', {
      ...where,
      expectedVersion: secret.version,
      gotVersion: reply.body?.version,
    });
    return;
  }
  secret.reads += 1;
}

/** @param {TrackedSecret} secret @param {number} instance */
async function write(secret, instance) {
  const stats = statsOf(phase);
  stats.byInstance[instance] += 1;
  const value = nextValue(secret);
  const reply = await send({
    agent: /** @type {import('node:http').Agent} */ (agents[instance]),
    port: /** @type {number} */ (config?.ports[instance]),
    method: 'PUT',
    path: `/v1/secrets/${encodeURIComponent(secret.scope)}/${encodeURIComponent(secret.name)}`,
    token: config?.token,
    body: { value },
  });
  stats.write.push(reply.ms);
  const where = { op: 'write', instance, scope: secret.scope, name: secret.name };
  if (reply.status !== 200) {
    secret.tainted = true;
    recordFailure(stats, `write-${reply.status || reply.error}`, {
      ...where,
      status: reply.status,
      code: reply.body?.error?.code ?? reply.error,
      message: reply.body?.error?.message,
    });
    return;
  }
  const expected = secret.version + 1;
  secret.value = value;
  secret.writes += 1;
  if (reply.body?.version !== expected) {
    recordFailure(stats, 'write-wrong-version', {
      ...where,
      expectedVersion: expected,
      gotVersion: reply.body?.version,
    });
  }
  secret.version = typeof reply.body?.version === 'number' ? reply.body.version : expected;
}

/** @param {TrackedSecret[]} mine */
async function worker(mine) {
  const readRatio = config?.readRatio ?? 0.7;
  while (!stopping) {
    const live = mine.filter((s) => !s.tainted);
    if (live.length === 0) return;
    const secret = /** @type {TrackedSecret} */ (live[randomInt(live.length)]);
    const instance = pickInstance();
    if (instance === undefined) {
      await sleep(5);
      continue;
    }
    inflight[instance] = (inflight[instance] ?? 0) + 1;
    sent += 1;
    try {
      if (Math.random() < readRatio) await read(secret, instance);
      else await write(secret, instance);
    } finally {
      inflight[instance] = (inflight[instance] ?? 1) - 1;
    }
  }
}

/** @param {number} instance */
async function drain(instance) {
  const started = performance.now();
  routable[instance] = false;
  while ((inflight[instance] ?? 0) > 0) await sleep(1);
  process.send?.({ type: 'drained', instance, waitedMs: performance.now() - started });
}

/** @type {Promise<void>[]} */
let running = [];

/** @param {any} message */
function onMessage(message) {
  switch (message.type) {
    case 'start': {
      config = message;
      const cfg = /** @type {NonNullable<typeof config>} */ (config);
      secrets = message.secrets.map(
        /** @param {{scope: string, name: string, value: string, version: number}} s */ (s) => ({
          ...s,
          reads: 0,
          writes: 0,
          tainted: false,
        }),
      );
      agents = cfg.ports.map(() => keepAliveAgent(cfg.workers));
      routable = cfg.ports.map(() => true);
      inflight = cfg.ports.map(() => 0);
      phase = message.phase ?? phase;
      const partitions = Array.from(
        { length: cfg.workers },
        () => /** @type {TrackedSecret[]} */ ([]),
      );
      for (const [i, s] of secrets.entries()) partitions[i % cfg.workers]?.push(s);
      running = partitions.map((mine) => worker(mine));
      ticker = setInterval(() => process.send?.({ type: 'tick', sent, failed, phase }), TICK_MS);
      process.send?.({ type: 'started' });
      break;
    }
    case 'phase':
      phase = message.name;
      break;
    case 'drain':
      void drain(message.instance);
      break;
    case 'undrain':
      routable[message.instance] = true;
      break;
    case 'stop':
      stopping = true;
      clearInterval(ticker);
      void Promise.all(running).then(() => {
        const byPhase = Object.fromEntries(
          [...phases].map(([name, s]) => [
            name,
            {
              reads: s.read.length,
              writes: s.write.length,
              failures: s.failures,
              byInstance: s.byInstance,
              read: summarizeLatency(s.read),
              write: summarizeLatency(s.write),
            },
          ]),
        );
        const all = [...phases.values()];
        process.send?.({
          type: 'result',
          requests: sent,
          failures: failed,
          failureKinds,
          failureSamples,
          phases: byPhase,
          latency: {
            all: summarizeLatency(all.flatMap((s) => [...s.read, ...s.write])),
            read: summarizeLatency(all.flatMap((s) => s.read)),
            write: summarizeLatency(all.flatMap((s) => s.write)),
          },
          secrets: secrets.map(({ scope, name, value, version, reads, writes, tainted }) => ({
            scope,
            name,
            value,
            version,
            reads,
            writes,
            tainted,
          })),
        });
        for (const agent of agents) agent.destroy();
      });
      break;
    default:
      break;
  }
}

process.on('message', onMessage);
process.on('disconnect', () => process.exit(0));
