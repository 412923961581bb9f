/**
 * A rolling restart under load, one instance at a time, the way an operator
 * changes an instance's keyring: take the instance out of the load balancer
 * (drain: no new requests, in-flight ones finish), stop it gracefully (SIGTERM),
 * start it with the new configuration, wait for /readyz — which includes the
 * startup key check — and put it back. The other instances serve meanwhile.
 */
import { performance } from 'node:perf_hooks';

/**
 * @param {import('./lockbox-instance.js').LockboxInstance[]} instances
 * @param {import('./load-controller.js').LoadController} load
 * @param {string} configFile
 */
export async function rollingRestart(instances, load, configFile) {
  const started = performance.now();
  const steps = [];
  for (const [index, instance] of instances.entries()) {
    const { waitedMs } = await load.drain(index);
    const stopStarted = performance.now();
    const exitCode = await instance.stop();
    const stopMs = performance.now() - stopStarted;
    const readyMs = await instance.start(configFile);
    load.undrain(index);
    steps.push({
      instance: instance.name,
      drainMs: Math.round(waitedMs),
      stopMs: Math.round(stopMs),
      exitCode,
      readyMs: Math.round(readyMs),
    });
  }
  return { durationMs: Math.round(performance.now() - started), steps };
}
