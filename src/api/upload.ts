import type { Context } from 'koa';
import { koaBody } from 'koa-body';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { AppError } from '../errors.js';

/** The multipart form readImageUpload accepts: one file in the field `image`. */
export const UploadFormSchema = z.object({ image: z.file() });

/** Upload bytes captured in memory, keyed by formidable's file object: no temp files to leak. */
const received = new WeakMap<object, Buffer[]>();

/** Parses multipart bodies into memory, with the upload limit enforced while streaming. */
export function multipartParser(maxUploadBytes: number) {
  return koaBody({
    multipart: true,
    json: false,
    urlencoded: false,
    text: false,
    formidable: {
      maxFiles: 1,
      maxFileSize: maxUploadBytes,
      maxTotalFileSize: maxUploadBytes,
      maxFields: 20,
      maxFieldsSize: 64 * 1024,
      allowEmptyFiles: true,
      minFileSize: 0,
      fileWriteStreamHandler: (file?: object) => {
        const chunks: Buffer[] = [];
        if (file) received.set(file, chunks);
        return new Writable({
          write(chunk: Buffer, _encoding, done) {
            chunks.push(chunk);
            done();
          },
        });
      },
    },
    onError: (err: Error & { httpCode?: number }) => {
      if (err.httpCode === 413) throw new AppError('payload_too_large', `the upload exceeds the limit of ${maxUploadBytes} bytes`);
      if (/maxFiles/.test(err.message)) throw new AppError('invalid_request', 'send exactly one file, in the field "image"');
      throw new AppError('invalid_request', 'the multipart body is malformed');
    },
  });
}

async function readRawBody(ctx: Context, maxUploadBytes: number): Promise<Buffer> {
  const tooLarge = () => new AppError('payload_too_large', `the upload exceeds the limit of ${maxUploadBytes} bytes`);
  if (Number(ctx.get('content-length') || 0) > maxUploadBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxUploadBytes) {
      ctx.req.destroy();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The uploaded image bytes: the multipart field `image`, or a raw body sent with an image/*
 * content type. Multipart must already have been parsed by multipartParser.
 */
export async function readImageUpload(ctx: Context, maxUploadBytes: number): Promise<Buffer> {
  if (ctx.is('multipart')) {
    const field = ctx.request.files?.['image'];
    const file = Array.isArray(field) ? field[0] : field;
    const chunks = file && received.get(file);
    if (!chunks) throw new AppError('missing_image', 'no file in the multipart field "image"');
    return Buffer.concat(chunks);
  }
  if (ctx.is('image/*')) return readRawBody(ctx, maxUploadBytes);
  throw new AppError('missing_image');
}
