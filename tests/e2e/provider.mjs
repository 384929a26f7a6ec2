// A real OpenID provider (node `oidc-provider`) for the end-to-end tests.
//
//   node provider.mjs PORT          (or PORT=... node provider.mjs)
//
// Listens on 127.0.0.1:PORT only. Issues JWT access tokens with the client_credentials
// grant for resource indicators (RFC 8707), signed with RS256 or ES256 keys generated at
// startup, and publishes its own discovery document and JWKS. Prints one line
//
//   OIDC_PROVIDER_READY {"issuer":"http://127.0.0.1:PORT","kids":[...]}
//
// on stdout when it accepts requests. Exits when stdin closes (the test harness holds
// the other end), on SIGTERM or SIGINT.
//
// Clients (all `client_secret_basic`, grant `client_credentials`, scopes `read admin`):
//   e2e-rs     / e2e-rs-secret      RS256 tokens, 300 s
//   e2e-es     / e2e-es-secret      ES256 tokens, 300 s
//   e2e-short  / e2e-short-secret   RS256 tokens, 1 s (for expiry)
// Resources (the access token's `aud` is the resource URL):
//   https://api.e2e.test/     scopes `read admin`; tokens also carry
//                             `permissions: ["users:read"]`
//   https://other.e2e.test/   scopes `read admin` (a different audience)
//   http://127.0.0.1:P/path   any loopback resource server a test starts (an MCP server
//                             at `http://127.0.0.1:P/mcp`, say): scopes `read admin`, the
//                             `aud` is the resource string exactly. Any other resource is
//                             `invalid_target`.
//
// DPoP (RFC 9449): a client that sends a `DPoP` proof (ES256 or EdDSA, `htu` = the token
// endpoint, `htm` POST) to the token endpoint gets `token_type: DPoP` and an access token
// bound with `cnf.jkt`; without a proof the token is the usual unbound Bearer token. No
// server nonces; a proof's `jti` is accepted once.
//
// Key rotation: `POST /__e2e/rotate` generates a new key set (new kids), swaps in a new
// provider instance with it and answers `{"kids": [...]}`; the old keys disappear from
// the JWKS at once. `GET /__e2e/kids` answers the current kids. Test use only.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const API_RESOURCE = 'https://api.e2e.test/';
const OTHER_RESOURCE = 'https://other.e2e.test/';
const RESOURCES = new Set([API_RESOURCE, OTHER_RESOURCE]);

/** `http://127.0.0.1:PORT/...` (no query, no fragment, no userinfo): a test's own server. */
function isLoopbackResource(resource) {
  let url;
  try {
    url = new URL(resource);
  } catch {
    return false;
  }
  return url.protocol === 'http:' && url.hostname === '127.0.0.1' && url.port !== ''
    && url.username === '' && url.password === '' && url.search === '' && url.hash === ''
    && !resource.includes('?') && !resource.includes('#');
}

const CLIENTS = [
  { client_id: 'e2e-rs', client_secret: 'e2e-rs-secret', alg: 'RS256', ttl: 300 },
  { client_id: 'e2e-es', client_secret: 'e2e-es-secret', alg: 'ES256', ttl: 300 },
  { client_id: 'e2e-short', client_secret: 'e2e-short-secret', alg: 'RS256', ttl: 1 },
];

const port = Number.parseInt(process.argv[2] ?? process.env.PORT ?? '', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node provider.mjs PORT (or PORT=... in the environment); PORT in 1..65535');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

let generation = 0;

/** A fresh signing key set: one RSA 2048 (RS256) and one P-256 (ES256) private JWK. */
function generateKeys() {
  generation += 1;
  const tag = `${generation}-${crypto.randomBytes(4).toString('hex')}`;
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, kid: `rs256-${tag}`, alg: 'RS256', use: 'sig' },
    { ...ec, kid: `es256-${tag}`, alg: 'ES256', use: 'sig' },
  ];
}

function buildProvider(keys) {
  const byClient = new Map(CLIENTS.map((c) => [c.client_id, c]));
  const provider = new Provider(issuer, {
    clients: CLIENTS.map(({ client_id, client_secret }) => ({
      client_id,
      client_secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'read admin',
    })),
    jwks: { keys },
    scopes: ['read', 'admin'],
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      // Proofs at the token endpoint bind the token (`cnf.jkt`); no proof, no binding.
      dPoP: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo(_ctx, resourceIndicator, client) {
          if (!RESOURCES.has(resourceIndicator) && !isLoopbackResource(resourceIndicator)) {
            throw new errors.InvalidTarget();
          }
          const c = byClient.get(client.clientId);
          return {
            scope: 'read admin',
            audience: resourceIndicator,
            accessTokenTTL: c.ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: c.alg } },
          };
        },
      },
    },
    extraTokenClaims(_ctx, token) {
      if (token.kind === 'ClientCredentials' && token.aud === API_RESOURCE) {
        return { permissions: ['users:read'] };
      }
      return undefined;
    },
  });
  // Errors are answered to the client; log them for whoever reads the test output.
  provider.on('server_error', (_ctx, err) => console.error('provider server_error:', err));
  return provider;
}

let keys = generateKeys();
let callback = buildProvider(keys).callback();

const kids = () => keys.map((k) => k.kid);

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  if (path === '/__e2e/rotate' && req.method === 'POST') {
    keys = generateKeys();
    callback = buildProvider(keys).callback();
    json(res, 200, { kids: kids() });
    return;
  }
  if (path === '/__e2e/kids' && req.method === 'GET') {
    json(res, 200, { kids: kids() });
    return;
  }
  callback(req, res);
});

server.on('error', (err) => {
  console.error(`provider: cannot listen on 127.0.0.1:${port}: ${err.message}`);
  process.exit(1);
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`OIDC_PROVIDER_READY ${JSON.stringify({ issuer, kids: kids() })}\n`);
});

function shutdown() {
  server.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// The harness keeps our stdin open; when it goes away (test ended or crashed), so do we.
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();
