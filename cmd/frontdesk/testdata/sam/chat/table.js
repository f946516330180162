// The connections table of simple-websockets-chat-app as a file: one
// connection id a line, at the path TABLE_NAME names. It stands in for the
// DynamoDB calls of the sample (put, scan, delete), nothing else changes.
const fs = require('node:fs');

exports.put = (table, connectionId) => {
  fs.appendFileSync(table, connectionId + '\n');
};

exports.scan = (table) => {
  let text = '';
  try {
    text = fs.readFileSync(table, 'utf8');
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  return { Items: [...new Set(text.split('\n').filter(Boolean))].map((connectionId) => ({ connectionId })) };
};

exports.delete = (table, connectionId) => {
  const { Items } = exports.scan(table);
  const kept = Items.map((i) => i.connectionId).filter((id) => id !== connectionId);
  fs.writeFileSync(table, kept.map((id) => id + '\n').join(''));
};
