import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * Feeds a file's bytes into `hash` (a new sha256 by default) and returns it, not yet digested,
 * so a resumed download can carry on hashing where the file on disk ends.
 */
export async function hashFile(file: string, hash: Hash = createHash('sha256')): Promise<Hash> {
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash;
}
