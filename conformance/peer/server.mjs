// Calibration peer for Sesame's conformance tests: a certified OpenID Provider
// (node-oidc-provider) configured like a plain "Basic OP", with HTML-only
// interaction pages that a scripted HTTP client can drive.
//
// Test use only: in-memory storage, fixed cookie keys, keys generated per start.
//
//   PORT=8090 CLIENTS='[{"client_id":"client",...}]' node conformance/peer/server.mjs
//
// Environment:
//   PORT              required; the peer listens on 127.0.0.1:PORT
//   CLIENTS           required; JSON array of client metadata objects ("[]" allowed)
//   ISSUER            optional; defaults to http://127.0.0.1:PORT
//   HTTP_POST_METHODS optional; "0" turns off POST at the authorization and
//                     end_session endpoints (on by default, see README.md)

import { generateKeyPairSync, randomBytes } from 'node:crypto';

import { Provider } from 'oidc-provider';

// ---------------------------------------------------------------- environment

function fail(message) {
  process.stderr.write(`peer: ${message}\n`);
  process.exit(2);
}

const PORT = Number.parseInt(process.env.PORT ?? '', 10);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) {
  fail('PORT must be set to a TCP port number');
}

const ISSUER = process.env.ISSUER || `http://127.0.0.1:${PORT}`;
const HTTP_POST_METHODS = process.env.HTTP_POST_METHODS !== '0';

if (process.env.CLIENTS === undefined) {
  fail('CLIENTS must be set to a JSON array of client metadata objects');
}
let CLIENTS;
try {
  CLIENTS = JSON.parse(process.env.CLIENTS);
} catch (err) {
  fail(`CLIENTS is not valid JSON: ${err.message}`);
}
if (!Array.isArray(CLIENTS) || !CLIENTS.every((c) => c && typeof c === 'object' && !Array.isArray(c))) {
  fail('CLIENTS must be a JSON array of objects');
}

// ---------------------------------------------------------------- keys

function signingKey(kind, alg) {
  const options = kind === 'rsa' ? { modulusLength: 2048 } : { namedCurve: 'P-256' };
  const { privateKey } = generateKeyPairSync(kind, options);
  const jwk = privateKey.export({ format: 'jwk' });
  const kid = `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`;
  return { ...jwk, kid, alg, use: 'sig' };
}

// The first RS256 key signs id_tokens by default (RS256 is the default alg).
const JWKS = { keys: [signingKey('rsa', 'RS256'), signingKey('ec', 'ES256')] };

// ---------------------------------------------------------------- accounts

const PASSWORD = 'secret';
const ACR_VALUES = ['pwd', 'mfa'];

function accountClaims(accountId) {
  const safe = accountId.replace(/[^A-Za-z0-9._-]/g, '') || 'user';
  return {
    sub: accountId,
    name: 'Peer Test User',
    given_name: 'Peer',
    family_name: 'User',
    middle_name: 'Test',
    nickname: 'peer',
    preferred_username: accountId,
    profile: `https://example.com/users/${safe}`,
    picture: `https://example.com/users/${safe}/picture.png`,
    website: 'https://example.com/',
    gender: 'other',
    birthdate: '1990-01-01',
    zoneinfo: 'Europe/Paris',
    locale: 'en-US',
    updated_at: 1700000000,
    email: `${safe}@example.com`,
    email_verified: true,
    phone_number: '+1 555 0100',
    phone_number_verified: false,
    address: {
      formatted: '1 Test Street\nTestville 12345\nFrance',
      street_address: '1 Test Street',
      locality: 'Testville',
      region: 'Test Region',
      postal_code: '12345',
      country: 'FR',
    },
  };
}

async function findAccount(ctx, id) {
  return {
    accountId: id,
    async claims() {
      return accountClaims(id);
    },
  };
}

// ---------------------------------------------------------------- HTML pages

