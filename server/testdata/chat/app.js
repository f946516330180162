// A chat in the shape of simple-websockets-chat-app, with the standard
// library only: $connect records the connection in a file (instead of a
// table), sendmessage posts the message to every recorded connection
// through @connections at 'https://' + domainName + '/' + stage, signed
// with SigV4 from the AWS_* variables the function was given.
const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');

const db = process.env.CHAT_DB;

exports.onconnect = async (event) => {
  fs.appendFileSync(db, event.requestContext.connectionId + '\n');
  return { statusCode: 200, body: 'Connected.' };
};

exports.sendmessage = async (event) => {
  const { domainName, stage } = event.requestContext;
  const endpoint = 'https://' + domainName + '/' + stage;
  const data = JSON.parse(event.body).data;
  const ids = fs.readFileSync(db, 'utf8').split('\n').filter(Boolean);
  const statuses = await Promise.all(ids.map((id) => post(endpoint, '/@connections/' + id, data)));
  return { statusCode: 200, body: JSON.stringify({ endpoint, statuses }) };
};

function sha256(s) {
  return crypto.createHash('sha256').update(s).digest('hex');
}

function hmac(key, s) {
  return crypto.createHmac('sha256', key).update(s).digest();
}

function post(endpoint, path, body) {
  const url = new URL(endpoint + path);
  const region = process.env.AWS_REGION;
  const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, '');
  const date = amzDate.slice(0, 8);
  const headers = {
    host: url.host,
    'x-amz-content-sha256': sha256(body),
    'x-amz-date': amzDate,
  };
  if (process.env.AWS_SESSION_TOKEN) headers['x-amz-security-token'] = process.env.AWS_SESSION_TOKEN;
  const names = Object.keys(headers).sort();
  const canonical = [
    'POST',
    url.pathname.split('/').map((s) => encodeURIComponent(decodeURIComponent(s))).join('/'),
    '',
    names.map((k) => k + ':' + headers[k] + '\n').join(''),
    names.join(';'),
    headers['x-amz-content-sha256'],
  ].join('\n');
  const scope = `${date}/${region}/execute-api/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key = hmac('AWS4' + process.env.AWS_SECRET_ACCESS_KEY, date);
  for (const part of [region, 'execute-api', 'aws4_request']) key = hmac(key, part);
  const signature = crypto.createHmac('sha256', key).update(toSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${process.env.AWS_ACCESS_KEY_ID}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}
