/**
 * Where the CLI finds its database and master keys.
 *
 * Each setting is taken from the first layer that gives it: command-line flags,
 * then the environment, then a config file, then defaults. Master keys are
 * deliberately absent from the flags: a key on the command line lands in shell
 * history and in `ps` for every user of the machine. Keys come from the
 * environment, from key files (whose paths may be flags), or from stdin.
 *
 * Relative paths in a config file resolve against the file's directory, so a
 * project's lockbox.json works from any working directory; relative paths in
 * flags and the environment resolve against the working directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { DEFAULT_DATABASE, LockboxError, parseDatabaseUrl, splitKeyList } from '@lockbox/core';
import { type DeclaredField, parseFieldsConfig } from './fields-config.js';

export const ENV = {
  database: 'LOCKBOX_DATABASE',
  config: 'LOCKBOX_CONFIG',
  masterKey: 'LOCKBOX_MASTER_KEY',
  masterKeyFile: 'LOCKBOX_MASTER_KEY_FILE',
  masterKeyUri: 'LOCKBOX_MASTER_KEY_URI',
  previousKeys: 'LOCKBOX_PREVIOUS_KEYS',
  /** A Lockbox server for `run --server` / `env --server`, and its token and CA file. */
  url: 'LOCKBOX_URL',
  token: 'LOCKBOX_TOKEN',
  caFile: 'LOCKBOX_CA_FILE',
} as const;

export const DEFAULT_CONFIG_FILE = 'lockbox.json';
export const DEFAULT_KEY_FILE = 'lockbox.key';

/** The global flags every command accepts (see main.ts). */
export interface GlobalOptions {
  database?: string;
  config?: string;
  json?: boolean;
  masterKeyFile?: string;
  masterKeyStdin?: boolean;
  previousKeyFile?: string[];
  masterKeyUri?: string;
  previousKeyUri?: string[];
}

/** The keyring inputs, in the shape core's keyringFromConfig takes. */
export interface KeyInputs {
  primary?: string;
  primaryFile?: string;
  previous?: string[];
  previousFiles?: string[];
  /** PKCS#11 URIs (keys on a token; see docs/keys.md). */
  primaryUri?: string;
  previousUris?: string[];
}

export interface ResolvedConfig {
  /** A postgres:// URL, or the absolute path of the SQLite file. */
  database: string;
  /** The config file that was read, if any. */
  configFile: string | undefined;
  keys: KeyInputs;
  /** Where the primary key comes from, for messages: a variable, a file path or stdin. */
  primaryKeySource: string | undefined;
  /** The configured key file, else ./lockbox.key (where `init` writes a new key). */
  keyFile: string;
  /** The fields the config file declares (undefined: it has no "fields" entry). */
  fields: DeclaredField[] | undefined;
}

export interface ConfigEnvironment {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Reads all of stdin as text (for --master-key-stdin). */
  readStdin: () => Promise<string>;
}

interface ConfigFile {
  database?: string;
  masterKeyFile?: string;
  previousKeyFiles?: string[];
  masterKeyUri?: string;
  previousKeyUris?: string[];
  fields?: DeclaredField[];
}

const CONFIG_FIELDS = new Set([
  'database',
  'masterKeyFile',
  'previousKeyFiles',
  'masterKeyUri',
  'previousKeyUris',
  'fields',
]);

function configError(path: string, problem: string): LockboxError {
  return new LockboxError('INVALID_ARGUMENT', `config file ${path}: ${problem}`, {
    details: { path },
  });
}