function esc(value) {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function page(dataPage, title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
</head>
<body data-page="${dataPage}">
<h1>${esc(title)}</h1>
${body}
</body>
</html>
`;
}

function errorPage(out) {
  const rows = Object.entries(out)
    .map(([key, value]) => `<p>${esc(key)}: <code id="${esc(key)}">${esc(value)}</code></p>`)
    .join('\n');
  return page('error', 'Error', rows);
}

function clientLinks(client) {
  if (!client) return '';
  const md = client.metadata();
  const parts = [`<p>Client: <code id="client_id">${esc(md.client_id)}</code>${md.client_name ? ` (${esc(md.client_name)})` : ''}</p>`];
  if (md.logo_uri) parts.push(`<p><img src="${esc(md.logo_uri)}" alt="client logo"></p>`);
  if (md.policy_uri) parts.push(`<p><a href="${esc(md.policy_uri)}">Client policy</a></p>`);
  if (md.tos_uri) parts.push(`<p><a href="${esc(md.tos_uri)}">Client terms of service</a></p>`);
  return parts.join('\n');
}

function loginPage(interaction, client, message) {
  const { uid, params, prompt } = interaction;
  return page('login', 'Sign in', `${clientLinks(client)}
<p>Reasons: <code id="reasons">${esc((prompt.reasons || []).join(' '))}</code></p>
${message ? `<p id="login-error" class="error">${esc(message)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
<p><label>Login <input type="text" name="login" value="${esc(params.login_hint || '')}" autofocus></label></p>
<p><label>Password <input type="password" name="password"></label></p>
<p><button type="submit" class="login-submit">Sign in</button></p>
</form>`);
}

function consentPage(interaction, client) {
  const { uid, params, prompt } = interaction;
  const d = prompt.details || {};
  const scopes = [...(d.missingOIDCScope || [])];
  const claims = [...(d.missingOIDCClaims || [])];
  return page('consent', 'Authorize', `${clientLinks(client)}
<p>Requested scope: <code id="scope">${esc(params.scope || '')}</code></p>
<p>Scopes to grant: <code id="missing-scopes">${esc(scopes.join(' '))}</code></p>
<p>Claims to grant: <code id="missing-claims">${esc(claims.join(' '))}</code></p>
<form method="post" action="/interaction/${esc(uid)}/confirm">
<p><button type="submit" class="consent-submit" autofocus>Allow</button></p>
</form>`);
}

// ---------------------------------------------------------------- provider

const configuration = {
  clients: CLIENTS,
  clientDefaults: {
    grant_types: ['authorization_code', 'refresh_token'],
    id_token_signed_response_alg: 'RS256',
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  clientBasedCORS: () => false,
  findAccount,
  jwks: JWKS,
  cookies: {
    keys: ['peer-cookie-key-test-only-1f4e9c', 'peer-cookie-key-test-only-7b2a0d'],
    // POST at the authorization endpoint is only allowed by oidc-provider
    // when the session cookie is SameSite=None.
    long: { httpOnly: true, sameSite: HTTP_POST_METHODS ? 'none' : 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
  },
  enableHttpPostMethods: HTTP_POST_METHODS,
  claims: {
    openid: ['sub'],
    profile: [
      'name', 'given_name', 'family_name', 'middle_name', 'nickname', 'preferred_username',
      'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at',
    ],
    email: ['email', 'email_verified'],
    phone: ['phone_number', 'phone_number_verified'],
    address: ['address'],
  },
  scopes: ['openid', 'offline_access'],
  acrValues: ACR_VALUES,
  subjectTypes: ['public'],
  responseTypes: ['code'],
  pkce: {
    // S256 is the only method oidc-provider v9 offers; required for public clients only.
    required: (ctx, client) => client.clientAuthMethod === 'none',
  },
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
    && code.scopes.has('offline_access'),
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: false },
    claimsParameter: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        // `form` is an empty <form id="op.logoutForm"> holding the xsrf input:
        // put the confirming button inside it.
        const withButton = form.replace(
          '</form>',
          '<p><button type="submit" class="logout-submit" name="logout" value="yes" autofocus>Yes, sign me out</button></p></form>',
        );
        ctx.type = 'html';
        ctx.body = page('logout-confirm', 'Sign out', `${clientLinks(ctx.oidc.client)}
<p>Do you want to sign out?</p>
${withButton}`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.type = 'html';
        ctx.body = page('logged-out', 'Signed out', '<p>You are signed out.</p>');
      },
    },
    backchannelLogout: { enabled: true },
    revocation: {
      enabled: true,
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    introspection: {
      enabled: true,
      allowedPolicy: async (ctx, client, token) => client.clientAuthMethod !== 'none'
        || token.clientId === client.clientId,
    },
    userinfo: { enabled: true },
    jwtUserinfo: { enabled: false },
    requestObjects: { enabled: false },
    // Off so that request_uri is answered with request_uri_not_supported.
    pushedAuthorizationRequests: { enabled: false },
    dPoP: { enabled: false },
    resourceIndicators: { enabled: false },
    registration: { enabled: false },
  },
  ttl: {
    AccessToken: 300,
    AuthorizationCode: 60,
    IdToken: 300,
    RefreshToken: 24 * 60 * 60,
    Session: 24 * 60 * 60,
    Interaction: 600,
    Grant: 24 * 60 * 60,
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = errorPage(out);
  },
  // oidc-provider refuses outgoing requests (back-channel logout) to
  // special-use addresses such as 127.0.0.1; the test RPs all live there.
  fetch(url, options) {
    const { hostname } = new URL(url);
    if (['127.0.0.1', 'localhost', '[::1]'].includes(hostname)) {
      const { dispatcher, ...rest } = options;
      return globalThis.fetch(url, rest);
    }
    return globalThis.fetch(url, options);
  },
};

const provider = new Provider(ISSUER, configuration);

// oidc-provider validates static clients lazily; fail at start instead.
for (const { client_id: clientId } of CLIENTS) {
  try {
    await provider.Client.find(String(clientId));
  } catch (err) {
    fail(`client ${JSON.stringify(clientId)} is invalid: ${err.error_description || err.message}`);
  }
}

// ---------------------------------------------------------------- interactions

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function chooseAcr(params) {
  const requested = [];
  if (params.acr_values) requested.push(...String(params.acr_values).split(' '));
  if (params.claims) {
    try {
      const acr = JSON.parse(params.claims)?.id_token?.acr;
      if (acr?.value) requested.unshift(acr.value);
      if (Array.isArray(acr?.values)) requested.unshift(...acr.values);
    } catch {
      // malformed claims are rejected by the provider itself
    }
  }
  return requested.find((v) => ACR_VALUES.includes(v)) || 'pwd';
}

async function findClient(clientId) {
  try {
    return clientId ? await provider.Client.find(clientId) : undefined;
  } catch {
    return undefined;
  }
}

const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm))?$/;

