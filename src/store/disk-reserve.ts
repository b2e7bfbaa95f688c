// A full disk must never block a revocation. The store keeps a small reserve file
// next to the SQLite database; when a revocation finds the disk full it deletes the reserve and
// tries again, so the few pages it needs are there even when the audit log or anything else
// filled the disk. The running server puts the reserve back once there is room again. Other
// writes (creating a key) do not touch the reserve: they fail with DISK_FULL and a message that
// says so.
import { closeSync, existsSync, ftruncateSync, openSync, rmSync, writeSync } from 'node:fs';
import { ErrorCode, WardenError } from '../errors.ts';

export const RESERVE_BYTES = 1024 * 1024;

export interface DiskReserve {
  /** Creates the reserve when missing and there is room; says whether it is in place. */
  ensure(): boolean;
  /** Deletes the reserve; says whether there was one to free. */
  free(): boolean;
}

export function diskReserve(file: string, bytes = RESERVE_BYTES): DiskReserve {
  return {
    ensure() {
      if (existsSync(file)) return true;
      let fd: number | null = null;
      try {
        fd = openSync(file, 'wx', 0o600);
        // Real blocks, not a sparse file: zeros written, so the space is truly taken.
        const chunk = Buffer.alloc(64 * 1024);
        for (let done = 0; done < bytes; ) done += writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - done));
        closeSync(fd);
        return true;
      } catch {
        if (fd !== null) {
          try {
            ftruncateSync(fd, 0);
            closeSync(fd);
          } catch {
            // closing a descriptor on a full disk cannot fail in a way that matters here
          }
        }
        rmSync(file, { force: true });
        return false;
      }
    },
    free() {
      if (!existsSync(file)) return false;
      rmSync(file, { force: true });
      return true;
    },
  };
}

export function diskFullError(cause: unknown): WardenError {
  return new WardenError(ErrorCode.DISK_FULL, 'the disk holding the store is full: free some space and try again (revocations still work)', { cause });
}
