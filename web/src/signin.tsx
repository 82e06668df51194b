// The sign-in and token-expired pages, in plain elements (styles in index.html): the first page
// a phone loads, so it carries no component library.
import { useEffect, useState } from "react";
import { useNavigate } from "react-router";
import { Code, ConnectError, describe, sessions, setSession } from "./api";
import { useI18n } from "./i18n";
import { openSession, tokenExpiry, type Session } from "./session";
import * as sso from "./sso";
import type { IdentityProvider } from "./gen/steelcare/identity/v1/identity_service_pb";

export function SignIn({ onSignedIn, message }: { onSignedIn: (s: Session) => void; message?: string }) {
  const { t, lang, setLang } = useI18n();
  const [tab, setTab] = useState<"password" | "token">("password");
  const [token, setToken] = useState("");
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(message ?? "");
  const [busy, setBusy] = useState(false);
  const [providers, setProviders] = useState<IdentityProvider[]>([]);
  const navigate = useNavigate();
  useEffect(() => {
    sessions.getSignInOptions({}).then((o) => setProviders(o.identityProviders)).catch(() => {});
  }, []);
  const atProvider = async (provider: IdentityProvider) => {
    setBusy(true);
    try {
      await sso.beginSignIn(provider);
    } catch (err) {
      setError(`${t("ssoFailed")}: ${describe(err)}`);
      setBusy(false);
    }
  };
  // A password sign-in: the server's access token opens the session, its refresh token keeps it.
  const submitPassword = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!login.trim() || !password) return;
    setBusy(true);
    try {
      const signedIn = (await sessions.login({ login: login.trim(), password })).session;
      const access = signedIn?.accessToken ?? "";
      setSession(access, () => {});
      onSignedIn({ ...(await openSession(access)), refreshToken: signedIn?.refreshToken });
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };
  const submitToken = async (e: React.FormEvent) => {
    e.preventDefault();
    const value = token.trim();
    if (!value) return;
    const expiry = tokenExpiry(value);
    if (expiry && expiry.getTime() <= Date.now()) {
      navigate("/expired");
      return;
    }
    setBusy(true);
    setSession(value, () => {});
    try {
      onSignedIn(await openSession(value));
    } catch (err) {
      setError(ConnectError.from(err).code === Code.Unauthenticated ? `${t("tokenRejected")}: ${describe(err)}` : describe(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="sc-page">
      <div className="sc-card">
        <div className="sc-title">
          <span>{t("signIn")}</span>
          <button type="button" className="sc-link" onClick={() => setLang(lang === "zh" ? "en" : "zh")} data-testid="signin-lang">
            {lang === "zh" ? "EN" : "中文"}
          </button>
        </div>
        <div className="sc-tabs" role="tablist">
          <button type="button" role="tab" aria-selected={tab === "password"} onClick={() => setTab("password")} data-testid="password-tab">
            {t("withPassword")}
          </button>
          <button type="button" role="tab" aria-selected={tab === "token"} onClick={() => setTab("token")} data-testid="token-tab">
            {t("withToken")}
          </button>
        </div>
        {tab === "password" ? (
          <form onSubmit={submitPassword} className="sc-form">
            <input data-testid="login" autoComplete="username" value={login} onChange={(e) => setLogin(e.target.value)} placeholder={t("loginName")} aria-label={t("loginName")} />
            <input data-testid="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} placeholder={t("password")} aria-label={t("password")} />
            <button type="submit" className="sc-primary" disabled={busy || !login.trim() || !password} data-testid="signin-password">
              {t("signIn")}
            </button>
          </form>
        ) : (
          <form onSubmit={submitToken} className="sc-form">
            <span className="sc-muted">{t("tokenHelp")}</span>
            <textarea data-testid="token" rows={4} value={token} onChange={(e) => setToken(e.target.value)} placeholder={t("token")} aria-label={t("token")} />
            <button type="submit" className="sc-primary" disabled={busy || !token.trim()} data-testid="signin">
              {t("signIn")}
            </button>
          </form>
        )}
        {providers.length > 0 && (
          <div className="sc-form">
            <span className="sc-muted">{t("withCompanyAccount")}</span>
            {providers.map((p) => (
              <button type="button" key={p.name} disabled={busy} onClick={() => atProvider(p)} data-testid={`sso-${p.name}`}>
                {p.label}
              </button>
            ))}
          </div>
        )}
        {error && <div className="sc-error" role="alert" data-testid="signin-error">{error}</div>}
      </div>
    </div>
  );
}

export function Expired() {
  const { t } = useI18n();
  const navigate = useNavigate();
  return (
    <div className="sc-page">
      <div className="sc-card">
        <div className="sc-title" data-testid="expired">{t("tokenExpired")}</div>
        <p className="sc-muted">{t("tokenExpiredHelp")}</p>
        <button type="button" className="sc-primary" onClick={() => navigate("/signin")}>{t("signInAgain")}</button>
      </div>
    </div>
  );
}
