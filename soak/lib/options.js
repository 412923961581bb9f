/**
 * Command-line options of the reliability suite (`npm run soak -- …`).
 *
 * The defaults give about 75 s of load; `--quick` about 20 s (the phases still
 * all run, so a quick run takes a little longer than its load target). Every
 * option is validated here so a typo fails at once instead of after a minute.
 */

/**
 * @typedef {object} SoakOptions
 * @property {boolean} quick
 * @property {number} durationMs load time to reach before stopping (phases may extend it)
 * @property {number} gapMs steady load before and between the phases
 * @property {number} secrets secrets seeded and then read and written under load
 * @property {number} scopes scopes the secrets are spread over (one data key each)
 * @property {number} workers sequential request loops in the load generator
 * @property {number} readRatio share of reads among the requests (the rest are writes)
 * @property {number} batchSize rotation batch size (small, so an online rotation takes many batches)
 * @property {number} rekeys how many data re-keys to run back to back in the data phase
 * @property {'online' | 'atomic'} rekeyMode the data re-keys' mode
 * @property {string} postgres base URL of the PostgreSQL database to create the schema in
 * @property {boolean} keep keep the schema and the working directory afterwards
 * @property {boolean} writeDocs update docs/soak.md with the figures
 */

const USAGE = `usage: npm run soak -- [--quick] [--duration <s>] [--secrets <n>] [--scopes <n>]
                      [--workers <n>] [--read-ratio <0..1>] [--batch-size <n>]
                      [--rekeys <n>] [--rekey-mode online|atomic]
                      [--postgres <url>] [--keep] [--no-docs]`;

/** @param {string} flag @param {string | undefined} text @param {number} min @param {number} max */
function numberOf(flag, text, min, max) {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(value)) {
    throw new Error(`${flag} needs a number\n${USAGE}`);
  }
  if (value < min || value > max) throw new Error(`${flag} must be from ${min} to ${max}`);
  return value;
}

/** @param {readonly string[]} argv @returns {SoakOptions} */
export function parseOptions(argv) {
  const quick = argv.includes('--quick');
  /** @type {SoakOptions} */
  const options = {
    quick,
    durationMs: quick ? 20_000 : 75_000,
    gapMs: quick ? 2_000 : 8_000,
    secrets: quick ? 400 : 2_000,
    scopes: quick ? 20 : 100,
    workers: 24,
    readRatio: 0.7,
    batchSize: quick ? 5 : 10,
    rekeys: 1,
    rekeyMode: 'online',
    postgres: process.env.LOCKBOX_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test',
    keep: false,
    writeDocs: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const next = () => argv[++i];
    switch (flag) {
      case '--quick':
        break;
      case '--duration':
        options.durationMs = numberOf(flag, next(), 5, 3600) * 1000;
        break;
      case '--secrets':
        options.secrets = Math.floor(numberOf(flag, next(), 10, 1_000_000));
        break;
      case '--scopes':
        options.scopes = Math.floor(numberOf(flag, next(), 1, 100_000));
        break;
      case '--workers':
        options.workers = Math.floor(numberOf(flag, next(), 1, 1024));
        break;
      case '--read-ratio':
        options.readRatio = numberOf(flag, next(), 0, 1);
        break;
      case '--batch-size':
        options.batchSize = Math.floor(numberOf(flag, next(), 1, 10_000));
        break;
      case '--rekeys':
        options.rekeys = Math.floor(numberOf(flag, next(), 1, 1000));
        break;
      case '--rekey-mode': {
        const mode = next();
        if (mode !== 'online' && mode !== 'atomic') {
          throw new Error('--rekey-mode must be online or atomic');
        }
        options.rekeyMode = mode;
        break;
      }
      case '--postgres':
        options.postgres = next() ?? '';
        if (!/^postgres(ql)?:\/\//.test(options.postgres)) {
          throw new Error('--postgres needs a postgres:// URL');
        }
        break;
      case '--keep':
        options.keep = true;
        break;
      case '--no-docs':
        options.writeDocs = false;
        break;
      case '--help':
      case '-h':
        throw new Error(USAGE);
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  if (options.scopes > options.secrets) {
    throw new Error('--scopes cannot exceed --secrets (every scope holds at least one secret)');
  }
  if (options.workers > options.secrets) {
    throw new Error('--workers cannot exceed --secrets (every worker owns at least one secret)');
  }
  return options;
}
