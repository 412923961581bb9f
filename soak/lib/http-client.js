/**
 * A minimal JSON client over node:http with keep-alive agents, one per
 * instance, as a load balancer or an application's HTTP client would hold them.
 * No retries: every request's outcome is what the server (or the socket) said.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * @typedef {object} Reply
 * @property {number} status HTTP status, or 0 when no response arrived (socket error)
 * @property {any} body the parsed JSON body (undefined when none or not JSON)
 * @property {string | undefined} error the socket error's code when status is 0
 * @property {number} ms latency from send to the end of the body
 */

/** @param {number} sockets the most sockets this agent keeps open */
export function keepAliveAgent(sockets) {
  return new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
}

/**
 * @param {{ agent: http.Agent, port: number, method: string, path: string,
 *           token?: string, body?: unknown, timeoutMs?: number }} request
 * @returns {Promise<Reply>}
 */
export function send(request) {
  const started = performance.now();
  const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
  /** @type {Record<string, string | number>} */
  const headers = { accept: 'application/json' };
  if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: request.port,
        method: request.method,
        path: request.path,
        agent: request.agent,
        headers,
        timeout: request.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('error', (err) => done(0, undefined, errorCode(err)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            body = undefined;
          }
          done(res.statusCode ?? 0, body, undefined);
        });
      },
    );
    let settled = false;
    /** @param {number} status @param {any} body @param {string | undefined} error */
    const done = (status, body, error) => {
      if (settled) return;
      settled = true;
      resolve({ status, body, error, ms: performance.now() - started });
    };
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (err) => done(0, undefined, errorCode(err)));
    req.end(payload);
  });
}

/** @param {unknown} err */
function errorCode(err) {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'ERROR';
}
