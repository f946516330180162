// CommonJS test handlers: "async" returns a promise, "callback" answers
// through the callback after a timer.
const { reply, pathOf } = require('./common');

exports.async = async (event, context) => {
  if (event.action === 'error' || pathOf(event).endsWith('/fail')) throw new TypeError('boom from cjs');
  if (pathOf(event).endsWith('/slow')) await new Promise((r) => setTimeout(r, 30000));
  const first = context.getRemainingTimeInMillis();
  await new Promise((r) => setTimeout(r, 50));
  return reply('cjs-async', event, context, first, context.getRemainingTimeInMillis());
};

exports.callback = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  if (event.action === 'error' || pathOf(event).endsWith('/fail')) {
    callback(new RangeError('boom from callback'));
    return;
  }
  if (pathOf(event).endsWith('/slow')) {
    setTimeout(() => {}, 30000); // keeps the event loop busy, never calls back
    return;
  }
  const first = context.getRemainingTimeInMillis();
  setTimeout(() => callback(null, reply('cjs-callback', event, context, first, context.getRemainingTimeInMillis())), 50);
};

// Neither returns a promise nor calls back, and leaves nothing pending:
// the result is null once the event loop is empty.
exports.forgetful = (event, context, callback) => {};
