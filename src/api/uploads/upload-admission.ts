import { unavailable } from '../../errors.js';

export interface UploadAdmissionLimits {
  /** Uploads received at once (MAX_CONCURRENT_UPLOADS). */
  maxConcurrentUploads: number;
  /** Body bytes held at once, bytes (UPLOAD_BUFFER_BYTES). */
  uploadBufferBytes: number;
}

/**
 * Admission of upload bodies to memory, decided before a byte of the body is read: each upload
 * reserves one slot and its declared size (the upload limit when it is chunked) until its bytes
 * are decoded and dropped. A request that does not fit is refused at once with 503 and
 * Retry-After, so slow or huge uploads cannot pile up connections and memory.
 */
export class UploadAdmission {
  private uploads = 0;
  private bytes = 0;

  constructor(private readonly limits: UploadAdmissionLimits) {}

  /** Reserves room for an upload of at most `bytes`; call the returned release exactly once. */
  admit(bytes: number): () => void {
    const { maxConcurrentUploads, uploadBufferBytes } = this.limits;
    if (this.uploads >= maxConcurrentUploads || (this.uploads > 0 && this.bytes + bytes > uploadBufferBytes)) {
      // The body is never buffered: Node discards it so that the client, still sending, reads
      // this answer (a client that sent Expect: 100-continue never sends it at all).
      throw unavailable(`${this.uploads} uploads are being received; retry shortly`, { retryAfterSeconds: 1 });
    }
    this.uploads++;
    this.bytes += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.uploads--;
      this.bytes -= bytes;
    };
  }

  /** Uploads and bytes currently admitted (for metrics and tests). */
  get inFlight(): { uploads: number; bytes: number } {
    return { uploads: this.uploads, bytes: this.bytes };
  }
}
