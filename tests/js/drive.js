// Drives the official amazon-cognito-identity-js against a served cognito_mfa emulator.
//
// Reads one JSON object on stdin:
//   {endpoint, poolId, clientId, setupPoolId, setupClientId,
//    users: {totp, sms, select, setup, wrong: {username, password, totpSecret?}}}
// and prints one JSON object on stdout: for each scenario, the callbacks the SDK called
// (challenge names in order) and the outcome ({result: "success", username, tokenUse} or
// {result: "failure", code, message}).
// With {mode: "devices", endpoint, poolId, clientId, users: {js, py: {username, password,
// totpSecret, device?}}} it runs the remembered-device scenarios instead (see devices()). SMS codes are read from GET /_emulator/messages; TOTP
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
  return (session, userConfirmationNecessary) => ({
    steps,
    result: 'success',
    username: session.getIdToken().decodePayload()['cognito:username'],
    tokenUse: session.getAccessToken().decodePayload().token_use,
    deviceKey: session.getAccessToken().decodePayload().device_key ?? null,
    userConfirmationNecessary: userConfirmationNecessary ?? null,
  });
}

function failure(steps) {
  return (err) => ({ steps, result: 'failure', code: err.code, message: err.message });
}

// Sign in with SRP; `answer(user, name, params, callbacks, steps)` handles each challenge.
function signIn(pool, endpoint, account, answer, onUser = () => {}) {
  return new Promise((resolve) => {
    const steps = [];
    const user = new CognitoUser({ Username: account.username, Pool: pool });
    onUser(user);
    const details = new AuthenticationDetails({
      Username: account.username,
      Password: account.password,
    });
    const callbacks = {
      onSuccess: (session, confirmation) => resolve(success(steps)(session, confirmation)),
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

// The device the SDK keeps for a user, under its own storage keys.
function storedDevice(pool, username) {
  const prefix = `CognitoIdentityServiceProvider.${pool.getClientId()}.${username}`;
  return {
    deviceKey: pool.storage.getItem(`${prefix}.deviceKey`) ?? null,
    deviceGroupKey: pool.storage.getItem(`${prefix}.deviceGroupKey`) ?? null,
    password: pool.storage.getItem(`${prefix}.randomPasswordKey`) ?? null,
  };
}

function storeDevice(pool, username, device) {
  const prefix = `CognitoIdentityServiceProvider.${pool.getClientId()}.${username}`;
  pool.storage.setItem(`${prefix}.deviceKey`, device.deviceKey);
  pool.storage.setItem(`${prefix}.deviceGroupKey`, device.deviceGroupKey);
  pool.storage.setItem(`${prefix}.randomPasswordKey`, device.password);
}

// A sign-in must not reach an MFA challenge: any callback is recorded and ends it.
function noMfa() {
  throw new Error('a remembered device reached an MFA challenge');
}

// Remembered devices: the SDK signs in with TOTP and confirms its new device itself
// (ConfirmDevice inside authenticateUser), remembers it (setDeviceStatusRemembered), then
// signs in again and must answer DEVICE_SRP_AUTH instead of TOTP. Then it signs in with a
// device made by the Python client (handed over in the input as users.py.device).
async function devices(input) {
  const { endpoint, users } = input;
  const pool = new CognitoUserPool({
    UserPoolId: input.poolId,
    ClientId: input.clientId,
    endpoint,
  });
  const results = {};
  let firstUser = null;
  results.first = await signIn(
    pool,
    endpoint,
    users.js,
    (user, hook, params, cb) => {
      user.sendMFACode(totp(users.js.totpSecret), cb, 'SOFTWARE_TOKEN_MFA');
    },
    (user) => {
      firstUser = user;
    },
  );
  results.remember = await new Promise((resolve) => {
    firstUser.setDeviceStatusRemembered({
      onSuccess: (status) => resolve({ result: 'success', status }),
      onFailure: (err) => resolve({ result: 'failure', code: err.code, message: err.message }),
    });
  });
  results.jsDevice = storedDevice(pool, users.js.username);
  results.again = await signIn(pool, endpoint, users.js, noMfa);
  if (users.py.device) {
    storeDevice(pool, users.py.username, users.py.device);
    results.pyDevice = await signIn(pool, endpoint, users.py, noMfa);
  }
  return results;
}

async function main() {
  const input = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
  if (input.mode === 'devices') {
    process.stdout.write(`${JSON.stringify(await devices(input))}\n`);
    return;
  }
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
