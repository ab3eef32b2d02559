// An OpenID provider for the single sign-on tests, built on node-oidc-provider.
//
//   node server.mjs CONFIG.json
//
// CONFIG names the port, the registered clients and the accounts. The provider
// signs ID tokens with keys made at start, skips consent, and serves a plain
// sign-in form where a person types an account's login. For the tests, it
// counts requests per path at GET /__hits, and PUT /__accounts/LOGIN replaces
// an account's claims with the JSON body.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const hits = {};

function signingKey(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg}-key` };
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`;
}

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: {
    keys: [
      signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
      signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
    ],
  },
  enabledJWA: { idTokenSigningAlgValues: ['RS256', 'ES256'] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
  claims: {
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource(ctx, form) {
        ctx.body = page(
          'Sign out of the test provider?',
          `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>`,
        );
      },
      postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out of the test provider', '');
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const claims = config.accounts[id];
    if (!claims) return undefined;
    return { accountId: id, claims: () => ({ sub: id, ...claims }) };
  },
  // Every request is granted the scopes it requests, so no consent page appears.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope);
    if (ctx.oidc.params.claims) {
      const requested = JSON.parse(ctx.oidc.params.claims);
      grant.addOIDCClaims(Object.keys({ ...requested.id_token, ...requested.userinfo }));
    }
    await grant.save();
    return grant;
  },
});

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid || details.prompt.name !== 'login') {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`unexpected prompt ${details.prompt.name}`);
    return;
  }
  let error = '';
  if (req.method === 'POST') {
    const login = (await readForm(req)).get('login') || '';
    if (config.accounts[login]) {
      await provider.interactionFinished(req, res, { login: { accountId: login } });
      return;
    }
    error = `<p role="alert">No account is called ${escape(login)}.</p>`;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(page('Sign in to the test provider', `${error}
<form method="post" action="/interaction/${escape(uid)}">
<label>Login <input name="login" autofocus></label>
<button type="submit">Sign in</button></form>`));
}

const callback = provider.callback();

http.createServer(async (req, res) => {
  const path = new URL(req.url, issuer).pathname;
  hits[path] = (hits[path] || 0) + 1;
  if (path === '/__hits') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(hits));
    return;
  }
  // /__redirect/PATH redirects to /PATH, for clients that must not follow.
  if (path.startsWith('/__redirect/')) {
    res.writeHead(302, { location: path.slice('/__redirect'.length) });
    res.end();
    return;
  }
  const account = path.match(/^\/__accounts\/([\w.@-]+)$/);
  if (account && req.method === 'PUT') {
    let body = '';
    for await (const chunk of req) body += chunk;
    config.accounts[account[1]] = JSON.parse(body);
    res.writeHead(204);
    res.end();
    return;
  }
  const match = path.match(/^\/interaction\/([\w-]+)$/);
  if (match) {
    try {
      await interaction(req, res, match[1]);
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(String(err.message));
    }
    return;
  }
  callback(req, res);
}).listen(config.port, '127.0.0.1', () => {
  console.log(`listening on ${issuer}`);
});
