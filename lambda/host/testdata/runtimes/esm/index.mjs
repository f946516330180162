// ES module test handlers (.mjs): "handler" is async, "callback" calls
// back.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { reply, pathOf } = require('../cjs/common.js');

export const handler = async (event, context) => {
  if (event.action === 'error' || pathOf(event).endsWith('/fail')) throw new Error('boom from esm');
  if (pathOf(event).endsWith('/slow')) await new Promise((r) => setTimeout(r, 30000));
  const first = context.getRemainingTimeInMillis();
  await new Promise((r) => setTimeout(r, 50));
  return reply('esm-async', event, context, first, context.getRemainingTimeInMillis());
};

export function callback(event, context, cb) {
  if (pathOf(event).endsWith('/fail')) {
    setTimeout(() => cb(new Error('boom from esm callback')), 10);
    return;
  }
  if (pathOf(event).endsWith('/slow')) {
    setTimeout(() => {}, 30000); // keeps the event loop busy, never calls back
    return;
  }
  const first = context.getRemainingTimeInMillis();
  setTimeout(() => cb(null, reply('esm-callback', event, context, first, context.getRemainingTimeInMillis())), 50);
}
