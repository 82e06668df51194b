// Single sign-on with the company's OpenID Provider: the authorization code flow with PKCE
// (RFC 7636) for a public client, silent renewal with the provider's refresh token, and
// sign-out at the provider. The provider's access token is the bearer token of every call;
// SteelCare verifies it against the provider's published keys.
import type { IdentityProvider } from "./gen/steelcare/identity/v1/identity_service_pb";

/** What a sign-in in progress keeps across the redirect to the provider and back. */
interface Pending {
  issuer: string;
  clientId: string;
  verifier: string;
  state: string;
}

/** A signed-in provider session: what renewing and signing out need. */
interface Signed {
  issuer: string;
  clientId: string;
  tokenEndpoint: string;
  endSessionEndpoint: string;
  refreshToken: string;
  idToken: string;
}

const PENDING = "steelcare.sso.pending";
const SIGNED = "steelcare.sso";

/** The address the provider sends the browser back to (registered at the provider). */
export const redirectUri = () => `${window.location.origin}/`;

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function discovery(issuer: string): Promise<Record<string, string>> {
  const response = await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`${issuer}: ${response.status}`);
  return response.json();
}

async function tokenRequest(endpoint: string, form: Record<string, string>) {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error_description ?? answer.error ?? String(response.status));
  return answer as { access_token: string; refresh_token?: string; id_token?: string };
}

/** Goes to the provider's sign-in page; the browser comes back to [`redirectUri`]. */
export async function beginSignIn(provider: IdentityProvider): Promise<void> {
  const endpoints = await discovery(provider.issuer);
  const verifier = randomText();
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const pending: Pending = { issuer: provider.issuer, clientId: provider.clientId, verifier, state: randomText() };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: provider.clientId,
    redirect_uri: redirectUri(),
    scope: provider.scope,
    state: pending.state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  if (provider.resource) query.set("resource", provider.resource);
  // Asked for a refresh token (offline_access), a provider asks the person to consent.
  if (provider.scope.split(" ").includes("offline_access")) query.set("prompt", "consent");
  window.location.assign(`${endpoints.authorization_endpoint}?${query}`);
}

/** Whether the page is the provider's answer to a sign-in. */
export function isProviderAnswer(): boolean {
  const query = new URLSearchParams(window.location.search);
  return (query.has("code") || query.has("error")) && sessionStorage.getItem(PENDING) !== null;
}

/** Exchanges the provider's answer for tokens; answers the access token. Throws the
 * provider's refusal, or when the answer is not to the sign-in this console began. */
export async function completeSignIn(): Promise<string> {
  const query = new URLSearchParams(window.location.search);
  const pending: Pending | null = JSON.parse(sessionStorage.getItem(PENDING) ?? "null");
  sessionStorage.removeItem(PENDING);
  window.history.replaceState(null, "", "/");
  if (query.get("error")) throw new Error(query.get("error_description") ?? query.get("error") ?? "");
  if (!pending || query.get("state") !== pending.state) throw new Error("state");
  const endpoints = await discovery(pending.issuer);
  const tokens = await tokenRequest(endpoints.token_endpoint, {
    grant_type: "authorization_code",
    code: query.get("code") ?? "",
    redirect_uri: redirectUri(),
    client_id: pending.clientId,
    code_verifier: pending.verifier,
  });
  const signed: Signed = {
    issuer: pending.issuer,
    clientId: pending.clientId,
    tokenEndpoint: endpoints.token_endpoint,
    endSessionEndpoint: endpoints.end_session_endpoint ?? "",
    refreshToken: tokens.refresh_token ?? "",
    idToken: tokens.id_token ?? "",
  };
  sessionStorage.setItem(SIGNED, JSON.stringify(signed));
  return tokens.access_token;
}

function signed(): Signed | null {
  return JSON.parse(sessionStorage.getItem(SIGNED) ?? "null");
}

/** Whether this browser tab signed in at a provider. */
export const isSignedIn = () => signed() !== null;

/** Whether the provider session can be renewed without the person. */
export const canRenew = () => (signed()?.refreshToken ?? "") !== "";

/** A new access token from the provider's refresh token (rotated when the provider does). */
export async function renew(): Promise<string> {
  const current = signed();
  if (!current?.refreshToken) throw new Error("no refresh token");
  const tokens = await tokenRequest(current.tokenEndpoint, {
    grant_type: "refresh_token",
    refresh_token: current.refreshToken,
    client_id: current.clientId,
  });
  sessionStorage.setItem(
    SIGNED,
    JSON.stringify({ ...current, refreshToken: tokens.refresh_token ?? current.refreshToken, idToken: tokens.id_token ?? current.idToken }),
  );
  return tokens.access_token;
}

/** Forgets the provider session here; answers the provider's sign-out address, to end it
 * there too, when the provider has one. */
export function forget(): string | undefined {
  const current = signed();
  sessionStorage.removeItem(SIGNED);
  if (!current?.endSessionEndpoint) return undefined;
  const query = new URLSearchParams({ post_logout_redirect_uri: redirectUri(), client_id: current.clientId });
  if (current.idToken) query.set("id_token_hint", current.idToken);
  return `${current.endSessionEndpoint}?${query}`;
}
