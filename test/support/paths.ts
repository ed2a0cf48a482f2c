import path from 'node:path';
import { projectRoot } from '../../src/config.js';
import { modelQueueName } from '../../src/queue/keys.js';

export const sharedDir = path.resolve(projectRoot, '../shared');
export const modelDir = path.join(sharedDir, 'models/resnet50-v1.5');
/** The same network statically quantized to int8 (its README says how and what was checked). */
export const int8ModelDir = path.join(sharedDir, 'models/resnet50-v1.5-int8');
/** The model served by default (MODEL_DIR's default: the int8 build), and so the name in its queue's name. */
export const defaultModelName = 'resnet50-v1.5-int8';
/** The BullMQ queue of the default model under QUEUE_NAME `namespace` (what tests inspect directly). */
export const defaultJobQueue = (namespace: string): string => modelQueueName(namespace, defaultModelName);
export const imagesDir = path.join(sharedDir, 'images');
export const outputDir = path.join(projectRoot, 'test-output');

/** The shared photos and the top-1 labels their README gives (chelsea: any of the cat family). */
export const expectedTop1: Record<string, readonly string[]> = {
  'coffee.png': ['espresso'],
  'orange.jpg': ['orange'],
  'baboon.jpg': ['baboon'],
  'eagle.jpg': ['bald_eagle'],
  'chelsea.png': ['Egyptian_cat', 'tiger_cat', 'tabby'],
};
