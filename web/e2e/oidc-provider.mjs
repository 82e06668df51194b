// A real OpenID Provider for the tests: `oidc-provider` (certified by the OpenID Foundation),
// with its own keys, issuing JWT access tokens for SteelCare's audience.
//
// Started by the Rust tests: `node e2e/oidc-provider.mjs` with STEELCARE_OIDC set to
// {"audience", "alg"?, "accounts": {login: {name, groups, org?}}, "accessTokenTtl"?}. It prints
// `issuer <url>` once it listens on 127.0.0.1 (a free port), then serves the provider and,
// for the tests only, under /test/:
//   POST /test/client  {redirectUri}   the console's address (known once SteelCare started)
//   POST /test/rotate                  a new signing key, first in the key set; the old one stays
//   POST /test/sign    {claims, key?}  a token signed with the current key, or with a key the
//                                      key set does not hold (key = "stranger")
//   GET  /test/fetches                 how many times the key set was fetched
import http from "node:http";
import Provider from "oidc-provider";
import * as jose from "jose";

const options = JSON.parse(process.env.STEELCARE_OIDC ?? "{}");
const audience = options.audience ?? "urn:steelcare";
const alg = options.alg ?? "ES256";
const accounts = options.accounts ?? {};

/** The provider's state (sessions, grants, codes, refresh tokens), kept across the
 * provider instances a key rotation builds. */
const stored = new Map();
class SharedMemory {
  constructor(model) {
    this.model = model;
  }
  key(id) {
    return `${this.model}:${id}`;
  }
  async upsert(id, payload) {
    stored.set(this.key(id), payload);
    if (payload.grantId) stored.set(`grant:${payload.grantId}:${this.key(id)}`, true);
    if (payload.uid) stored.set(`uid:${payload.uid}`, id);
    if (payload.userCode) stored.set(`userCode:${payload.userCode}`, id);
  }
  async find(id) {
    return stored.get(this.key(id));
  }
  async findByUid(uid) {
    return this.find(stored.get(`uid:${uid}`));
  }
  async findByUserCode(userCode) {
    return this.find(stored.get(`userCode:${userCode}`));
  }
  async consume(id) {
    const payload = stored.get(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) {
    stored.delete(this.key(id));
  }
  async revokeByGrantId(grantId) {
    for (const entry of [...stored.keys()]) {
      if (entry.startsWith(`grant:${grantId}:`)) {
        stored.delete(entry.slice(`grant:${grantId}:`.length));
        stored.delete(entry);
      }
    }
  }
}

let keys = [await newKey()];
let redirectUris = [];
let provider;
let jwksFetches = 0;

async function newKey() {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, kid: `k-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`, alg, use: "sig" };
}

/** What an account's tokens say about them. */
function claimsOf(login) {
  const account = accounts[login] ?? {};
  const claims = { preferred_username: login, name: account.name ?? login, groups: account.groups ?? [] };
  if (account.org) claims.org = account.org;
  return claims;
}

function build(issuer) {
  provider = new Provider(issuer, {
    clients: redirectUris.length
      ? [
          {
            client_id: "steelcare-console",
            token_endpoint_auth_method: "none",
            application_type: "web",
            grant_types: ["authorization_code", "refresh_token"],
            response_types: ["code"],
            redirect_uris: redirectUris,
            post_logout_redirect_uris: redirectUris,
            id_token_signed_response_alg: alg,
          },
        ]
      : [],
    jwks: { keys },
    adapter: SharedMemory,
    cookies: { keys: ["steelcare-test-cookie-key"] },
    clientBasedCORS: () => true,
    claims: { openid: ["sub"], profile: ["name", "preferred_username"] },
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, ...claimsOf(id) }),
    }),
    extraTokenClaims: (_ctx, token) => (token.accountId ? claimsOf(token.accountId) : undefined),
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: "openid profile offline_access",
          audience,
          accessTokenTTL: options.accessTokenTtl ?? 300,
          accessTokenFormat: "jwt",
          jwt: { sign: { alg } },
        }),
      },
    },
    ttl: { AccessToken: options.accessTokenTtl ?? 300, IdToken: 3600, RefreshToken: 3600 },
  });
  provider.proxy = false;
}

async function body(req) {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
}

function answer(res, value) {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

async function test(req, res, issuer) {
  if (req.url === "/test/client") {
    redirectUris = [(await body(req)).redirectUri];
    build(issuer);
    return answer(res, { ok: true });
  }
  if (req.url === "/test/rotate") {
    keys = [await newKey(), ...keys];
    build(issuer);
    return answer(res, { kid: keys[0].kid });
  }
  if (req.url === "/test/sign") {
    const { claims, key } = await body(req);
    const jwk = key === "stranger" ? { ...(await newKey()), kid: "stranger" } : keys[0];
    const signing = await jose.importJWK(jwk, jwk.alg);
    const token = await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: "at+jwt" })
      .sign(signing);
    return answer(res, { token, kid: jwk.kid });
  }
  if (req.url === "/test/fetches") return answer(res, { fetches: jwksFetches });
  res.writeHead(404);
  res.end();
}

const server = http.createServer((req, res) => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  if (req.url.startsWith("/test/")) {
    test(req, res, issuer).catch((err) => {
      res.writeHead(500);
      res.end(String(err));
    });
    return;
  }
  if (req.url.startsWith("/jwks")) jwksFetches += 1;
  provider.callback()(req, res);
});

server.listen(0, "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  build(issuer);
  console.log(`issuer ${issuer}`);
  // The test reads that one line and may close the pipe: anything later goes to stderr.
  process.stdout.on("error", () => {});
  console.log = console.error;
});

// Ends with the test that started it.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
