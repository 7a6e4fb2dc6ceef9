// An OpenID Connect provider on loopback, configured like NHS login, for the sign-in tests.
//
// Usage: node provider.js PORT CLIENT_JSON
// CLIENT_JSON: {"client_id", "redirect_uris", "post_logout_redirect_uri", "jwk"} where jwk is
// the portal's public key for private_key_jwt. Prints "ready" once listening.
//
// Test-only endpoints (loopback, never part of a real provider):
//   POST /test/accounts  {"sub", "claims"}: a person who can sign in, with their claims
//   POST /test/tamper    {"mode"}: change the next ID token (wrong_audience, expired,
//                        unsigned, wrong_key, replay) to play an attacker
//   GET  /interaction/:uid/login?sub=...&acr=...&amr=...: the person signs in (stands in for
//        the real service's pages; acr and amr say how, as CIS2 reports a smartcard)

import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';

import { exportJWK, SignJWT, decodeJwt, importJWK } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const client = JSON.parse(process.argv[3]);
const issuer = `http://127.0.0.1:${port}`;

async function rsaJwk(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS512', use: 'sig' };
}

const signingKey = await rsaJwk('provider-key');
const impostorKey = await rsaJwk('provider-key'); // same kid, different key
const accounts = new Map();
let tamper = null;
let lastIdToken = null;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: client.client_id,
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS512',
      id_token_signed_response_alg: 'RS512',
      jwks: { keys: [client.jwk] },
      redirect_uris: client.redirect_uris,
      post_logout_redirect_uris: [client.post_logout_redirect_uri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
    },
  ],
  jwks: { keys: [signingKey] },
  enabledJWA: {
    clientAuthSigningAlgValues: ['RS512', 'RS256'],
    idTokenSigningAlgValues: ['RS512', 'RS256'],
  },
  pkce: { required: () => true },
  extraParams: ['vtr'],
  conformIdTokenClaims: false,
  acrValues: ['AAL1_USERPASS', 'AAL3_ANY'],
  claims: {
    acr: null,
    amr: null,
    openid: ['sub', 'vot', 'selected_roleid'],
    profile: [
      'nhs_number', 'birthdate', 'identity_proofing_level', 'name', 'family_name', 'given_name',
    ],
    email: ['email', 'email_verified'],
    nationalrbacaccess: ['nhsid_nrbac_roles'],
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, sub) {
    const claims = accounts.get(sub);
    if (!claims) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...claims }) };
  },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
});
provider.proxy = false;

// Attacks: rewrite the ID token the token endpoint is about to send.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || !ctx.body || !ctx.body.id_token) return;
  const genuine = ctx.body.id_token;
  const mode = tamper;
  tamper = null;
  if (mode) ctx.body.id_token = await tampered(mode, genuine);
  lastIdToken = genuine;
});

async function tampered(mode, genuine) {
  if (mode === 'replay') return lastIdToken;
  const claims = decodeJwt(genuine);
  const now = Math.floor(Date.now() / 1000);
  if (mode === 'unsigned') {
    const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${part({ alg: 'none' })}.${part(claims)}.`;
  }
  let key = signingKey;
  if (mode === 'wrong_audience') claims.aud = 'another-service';
  if (mode === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (mode === 'wrong_key') key = impostorKey;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS512', kid: 'provider-key' })
    .sign(await importJWK(key, 'RS512'));
}

async function readJson(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return JSON.parse(body || '{}');
}

const callback = provider.callback();

createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (req.method === 'POST' && url.pathname === '/test/accounts') {
      const { sub, claims } = await readJson(req);
      accounts.set(sub, claims);
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/test/tamper') {
      tamper = (await readJson(req)).mode;
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end(); // a browser on the sign-in page asks for one
      return;
    }
    const page = url.pathname.match(/^\/interaction\/([^/]+)$/);
    if (page) {
      // The provider's own sign-in page, for a browser: who is signing in.
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
        `<!doctype html><html lang="en"><title>Test provider</title><main>
        <form method="get" action="/interaction/${page[1]}/login">
        <label for="sub">Who is signing in</label> <input id="sub" name="sub">
        <button type="submit">Sign in at the provider</button></form></main></html>`,
      );
      return;
    }
    const login = url.pathname.match(/^\/interaction\/[^/]+\/login$/);
    if (login) {
      const details = await provider.interactionDetails(req, res);
      // NHS login needs the vector of trust asked for; CIS2 has none.
      if (details.params.redirect_uri.includes('/nhs-login/') && !details.params.vtr) {
        res.writeHead(400).end('vtr is required');
        return;
      }
      const sub = url.searchParams.get('sub');
      const grant = new provider.Grant({ accountId: sub, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      const grantId = await grant.save();
      const how = {};
      if (url.searchParams.get('acr')) how.acr = url.searchParams.get('acr');
      if (url.searchParams.get('amr')) how.amr = url.searchParams.get('amr').split(',');
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: sub, ...how }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    callback(req, res);
  } catch (error) {
    res.writeHead(500).end(String(error));
  }
}).listen(port, '127.0.0.1', () => console.log('ready'));
