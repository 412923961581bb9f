/**
 * What every command gets: the process's streams and environment (CliContext,
 * one per process) and, per command run, an Invocation that resolves the global
 * flags into configuration, output and an open store.
 *
 * Stores opened through an Invocation are closed by main.ts after the command
 * finishes (successfully or not), so a command body never needs try/finally for
 * that; a command may close one earlier (run does, before starting its child).
 */
import type { Actor, Keyring, Lockbox } from '@lockbox/core';
import { LockboxError } from '@lockbox/core';
import type { Command } from 'commander';
import { type GlobalOptions, type ResolvedConfig, resolveConfig } from './config.js';
import { cliActor, type OpenMode, openFromConfig } from './open.js';
import { Output } from './output.js';
import { readSecretInput } from './read-secret-input.js';

export interface CliIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: Record<string, string | undefined>;
  cwd: string;
}

export class CliContext {
  readonly io: CliIo;
  readonly #opened = new Set<Lockbox>();

  constructor(io: CliIo) {
    this.io = io;
  }

  /** The invocation for the command whose action is running (pass the action's last argument). */
  invocation(command: Command): Invocation {
    return new Invocation(this, command.optsWithGlobals<GlobalOptions>());
  }

  /** @internal Tracks a store for closeAll. */
  track(lockbox: Lockbox): void {
    this.#opened.add(lockbox);
  }

  /** Closes every store opened during this process. Safe to call twice. */
  async closeAll(): Promise<void> {
    const open = [...this.#opened];
    this.#opened.clear();
    await Promise.allSettled(open.map((lockbox) => lockbox.close()));
  }
}

export class Invocation {
  readonly globals: GlobalOptions;
  readonly output: Output;
  readonly actor: Actor;
  readonly #context: CliContext;
  #config: Promise<ResolvedConfig> | undefined;

  constructor(context: CliContext, globals: GlobalOptions) {
    this.#context = context;
    this.globals = globals;
    this.output = new Output(globals.json === true, context.io);
    this.actor = cliActor();
  }

  get io(): CliIo {
    return this.#context.io;
  }

  /** The resolved configuration (flags > environment > config file > defaults), read once. */
  config(): Promise<ResolvedConfig> {
    this.#config ??= resolveConfig(this.globals, {
      env: this.io.env,
      cwd: this.io.cwd,
      readStdin: async () => {
        const key = await readSecretInput({
          what: 'the master key',
          prompt: true,
          stdin: this.io.stdin,
          stderr: this.io.stderr,
          maxBytes: 4096,
        });
        try {
          return key.toString('utf8');
        } finally {
          key.fill(0);
        }
      },
    });
    return this.#config;
  }

  /**
   * Opens the configured store ('open' refuses a missing one; 'create' is for init).
   * The store is closed automatically when the command ends.
   */
  async open(
    options: { mode?: OpenMode; keyring?: Keyring; ownAuditChain?: boolean } = {},
  ): Promise<Lockbox> {
    const config = await this.config();
    const lockbox = await openFromConfig(config, { ...options, actor: this.actor });
    this.#context.track(lockbox);
    return lockbox;
  }

  /**
   * Reads a secret value from stdin (see readSecretInput). Refused when stdin
   * already carries the master key (--master-key-stdin).
   */
  async readSecret(what: string, options: { prompt?: boolean; maxBytes?: number } = {}) {
    if (this.globals.masterKeyStdin === true) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        `stdin carries the master key (--master-key-stdin), so ${what} cannot also come from stdin; use LOCKBOX_MASTER_KEY_FILE or a key file instead`,
      );
    }
    return readSecretInput({
      what,
      stdin: this.io.stdin,
      stderr: this.io.stderr,
      ...options,
    });
  }
}
