// onconnect of simple-websockets-chat-app; the table is a file (../table.js).
const table = require('../table');

exports.handler = async (event) => {
  try {
    table.put(process.env.TABLE_NAME, event.requestContext.connectionId);
  } catch (err) {
    return { statusCode: 500, body: 'Failed to connect: ' + JSON.stringify(err) };
  }
  return { statusCode: 200, body: 'Connected.' };
};
