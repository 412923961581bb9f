/**
 * A small HTTP load generator, run as a forked child of bench/http.js (and
 * bench/instances.js) so that the client never shares an event loop with the
 * server it measures.
 *
 * Protocol (IPC): the parent sends { url, headers, connections, durationMs },
 * or { urls, ... } with several URLs: connection i then requests urls[i % n]
 * (so connections spread evenly over servers listed in turn). The child opens
 * `connections` keep-alive sockets (one node:http Agent), keeps one request in
 * flight on each, and replies { completed, failed, seconds, p99Ms }
 * for the requests that finished inside the window (p99Ms: the 99th percentile
 * of their latencies, in milliseconds). A response counts as completed
 * only with status 200 and its whole body read. The parent sends { exit: true }
 * to end it.
 */
import { Agent, request } from 'node:http';

function once(agent, url, headers) {
  return new Promise((resolve) => {
    const req = request(url, { agent, headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode === 200));
      res.on('error', () => resolve(false));
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function load({ url, urls = [url], headers, connections, durationMs }) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const target = (/** @type {number} */ i) => urls[i % urls.length];
  // Open every connection before the window so that the window times requests only.
  await Promise.all(Array.from({ length: connections }, (_, i) => once(agent, target(i), headers)));
  let completed = 0;
  let failed = 0;
  /** @type {number[]} */
  const latencies = [];
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      while (performance.now() < end) {
        const sent = performance.now();
        if (await once(agent, target(i), headers)) {
          completed++;
          latencies.push(performance.now() - sent);
        } else failed++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const p99Ms = latencies.length === 0 ? null : latencies[Math.floor(latencies.length * 0.99)];
  return { completed, failed, seconds, p99Ms };
}

process.on('message', (/** @type {any} */ message) => {
  if (message.exit === true) {
    process.disconnect();
    return;
  }
  load(message).then(
    (result) => process.send(result),
    (err) => process.send({ error: String(err?.message ?? err) }),
  );
});
