/**
 * After the load: every secret read back from every instance and compared with
 * the load generator's record of the last acknowledged write (value and version).
 */
import { keepAliveAgent, send } from './http-client.js';

const CONCURRENCY = 16;

/**
 * @param {{ scope: string, name: string, value: string, version: number, tainted: boolean }[]} secrets
 * @param {number[]} ports
 * @param {string} token
 */
export async function readBack(secrets, ports, token) {
  const agents = ports.map(() => keepAliveAgent(CONCURRENCY));
  const checks = secrets
    .filter((s) => !s.tainted)
    .flatMap((secret) => ports.map((port, instance) => ({ secret, port, instance })));
  let checked = 0;
  let mismatches = 0;
  /** @type {object[]} */
  const samples = [];
  let next = 0;
  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (next < checks.length) {
      const check = checks[next++];
      if (check === undefined) break;
      const { secret, port, instance } = check;
      const reply = await send({
        agent: /** @type {import('node:http').Agent} */ (agents[instance]),
        port,
        method: 'GET',
        path: `/v1/secrets/${encodeURIComponent(secret.scope)}/${encodeURIComponent(secret.name)}`,
        token,
      });
      checked += 1;
      const ok =
        reply.status === 200 &&
        reply.body?.value === secret.value &&
        reply.body?.version === secret.version;
      if (!ok) {
        mismatches += 1;
        if (samples.length < 20) {
          samples.push({
            instance,
            scope: secret.scope,
            name: secret.name,
            status: reply.status,
            code: reply.body?.error?.code ?? reply.error,
            expectedVersion: secret.version,
            gotVersion: reply.body?.version,
            valueMatches: reply.body?.value === secret.value,
          });
        }
      }
    }
  });
  await Promise.all(workers);
  for (const agent of agents) agent.destroy();
  return {
    secrets: secrets.length,
    tainted: secrets.length - secrets.filter((s) => !s.tainted).length,
    reads: checked,
    mismatches,
    samples,
  };
}