provider.use(async (ctx, next) => {
  const match = INTERACTION_PATH.exec(ctx.path);
  if (!match) {
    await next();
    // Tag oidc-provider's own auto-submitting form page (response_mode=form_post,
    // logout without a session) so that tests can recognise it too.
    if (typeof ctx.body === 'string' && ctx.body.includes('<title>Submitting Callback</title>')) {
      ctx.body = ctx.body.replace('<body>', '<body data-page="form-post">');
    }
    return;
  }

  const [, uid, action] = match;
  ctx.set('cache-control', 'no-store');
  ctx.type = 'html';
  try {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== uid) throw new Error('interaction cookie does not match the URL');
    const { prompt, params, session } = interaction;
    const client = await findClient(params.client_id);

    if (ctx.method === 'GET' && !action) {
      if (prompt.name === 'login') {
        ctx.body = loginPage(interaction, client);
      } else if (prompt.name === 'consent') {
        ctx.body = consentPage(interaction, client);
      } else {
        throw new Error(`unsupported prompt ${prompt.name}`);
      }
      return;
    }

    if (ctx.method === 'POST' && action === 'login') {
      if (prompt.name !== 'login') throw new Error('login is not the pending prompt');
      const form = await readForm(ctx.req);
      const login = (form.get('login') || '').trim();
      if (!login || form.get('password') !== PASSWORD) {
        ctx.body = loginPage(interaction, client, 'Invalid login or password.');
        return;
      }
      const result = {
        login: { accountId: login, acr: chooseAcr(params), amr: ['pwd'], remember: true },
      };
      const location = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.redirect(location);
      return;
    }

    if (ctx.method === 'POST' && action === 'confirm') {
      if (prompt.name !== 'consent') throw new Error('consent is not the pending prompt');
      await readForm(ctx.req);
      const grant = interaction.grantId
        ? await provider.Grant.find(interaction.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const details = prompt.details || {};
      if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
      if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(details.missingResourceScopes || {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      const location = await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      ctx.status = 303;
      ctx.redirect(location);
      return;
    }

    ctx.status = 405;
    ctx.body = errorPage({ error: 'invalid_request', error_description: 'method not allowed' });
  } catch (err) {
    ctx.status = 400;
    ctx.body = errorPage({ error: err.error || 'invalid_request', error_description: err.error_description || err.message });
  }
});

// ---------------------------------------------------------------- server

const server = provider.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`ready http://127.0.0.1:${PORT}\n`);
});
server.on('error', (err) => fail(`cannot listen on 127.0.0.1:${PORT}: ${err.message}`));

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
