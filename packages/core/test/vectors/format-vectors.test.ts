/**
 * Checks every format test vector in ./data against the library, and checks that
 * the committed files are exactly what generate.js writes (so the data, the
 * generator and the implementation cannot drift apart).
 *
 * Success cases are also re-encrypted through the real envelope code with the
 * case's fixed nonce (the nonce pool is replaced for this file only), which must
 * reproduce the text exactly.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type CiphertextTag,
  decryptParsed,
  encryptToText,
  parseCiphertext,
  ROW_CIPHERTEXT_TAG,
} from '../../src/crypto/ciphertext.js';
import {
  dataKeyContext,
  encodeContext,
  fieldContext,
  secretContext,
  secretRowContext,
} from '../../src/crypto/context.js';
import { fingerprint } from '../../src/crypto/fingerprint.js';
import { parseMasterKey } from '../../src/crypto/master-key.js';
import { parseWrappedKey, unwrapParsed, wrapKey } from '../../src/crypto/wrapped-key.js';
import { LockboxError } from '../../src/errors.js';
import type { ValueType } from '../../src/store/schema.js';
import { buildVectors, serialize } from './generate.js';

const fixedNonce = vi.hoisted(() => ({ value: undefined as Buffer | undefined }));

vi.mock('../../src/crypto/nonce-pool.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/crypto/nonce-pool.js')>();
  return { ...real, nextNonce: () => fixedNonce.value ?? real.nextNonce() };
});

type Expect = 'success' | 'decrypt_failed' | 'malformed' | 'unknown_format';

type EnvelopeKind = 'ciphertext' | 'wrapped_key';
interface EnvelopeVector<K extends EnvelopeKind = EnvelopeKind> {
  kind: K;
  description: string;
  key: string;
  key_fingerprint?: string;
  key_id: string | null;
  context: string[];
  context_hex: string;
  nonce: string | null;
  plaintext: string | null;
  text: string;
  expect: Expect;
  lockbox_error?: string;
}
interface FingerprintVector {
  kind: 'fingerprint';
  key: string;
  fingerprint: string;
  expect: 'success';
}
interface ContextVector {
  kind: 'context';
  context: string[];
  context_hex: string;
  expect: 'success';
}
interface MasterKeyVector {
  kind: 'master_key';
  text: string;
  key: string | null;
  expect: 'success' | 'malformed';
  lockbox_error?: string;
}
type Vector =
  | EnvelopeVector<'ciphertext'>
  | EnvelopeVector<'wrapped_key'>
  | FingerprintVector
  | ContextVector
  | MasterKeyVector;

const DATA_DIR = new URL('./data/', import.meta.url);
const files = readdirSync(DATA_DIR)
  .filter((name) => name.endsWith('.json'))
  .sort();
const vectors = files.map((file) => ({
  file,
  raw: readFileSync(new URL(file, DATA_DIR), 'utf8'),
  vector: JSON.parse(readFileSync(new URL(file, DATA_DIR), 'utf8')) as Vector,
}));
function ofKind<K extends Vector['kind']>(kind: K) {
  return vectors.flatMap(({ file, vector }) =>
    vector.kind === kind ? [{ file, vector: vector as Extract<Vector, { kind: K }> }] : [],
  );
}

const hex = (text: string) => Buffer.from(text, 'hex');

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof LockboxError) return err.code;
    throw err;
  }
  return 'no error';
}

const EXPECTED_CODE: Record<EnvelopeKind, Record<Exclude<Expect, 'success'>, string>> = {
  ciphertext: {
    decrypt_failed: 'DECRYPT_FAILED',
    malformed: 'CIPHERTEXT_MALFORMED',
    unknown_format: 'CIPHERTEXT_UNKNOWN_FORMAT',
  },
  wrapped_key: {
    decrypt_failed: 'DECRYPT_FAILED',
    malformed: 'WRAPPED_KEY_MALFORMED',
    unknown_format: 'CIPHERTEXT_UNKNOWN_FORMAT',
  },
};

beforeEach(() => {
  fixedNonce.value = undefined;
});

describe('format vector files', () => {
  it('are exactly what generate.js writes, one file per case', () => {
    const generated = buildVectors().map((c) => ({
      file: `${c.file}.json`,
      raw: serialize(c.body),
    }));
    expect(files).toEqual(generated.map((c) => c.file).sort());
    for (const { file, raw } of generated) {
      expect(vectors.find((v) => v.file === file)?.raw, file).toBe(raw);
    }
  });

  it('cover every kind and every expectation', () => {
    const seen = new Set(vectors.map(({ vector }) => `${vector.kind}/${vector.expect}`));
    for (const kind of ['ciphertext', 'wrapped_key'])
      for (const expectation of ['success', 'decrypt_failed', 'malformed', 'unknown_format'])
        expect(seen.has(`${kind}/${expectation}`), `${kind}/${expectation}`).toBe(true);
    for (const kind of [
      'fingerprint/success',
      'context/success',
      'master_key/success',
      'master_key/malformed',
    ])
      expect(seen.has(kind), kind).toBe(true);
  });
});

describe.each(['ciphertext', 'wrapped_key'] as const)('%s vectors', (kind) => {
  const parse = kind === 'ciphertext' ? parseCiphertext : parseWrappedKey;
  // Parses again rather than taking the parsed value: each kind's parse and open pair up.
  const open = (text: string, key: Buffer, context: Buffer) =>
    kind === 'ciphertext'
      ? decryptParsed(parseCiphertext(text), key, context)
      : unwrapParsed(parseWrappedKey(text), key, context);
  // An lb2: text is a ciphertext sealed under its own tag.
  const seal = (keyId: Buffer, key: Buffer, plaintext: Buffer, context: Buffer, text: string) =>
    kind === 'ciphertext'
      ? encryptToText(keyId, key, plaintext, context, text.slice(0, 4) as CiphertextTag)
      : wrapKey(keyId, key, plaintext, context);

  it.each(ofKind(kind))('$file', ({ vector: v }) => {
    expect(encodeContext(v.context).toString('hex')).toBe(v.context_hex);
    const context = hex(v.context_hex);
    if (v.expect === 'success') {
      const parsed = parse(v.text);
      expect(parsed.keyId).toBe(v.key_id);
      expect(open(v.text, hex(v.key), context).toString('hex')).toBe(v.plaintext);
      if (kind === 'wrapped_key') expect(v.key_id).toBe(fingerprint(hex(v.key)));
      fixedNonce.value = hex(v.nonce ?? '');
      expect(seal(hex(v.key_id ?? ''), hex(v.key), hex(v.plaintext ?? ''), context, v.text)).toBe(
        v.text,
      );
      return;
    }
    const expected = EXPECTED_CODE[kind][v.expect];
    expect(v.lockbox_error).toBe(expected);
    if (v.expect === 'decrypt_failed') {
      const parsed = parse(v.text);
      expect(parsed.keyId).toBe(v.key_id);
      expect(codeOf(() => open(v.text, hex(v.key), context))).toBe(expected);
    } else {
      expect(codeOf(() => parse(v.text))).toBe(expected);
    }
  });
});

describe('fingerprint vectors', () => {
  it.each(ofKind('fingerprint'))('$file', ({ vector: v }) => {
    expect(fingerprint(hex(v.key))).toBe(v.fingerprint);
  });
});

describe('context vectors', () => {
  it.each(ofKind('context'))('$file', ({ vector: v }) => {
    expect(encodeContext(v.context).toString('hex')).toBe(v.context_hex);
  });

  it('bind an lb2: secret row exactly as the vault does', () => {
    const v = ofKind('ciphertext').find((c) => c.file === 'lb2-success-secret.json')?.vector;
    expect(v?.text.startsWith(ROW_CIPHERTEXT_TAG)).toBe(true);
    const [scope, name, type, version, createdAt] = v?.context.slice(1) ?? [];
    expect(
      secretRowContext(
        scope ?? '',
        name ?? '',
        type as ValueType,
        Number(version),
        createdAt ?? '',
      ).toString('hex'),
    ).toBe(v?.context_hex);
  });

  it('use the labels and parts the vault actually binds', () => {
    const byName = (name: string) =>
      ofKind('context').find((c) => c.file === `context-${name}.json`);
    const [scope, name, type] = byName('secret')?.vector.context.slice(1) ?? [];
    expect(secretContext(scope ?? '', name ?? '', type as ValueType).toString('hex')).toBe(
      byName('secret')?.vector.context_hex,
    );
    const [table, column, rowId] = byName('field')?.vector.context.slice(1) ?? [];
    expect(fieldContext(table ?? '', column ?? '', ['id'], [rowId ?? '']).toString('hex')).toBe(
      byName('field')?.vector.context_hex,
    );
    const [t2 = '', c2 = '', ...keyParts] = byName('field-v2')?.vector.context.slice(1) ?? [];
    const keyColumns = keyParts.filter((_, i) => i % 2 === 0);
    const keyValues = keyParts.filter((_, i) => i % 2 === 1);
    expect(fieldContext(t2, c2, keyColumns, keyValues).toString('hex')).toBe(
      byName('field-v2')?.vector.context_hex,
    );
    const [keyScope, dataKeyId] = byName('data-key')?.vector.context.slice(1) ?? [];
    expect(dataKeyContext(keyScope ?? '', dataKeyId ?? '').toString('hex')).toBe(
      byName('data-key')?.vector.context_hex,
    );
  });
});

describe('master key vectors', () => {
  it.each(ofKind('master_key'))('$file', ({ vector: v }) => {
    if (v.expect === 'success') {
      expect(parseMasterKey(v.text).toString('hex')).toBe(v.key);
    } else {
      expect(codeOf(() => parseMasterKey(v.text))).toBe(v.lockbox_error);
    }
  });
});
