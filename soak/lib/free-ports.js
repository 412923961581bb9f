/**
 * Free TCP ports on 127.0.0.1 for the instances. Each is found by listening on
 * port 0 and closing; the instance then binds it on every restart (a supervisor
 * keeps an instance's port, so a load balancer's backend list stays valid).
 */
import { createServer } from 'node:net';

/** @param {number} count @returns {Promise<number[]>} */
export async function freePorts(count) {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map(
    (server) => /** @type {import('node:net').AddressInfo} */ (server.address()).port,
  );
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
