import type Router from '@koa/router';
import { AppError, uploadTooLarge } from '../../errors.js';
import { inspectImage } from '../../model/preprocess.js';
import { publicOrigin } from './public-origin.js';
import type { ApiState } from '../api-state.js';
import { rateLimit, requireApiKey } from '../guards/client-guards.js';
import type { ApiDeps } from '../deps.js';
import { readMultipartImage } from '../uploads/multipart-image.js';
import { declaredBodyBytes, maxBodyBytes } from '../uploads/upload.js';
import { limitUploadIdle } from '../uploads/upload-idle-timeout.js';
import type { StoredFile } from './file-store.js';
import type { ReplicateFile } from './wire.js';

const fileView = (file: StoredFile, origin: string): ReplicateFile => ({
  id: file.id,
  name: file.name,
  content_type: file.contentType,
  size: file.size,
  etag: file.sha256,
  checksums: { sha256: file.sha256 },
  metadata: file.metadata,
  created_at: file.createdAt,
  expires_at: file.expiresAt,
  urls: { get: `${origin}/v1/files/${file.id}` },
});

function parseMetadata(text: string | undefined): Record<string, unknown> {
  if (text === undefined || text === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Answered below, as any other metadata that is not a JSON object.
  }
  throw new AppError('invalid_request', 'metadata: must be a JSON object');
}

/**
 * /v1/files: what the SDK uploads a Buffer or Blob input to before it creates the prediction (a
 * multipart field `content`, and `metadata` as JSON). Only images are kept (the same checks as an
 * upload, from the header), within MAX_UPLOAD_BYTES, for RESULT_TTL_SECONDS, and only the key that
 * uploaded a file can read, use or delete it.
 */
export function fileRoutes(router: Router<ApiState>, deps: ApiDeps): void {
  const { files } = deps.replicate;
  const guards = [requireApiKey(deps.clients.apiKeyDigests, deps.clients.authFailures), rateLimit(deps)];
  const notFound = (id: string) => new AppError('not_found', `no file ${id} (unknown, expired or deleted)`);
  const found = async (id: string, owner: string | undefined) => {
    const file = await files.get(id, owner);
    if (!file) throw notFound(id);
    return file;
  };

  router.post('/v1/files', ...guards, async (ctx) => {
    if (!ctx.is('multipart/form-data'))
      throw new AppError('invalid_request', 'send the file as multipart/form-data, in the field "content"');
    const max = deps.limits.maxUploadBytes;
    const limit = maxBodyBytes(ctx, max);
    if ((declaredBodyBytes(ctx) ?? 0) > limit) throw uploadTooLarge(max);
    const release = deps.uploads.admission.admit(Math.min(declaredBodyBytes(ctx) ?? limit, limit));
    try {
      const { image, fields } = await readMultipartImage(
        ctx.req,
        max,
        ['metadata', 'filename', 'type'],
        'content',
      ).finally(limitUploadIdle(ctx.req, deps.limits.uploadIdleTimeoutMs));
      const header = await inspectImage(image, { maxImagePixels: deps.limits.maxImagePixels });
      // A file is kept whole in Redis until it expires: it needs room there as a queued job does.
      await deps.uploads.redisHeadroom.assertRoom(image.length);
      const file = await files.create(image, {
        name: fields['filename'] || `upload.${header.format}`,
        contentType: `image/${header.format}`,
        metadata: parseMetadata(fields['metadata']),
        owner: ctx.state.owner,
      });
      deps.uploads.redisHeadroom.note(image.length);
      ctx.status = 201;
      ctx.body = fileView(file, publicOrigin(ctx));
    } finally {
      release();
    }
  });

  router.get('/v1/files/:id', ...guards, async (ctx) => {
    ctx.body = fileView(await found(ctx.params['id']!, ctx.state.owner), publicOrigin(ctx));
  });

  router.get('/v1/files/:id/download', ...guards, async (ctx) => {
    const file = await found(ctx.params['id']!, ctx.state.owner);
    const bytes = await files.content(file.id, ctx.state.owner);
    if (!bytes) throw notFound(file.id);
    ctx.type = file.contentType;
    ctx.body = bytes;
  });

  router.delete('/v1/files/:id', ...guards, async (ctx) => {
    if (!(await files.delete(ctx.params['id']!, ctx.state.owner))) throw notFound(ctx.params['id']!);
    ctx.status = 204;
  });
}
