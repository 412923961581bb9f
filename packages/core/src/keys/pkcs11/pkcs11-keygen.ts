/**
 * Creates a master key on a token (`lockbox keygen --pkcs11 URI`): an AES-256
 * key generated inside the module (CKM_AES_KEY_GEN), stored on the token
 * (CKA_TOKEN), private, sensitive and non-extractable from its creation, usable
 * for encrypt/decrypt (the wraps) and sign (the fingerprint's CMAC) only.
 * Refuses with PKCS11_KEY_EXISTS, creating nothing, when the label is taken.
 */
import { LockboxError } from '../../errors.js';
import { connectToToken } from './pkcs11-connect.js';
import { Pkcs11MasterKey } from './pkcs11-master-key.js';
import type { Pkcs11Binding } from './pkcs11-module.js';

export async function generatePkcs11MasterKey(
  uri: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Pkcs11MasterKey> {
  const { parsed, loaded, sessions } = await connectToToken(uri, env);
  const { binding: p, module } = loaded;
  sessions.session((session) => {
    module.C_FindObjectsInit(session, [
      { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
      { type: p.CKA_LABEL, value: parsed.object },
    ]);
    const existing = module.C_FindObjects(session, 1);
    module.C_FindObjectsFinal(session);
    if (existing.length > 0) {
      throw new LockboxError(
        'PKCS11_KEY_EXISTS',
        `the token already holds a key object ${parsed.display}; choose another object label`,
        { details: { uri: parsed.display } },
      );
    }
    module.C_GenerateKey(session, { mechanism: p.CKM_AES_KEY_GEN }, [
      { type: p.CKA_VALUE_LEN, value: 32 },
      ...masterKeyAttributes(p, parsed.object),
    ]);
  });
  sessions.reset();
  return Pkcs11MasterKey.open(uri, env);
}

/**
 * The attributes of a Lockbox master key object labelled `label` (CKA_VALUE_LEN
 * aside, which only generation takes).
 */
export function masterKeyAttributes(p: Pkcs11Binding, label: string) {
  return [
    { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
    { type: p.CKA_KEY_TYPE, value: p.CKK_AES },
    { type: p.CKA_LABEL, value: label },
    { type: p.CKA_TOKEN, value: true },
    { type: p.CKA_PRIVATE, value: true },
    { type: p.CKA_SENSITIVE, value: true },
    { type: p.CKA_EXTRACTABLE, value: false },
    { type: p.CKA_ENCRYPT, value: true },
    { type: p.CKA_DECRYPT, value: true },
    { type: p.CKA_SIGN, value: true },
    { type: p.CKA_VERIFY, value: false },
    { type: p.CKA_WRAP, value: false },
    { type: p.CKA_UNWRAP, value: false },
    { type: p.CKA_DERIVE, value: false },
  ];
}
