/**
 * The fingerprint of a key that never leaves its token:
 *
 *   fingerprint = first 8 bytes of AES-CMAC(key, ascii("lockbox/v1/pkcs11-key-fingerprint"))
 *
 * computed inside the module (CKM_AES_CMAC). Only the key's holder can compute
 * it, so a matching fingerprint proves possession; a MAC output says nothing
 * about the key. It is the key check value of ANSI X9.24-1 for AES keys (CMAC
 * rather than the old E_K(0), which for an AES-GCM key is the GHASH key and would
 * allow forgeries) with a domain-separating message instead of zeros. Vectors:
 * packages/core/test/vectors/pkcs11-fingerprint.json (docs/format.md).
 */
export const PKCS11_FINGERPRINT_MESSAGE = Buffer.from('lockbox/v1/pkcs11-key-fingerprint');
