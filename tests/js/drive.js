// Drives the official amazon-cognito-identity-js against a served cognito_mfa emulator.
//
// Reads one JSON object on stdin:
//   {endpoint, poolId, clientId, setupPoolId, setupClientId,
//    users: {totp, sms, select, setup, wrong: {username, password, totpSecret?}}}
// and prints one JSON object on stdout: for each scenario, the callbacks the SDK called
// (challenge names in order) and the outcome ({result: "success", username, tokenUse} or
// {result: "failure", code, message}). SMS codes are read from GET /_emulator/messages; TOTP
// codes are computed here (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps) from the secret.
'use strict';

const crypto = require('node:crypto');
const {
  AuthenticationDetails,
  CognitoUser,
  CognitoUserPool,
} = require('amazon-cognito-identity-js');

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const index = alphabet.indexOf(ch);
    if (index < 0) throw new Error('bad base32');
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function totp(secret, atSeconds = Date.now() / 1000) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atSeconds / 30)));
  const mac = crypto.createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const number = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(number).padStart(6, '0');
}

async function lastCode(endpoint, username, medium) {
  const response = await fetch(`${endpoint}/_emulator/messages`);
  const messages = await response.json();
  const mine = messages.filter((m) => m.username === username && m.medium === medium);
  if (mine.length === 0) throw new Error(`no ${medium} message for ${username}`);
  return mine[mine.length - 1].code;
}

function success(steps) {
  return (session) => ({
    steps,
    result: 'success',
    username: session.getIdToken().decodePayload()['cognito:username'],
    tokenUse: session.getAccessToken().decodePayload().token_use,
  });
}

function failure(steps) {
  return (err) => ({ steps, result: 'failure', code: err.code, message: err.message });
}

// Sign in with SRP; `answer(user, name, params, callbacks, steps)` handles each challenge.
function signIn(pool, endpoint, account, answer) {
  return new Promise((resolve) => {
    const steps = [];
    const user = new CognitoUser({ Username: account.username, Pool: pool });
    const details = new AuthenticationDetails({
      Username: account.username,
      Password: account.password,
    });
    const callbacks = {
      onSuccess: (session) => resolve(success(steps)(session)),
      onFailure: (err) => resolve(failure(steps)(err)),
      newPasswordRequired: () => resolve({ steps: [...steps, 'newPasswordRequired'] }),
    };
    for (const hook of ['mfaRequired', 'totpRequired', 'selectMFAType', 'mfaSetup']) {
      callbacks[hook] = (name, params) => {
        steps.push(`${hook}:${name}`);
        Promise.resolve(answer(user, hook, params, callbacks, steps)).catch((err) =>
          resolve({ steps, result: 'error', message: String(err) }),
        );
      };
    }
    user.authenticateUser(details, callbacks);
  });
}

async function main() {
  const input = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
  const { endpoint, users } = input;
  const pool = new CognitoUserPool({
    UserPoolId: input.poolId,
    ClientId: input.clientId,
    endpoint,
  });
  const setupPool = new CognitoUserPool({
    UserPoolId: input.setupPoolId,
    ClientId: input.setupClientId,
    endpoint,
  });
  const results = {};

  results.totp = await signIn(pool, endpoint, users.totp, (user, hook, params, cb) => {
    user.sendMFACode(totp(users.totp.totpSecret), cb, 'SOFTWARE_TOKEN_MFA');
  });

  results.sms = await signIn(pool, endpoint, users.sms, async (user, hook, params, cb) => {
    results.smsDelivery = {
      medium: params.CODE_DELIVERY_DELIVERY_MEDIUM,
      destination: params.CODE_DELIVERY_DESTINATION,
    };
    user.sendMFACode(await lastCode(endpoint, users.sms.username, 'SMS'), cb);
  });

  results.select = await signIn(pool, endpoint, users.select, (user, hook, params, cb) => {
    if (hook === 'selectMFAType') {
      results.selectChoices = JSON.parse(params.MFAS_CAN_CHOOSE);
      user.sendMFASelectionAnswer('SOFTWARE_TOKEN_MFA', cb);
    } else {
      user.sendMFACode(totp(users.select.totpSecret), cb, 'SOFTWARE_TOKEN_MFA');
    }
  });

  results.setup = await signIn(setupPool, endpoint, users.setup, (user, hook, params, cb) => {
    results.setupChoices = JSON.parse(params.MFAS_CAN_SETUP);
    user.associateSoftwareToken({
      associateSecretCode: (secret) => {
        results.setupSecretLength = secret.length;
        user.verifySoftwareToken(totp(secret), 'node', cb);
      },
      onFailure: cb.onFailure,
    });
  });

  results.wrongPassword = await signIn(pool, endpoint, users.wrong, () => {
    throw new Error('a wrong password reached a challenge');
  });

  process.stdout.write(`${JSON.stringify(results)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
