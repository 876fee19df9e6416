// Who the page acts as: a bearer token kept for this tab (sessionStorage).
//
// Local stage: POST /local/sign-in (registered only there) returns a token for any user id, the
// way `make token` does. AWS stages: Cognito's hosted UI, authorization code with PKCE, configured
// by config.json (infra/publish_web.py writes it from the stack's outputs). The hosted UI flow
// was NOT exercised here: no AWS account was available (docs/web-client.md).
const KEY = "spaces.session";
const PKCE_KEY = "spaces.pkce";

export function currentSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(KEY));
    if (session && session.token && Date.parse(session.expires_at) > Date.now() + 30_000) return session;
  } catch { /* nothing stored */ }
  return null;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

function save(session) {
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export async function signInLocally(config, userId) {
  const response = await fetch((config.api_base_url || "") + config.auth.sign_in_path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user_id: userId }),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.message || `sign-in failed (${response.status})`);
  return save({ user_id: data.user_id, token: data.token, expires_at: data.expires_at });
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function startHostedUi(config) {
  const { domain, client_id: clientId, redirect_uri: redirectUri } = config.auth;
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const query = new URLSearchParams({
    response_type: "code", client_id: clientId, redirect_uri: redirectUri, scope: "openid",
    code_challenge_method: "S256", code_challenge: challenge, state,
  });
  window.location.assign(`${domain}/oauth2/authorize?${query}`);
}

// Back from the hosted UI with ?code=...: exchange it for tokens. The API verifies ID tokens
// (aud = the web app client's id, sub = the user id).
export async function finishHostedUi(config) {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("code");
  if (!code || config.auth.mode !== "cognito") return null;
  const pkce = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "{}");
  sessionStorage.removeItem(PKCE_KEY);
  window.history.replaceState(null, "", window.location.pathname + window.location.hash);
  if (!pkce.verifier || params.get("state") !== pkce.state) throw new Error("sign-in was not started from this page");
  const response = await fetch(`${config.auth.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", client_id: config.auth.client_id, code,
      redirect_uri: config.auth.redirect_uri, code_verifier: pkce.verifier,
    }),
  });
  if (!response.ok) throw new Error(`sign-in failed (${response.status})`);
  const tokens = await response.json();
  const claims = JSON.parse(atob(tokens.id_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  return save({ user_id: claims.sub, token: tokens.id_token, expires_at: new Date(claims.exp * 1000).toISOString() });
}
