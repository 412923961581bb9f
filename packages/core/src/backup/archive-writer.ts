/**
 * Writes an archive — a bundle (export) or a snapshot — to its output: the
 * plaintext JSON lines, age-encrypted unless the caller asks for none, stream
 * into `output` (closed when done), the bytes written counted into the summary
 * as they go. Nothing is collected whole, so memory does not grow with the store.
 */
import type { Encrypter } from 'age-encryption';
import { encryptStream } from './age-stream.js';

export async function writeArchive(
  lines: AsyncIterable<Uint8Array>,
  encrypter: Encrypter | undefined,
  output: WritableStream<Uint8Array>,
  summary: { bytes: number },
): Promise<void> {
  const plain = ReadableStream.from(lines);
  const bytes = encrypter === undefined ? plain : await encryptStream(plain, encrypter);
  await bytes
    .pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          summary.bytes += chunk.length;
          controller.enqueue(chunk);
        },
      }),
    )
    .pipeTo(output);
}
