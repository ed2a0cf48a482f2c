import { fragment } from './schema-fragments.js';
import { ImageJsonBodySchema, UploadFormSchema } from '../wire.js';

/** The request body of an image upload (POST /jobs, POST /predict): one image, in any of four forms. */
export const uploadBody = {
  required: true,
  description:
    'The image, recognised by its bytes (never by filename or declared type): the multipart field `image` ' +
    '(one part, filename and Content-Type optional, no other fields), the raw bytes under any Content-Type or ' +
    'none (Content-Length or chunked), or JSON `{"image": "<base64>"}` / TF Serving\'s ' +
    '`{"instances": [{"b64": "<base64>"}]}` (the size limit applies to the decoded bytes). ' +
    'JPEG, PNG, WebP, GIF, AVIF or TIFF (first frame or page).',
  content: {
    'multipart/form-data': { schema: fragment(UploadFormSchema, 'input') },
    'application/json': { schema: fragment(ImageJsonBodySchema, 'input') },
    'application/octet-stream': {},
    'image/*': {},
  },
};
