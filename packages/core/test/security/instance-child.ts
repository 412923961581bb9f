/** Drives fixtures/instance-child.mjs: a second Lockbox instance in its own process. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./fixtures/instance-child.mjs', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

export interface InstanceAnswer {
  ok?: boolean;
  code?: string;
  message?: string;
  result?: unknown;
}

export interface Instance {
  /** Sends one command and resolves with the instance's answer. */
  send(command: Record<string, unknown>): Promise<InstanceAnswer>;
  /** Asks the instance to close and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts an instance and resolves once it has opened the store. */
export async function startInstance(args: {
  url: string;
  primary: Buffer;
  previous?: Buffer[];
}): Promise<Instance> {
  if (!existsSync(BUILT)) {
    throw new Error('packages/core/dist is missing: run `npx tsc -b` before these tests');
  }
  const child: ChildProcess = spawn(
    process.execPath,
    [
      CHILD,
      JSON.stringify({
        url: args.url,
        primary: args.primary.toString('base64'),
        previous: (args.previous ?? []).map((k) => k.toString('base64')),
      }),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const pending: ((answer: InstanceAnswer) => void)[] = [];
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  let opened: () => void = () => undefined;
  const openedPromise = new Promise<void>((resolve, reject) => {
    opened = resolve;
    exited.then(() => reject(new Error(`instance exited before opening: ${stderr}`)));
  });
  lines.on('line', (line) => {
    const parsed = JSON.parse(line) as InstanceAnswer & { opened?: boolean };
    if (parsed.opened === true) opened();
    else pending.shift()?.(parsed);
  });
  await openedPromise;
  return {
    send(command) {
      return new Promise((resolve) => {
        pending.push(resolve);
        child.stdin!.write(`${JSON.stringify(command)}\n`);
      });
    },
    async stop() {
      child.stdin!.write(`${JSON.stringify({ op: 'exit' })}\n`);
      child.stdin!.end();
      await exited;
    },
  };
}
