// Rotate the master key from code: every data key is rewrapped under the new
// key (the secrets themselves are not touched). Until the rotation finishes,
// open with the new key and keep the old one as a previous key.
import { formatMasterKey, generateMasterKey, openLockbox } from '@lockbox/core';

const oldKey = process.env.ENCRYPTION_KEY;
const newKey = formatMasterKey(generateMasterKey()); // store it before you rotate

const lockbox = await openLockbox({ database: 'sqlite:./lockbox.db', masterKey: oldKey });
try {
  const result = await lockbox.rotation.rotateMaster({ oldKey, newKey });
  console.log(`${result.from} → ${result.to}: ${result.dataKeys.rewrapped} data keys rewrapped`);
} finally {
  await lockbox.close();
}

// From now on the new key opens the store; the old one is no longer needed
// once `lockbox doctor` (or lockbox.rotation.census()) says so.
const reopened = await openLockbox({
  database: 'sqlite:./lockbox.db',
  masterKey: newKey,
  previousKeys: [oldKey],
});
console.log((await reopened.rotation.census()).droppable); // [ the old fingerprint ]
await reopened.close();