/** Reads and validates a config file. Unknown fields are refused so a typo is not silently ignored. */
export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new LockboxError('PATH_INVALID', `config file ${path} cannot be read`, {
      details: { path },
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw configError(path, 'not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw configError(path, 'must be a JSON object');
  }
  const record = parsed as Record<string, unknown>;
  for (const field of Object.keys(record)) {
    if (/^(master|previous)Keys?$/.test(field)) {
      throw configError(
        path,
        `"${field}" is not accepted: keys do not belong in a config file; use masterKeyFile or ${ENV.masterKey}`,
      );
    }
    if (!CONFIG_FIELDS.has(field)) throw configError(path, `unknown field "${field}"`);
  }
  const { database, masterKeyFile, previousKeyFiles, masterKeyUri, previousKeyUris, fields } =
    record;
  if (database !== undefined && typeof database !== 'string') {
    throw configError(path, '"database" must be a string');
  }
  if (masterKeyFile !== undefined && typeof masterKeyFile !== 'string') {
    throw configError(path, '"masterKeyFile" must be a string');
  }
  if (
    previousKeyFiles !== undefined &&
    (!Array.isArray(previousKeyFiles) || !previousKeyFiles.every((p) => typeof p === 'string'))
  ) {
    throw configError(path, '"previousKeyFiles" must be an array of strings');
  }
  // A URI names a key on a token (and where its PIN is), never a key, so it may live here.
  if (masterKeyUri !== undefined && typeof masterKeyUri !== 'string') {
    throw configError(path, '"masterKeyUri" must be a string');
  }
  if (masterKeyUri !== undefined && masterKeyFile !== undefined) {
    throw configError(path, 'give "masterKeyFile" or "masterKeyUri", not both');
  }
  if (
    previousKeyUris !== undefined &&
    (!Array.isArray(previousKeyUris) || !previousKeyUris.every((p) => typeof p === 'string'))
  ) {
    throw configError(path, '"previousKeyUris" must be an array of strings');
  }
  return {
    ...(masterKeyUri === undefined ? {} : { masterKeyUri }),
    ...(previousKeyUris === undefined ? {} : { previousKeyUris: previousKeyUris as string[] }),
    ...(database === undefined ? {} : { database }),
    ...(masterKeyFile === undefined ? {} : { masterKeyFile }),
    ...(previousKeyFiles === undefined ? {} : { previousKeyFiles: previousKeyFiles as string[] }),
    ...(fields === undefined ? {} : { fields: parseFieldsConfig(path, fields) }),
  };
}

/** A SQLite database named relative to `base` becomes an absolute path; URLs pass through. */
export function resolveDatabase(url: string, base: string): string {
  const parsed = parseDatabaseUrl(url);
  if (parsed.dialect !== 'sqlite') return parsed.target;
  return isAbsolute(parsed.target) ? parsed.target : resolve(base, parsed.target);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/**
 * Resolves the configuration for one command. Throws INVALID_ARGUMENT / PATH_INVALID
 * for a bad config file, INVALID_ARGUMENT when one layer names the primary key
 * twice (both LOCKBOX_MASTER_KEY and LOCKBOX_MASTER_KEY_FILE). A missing key is not
 * an error here: commands that need one fail with KEY_MISSING when they open.
 */
export async function resolveConfig(
  flags: GlobalOptions,
  environment: ConfigEnvironment,
): Promise<ResolvedConfig> {
  const { env, cwd } = environment;
  const explicitConfig = nonEmpty(flags.config) ?? nonEmpty(env[ENV.config]);
  let configFile: string | undefined;
  if (explicitConfig !== undefined) {
    configFile = resolve(cwd, explicitConfig);
    if (!existsSync(configFile)) {
      throw new LockboxError('PATH_INVALID', `config file ${configFile} does not exist`, {
        details: { path: configFile },
      });
    }
  } else if (existsSync(resolve(cwd, DEFAULT_CONFIG_FILE))) {
    configFile = resolve(cwd, DEFAULT_CONFIG_FILE);
  }
  const file = configFile === undefined ? {} : readConfigFile(configFile);
  const fileBase = configFile === undefined ? cwd : dirname(configFile);

  const flagDatabase = nonEmpty(flags.database);
  const envDatabase = nonEmpty(env[ENV.database]);
  const database =
    flagDatabase !== undefined
      ? resolveDatabase(flagDatabase, cwd)
      : envDatabase !== undefined
        ? resolveDatabase(envDatabase, cwd)
        : file.database !== undefined
          ? resolveDatabase(file.database, fileBase)
          : resolveDatabase(DEFAULT_DATABASE, cwd);

  const keys: KeyInputs = {};
  let primaryKeySource: string | undefined;
  const envKey = nonEmpty(env[ENV.masterKey]);
  const envKeyFile = nonEmpty(env[ENV.masterKeyFile]);
  const envKeyUri = nonEmpty(env[ENV.masterKeyUri]);
  const flagKeyUri = nonEmpty(flags.masterKeyUri);
  const defaultKeyFile = resolve(cwd, DEFAULT_KEY_FILE);
  const primaryFlags = [
    flags.masterKeyStdin === true,
    flags.masterKeyFile !== undefined,
    flagKeyUri !== undefined,
  ];
  if (primaryFlags.filter(Boolean).length > 1) {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      'give one of --master-key-file, --master-key-stdin and --master-key-uri',
    );
  }
  if (envKeyUri !== undefined && (envKey !== undefined || envKeyFile !== undefined)) {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      `${ENV.masterKeyUri} is set together with ${ENV.masterKey} or ${ENV.masterKeyFile}; unset all but one`,
    );
  }
  const otherFlag = flags.masterKeyStdin === true || flags.masterKeyFile !== undefined;
  if (flagKeyUri !== undefined) keys.primaryUri = flagKeyUri;
  else if (envKeyUri !== undefined && !otherFlag) keys.primaryUri = envKeyUri;
  if (keys.primaryUri !== undefined) {
    // The URI names the key; nothing else is the primary.
  } else if (flags.masterKeyStdin === true) {
    keys.primary = await environment.readStdin();
    primaryKeySource = 'stdin';
  } else if (nonEmpty(flags.masterKeyFile) !== undefined) {
    keys.primaryFile = resolve(cwd, flags.masterKeyFile as string);
  } else if (envKey !== undefined || envKeyFile !== undefined) {
    if (envKey !== undefined && envKeyFile !== undefined) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        `both ${ENV.masterKey} and ${ENV.masterKeyFile} are set; unset one of them`,
      );
    }
    if (envKey !== undefined) {
      keys.primary = envKey;
      primaryKeySource = ENV.masterKey;
    } else {
      keys.primaryFile = resolve(cwd, envKeyFile as string);
    }
  } else if (file.masterKeyUri !== undefined) {
    keys.primaryUri = file.masterKeyUri;
  } else if (file.masterKeyFile !== undefined) {
    keys.primaryFile = resolve(fileBase, file.masterKeyFile);
  } else if (existsSync(defaultKeyFile)) {
    keys.primaryFile = defaultKeyFile;
  }
  if (keys.primaryFile !== undefined) primaryKeySource = keys.primaryFile;
  if (keys.primaryUri !== undefined) primaryKeySource = keys.primaryUri.split('?')[0];

  const envPrevious = nonEmpty(env[ENV.previousKeys]);
  if (envPrevious !== undefined) keys.previous = splitKeyList(envPrevious);
  const previousFiles =
    flags.previousKeyFile !== undefined && flags.previousKeyFile.length > 0
      ? flags.previousKeyFile.map((p) => resolve(cwd, p))
      : (file.previousKeyFiles ?? []).map((p) => resolve(fileBase, p));
  if (previousFiles.length > 0) keys.previousFiles = previousFiles;
  const previousUris =
    flags.previousKeyUri !== undefined && flags.previousKeyUri.length > 0
      ? flags.previousKeyUri
      : (file.previousKeyUris ?? []);
  if (previousUris.length > 0) keys.previousUris = previousUris;

  return {
    database,
    configFile,
    keys,
    primaryKeySource,
    keyFile: keys.primaryFile ?? defaultKeyFile,
    fields: file.fields,
  };
}
