// The console's entry: the language, the session and the sign-in page, with no component
// library, so the first visit is small; the signed-in console (./shell) loads after.
import { StrictMode, Suspense, lazy, useCallback, useEffect, useMemo, useState } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, useLocation, useNavigate } from "react-router";
import { Code, ConnectError, admin, describe, sessions, setLanguage, setSession } from "./api";
import { I18nContext, languageTag, makeI18n, setServerLabels, type Labels, type Lang } from "./i18n";
import { home, keepSession, keptSession, openSession, storeRefresh, storeToken, storedRefresh, storedToken, tokenExpiry, type Session } from "./session";
import * as sso from "./sso";
import { Expired, SignIn } from "./signin";

const Console = lazy(() => import("./shell"));

function Root() {
  const [lang, setLang] = useState<Lang>(() => (localStorage.getItem("steelcare.lang") as Lang) || "zh");
  const [labels, setLabels] = useState<Labels>({});
  setLanguage(languageTag(lang));
  const i18n = useMemo(() => makeI18n(lang, (l) => { localStorage.setItem("steelcare.lang", l); setLang(l); }, labels), [lang, labels]);
  const [session, setSessionState] = useState<Session | null>(null);
  const [restoring, setRestoring] = useState(() => storedToken() !== "" || sso.isProviderAnswer());
  const [notice, setNotice] = useState<string>();
  const navigate = useNavigate();
  const location = useLocation();

  // Ends the session here (and a password sign-in's at the server); answers the provider's
  // sign-out address after a single sign-on.
  const signOut = useCallback((): string | undefined => {
    const refresh = storedRefresh();
    if (refresh) sessions.logout({ refreshToken: refresh }).catch(() => {});
    storeRefresh("");
    storeToken("");
    keepSession(null);
    setSession("", () => {});
    setSessionState(null);
    return sso.forget();
  }, []);

  // A call refused as UNAUTHENTICATED ends the session: the expired page when the token's time
  // is up, the sign-in page (with the server's reason) otherwise.
  const refused = useCallback((token: string) => (err: ConnectError) => {
    const expiry = tokenExpiry(token);
    signOut();
    if (expiry && expiry.getTime() <= Date.now()) navigate("/expired");
    else { setNotice(describe(err)); navigate("/signin"); }
  }, [navigate, signOut]);

  const signedIn = useCallback((s: Session) => {
    keepSession(s);
    storeToken(s.token);
    storeRefresh(s.refreshToken ?? "");
    setSession(s.token, refused(s.token));
    setNotice(undefined);
    setSessionState(s);
    if (location.pathname === "/signin" || location.pathname === "/expired") navigate(home(s));
  }, [location.pathname, navigate, refused]);

  useEffect(() => {
    // Back from the identity provider: its code becomes the session's access token.
    if (sso.isProviderAnswer()) {
      sso
        .completeSignIn()
        .then(async (access) => {
          setSession(access, () => {});
          signedIn({ ...(await openSession(access)), sso: true });
        })
        .catch((err) => { sso.forget(); setNotice(`${i18n.t("ssoFailed")}: ${describe(err)}`); navigate("/signin"); })
        .finally(() => setRestoring(false));
      return;
    }
    const token = storedToken();
    if (!token) return;
    setSession(token, refused(token));
    openSession(token)
      .then((s) => { setSessionState({ ...s, refreshToken: storedRefresh() || undefined, sso: sso.isSignedIn() }); })
      .catch((err) => {
        // No network (a reload on site): the session as last seen, until the server answers.
        const kept = ConnectError.from(err).code !== Code.Unauthenticated && keptSession(token);
        if (kept) setSessionState({ ...kept, refreshToken: storedRefresh() || undefined, sso: sso.isSignedIn() });
      })
      .finally(() => setRestoring(false));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // The server's labels in the console's language, again whenever either changes, and when
  // the connection returns to a console opened without one.
  useEffect(() => {
    if (!session) return;
    let current = true;
    const fetchLabels = () =>
      admin
        .getLabels({})
        .then((r) => {
          if (!current) return;
          const next: Labels = {};
          for (const e of r.enums) next[e.enumName] = e.labels;
          setServerLabels(next);
          setLabels(next);
        })
        .catch(() => {});
    void fetchLabels();
    window.addEventListener("online", fetchLabels);
    return () => {
      current = false;
      window.removeEventListener("online", fetchLabels);
    };
  }, [session, lang]);

  // A password or single sign-on renews its access token a minute before it expires, silently;
  // when the server or the provider refuses (signed out elsewhere, disabled, password changed)
  // the sign-in page says why.
  useEffect(() => {
    const viaProvider = session?.sso && sso.canRenew();
    if (!session?.refreshToken && !viaProvider) return;
    const wait = Math.max(session.expiresAt.getTime() - Date.now() - 60_000, 0);
    const timer = window.setTimeout(async () => {
      try {
        if (viaProvider) {
          const access = await sso.renew();
          setSession(access, refused(access));
          signedIn({ ...(await openSession(access)), sso: true });
          return;
        }
        const renewed = (await sessions.refresh({ refreshToken: session.refreshToken ?? "" })).session;
        const access = renewed?.accessToken ?? "";
        setSession(access, refused(access));
        signedIn({ ...(await openSession(access)), refreshToken: renewed?.refreshToken });
      } catch (err) {
        signOut();
        setNotice(viaProvider ? `${i18n.t("ssoFailed")}: ${describe(err)}` : describe(err));
        navigate("/signin");
      }
    }, wait);
    return () => window.clearTimeout(timer);
  }, [session, navigate, refused, signOut, signedIn, i18n]);

  // When a pasted token's time runs out while the console is open, say so.
  useEffect(() => {
    if (!session || session.refreshToken || (session.sso && sso.canRenew())) return;
    const wait = session.expiresAt.getTime() - Date.now();
    // Timers hold at most 2^31-1 ms (24.8 days); a longer token is checked again on reload.
    if (wait > 2_147_483_647) return;
    const timer = window.setTimeout(() => { signOut(); navigate("/expired"); }, Math.max(wait, 0));
    return () => window.clearTimeout(timer);
  }, [session, navigate, signOut]);

  let body;
  if (restoring) body = <div className="sc-page" />;
  else if (location.pathname === "/expired") body = <Expired />;
  else if (!session) body = <SignIn key={notice} onSignedIn={signedIn} message={notice} />;
  else body = (
    <Suspense fallback={<div className="sc-page" />}>
      <Console
        session={session}
        onSignOut={() => {
          const atProvider = signOut();
          if (atProvider) window.location.assign(atProvider);
          else navigate("/signin");
        }}
      />
    </Suspense>
  );
  return <I18nContext.Provider value={i18n}>{body}</I18nContext.Provider>;
}

// Installable, and opens with no network: the service worker keeps the console's files.
// Registered once the page has loaded, so its downloads do not slow the first visit.
if ("serviceWorker" in navigator && !import.meta.env.DEV) {
  window.addEventListener("load", () => navigator.serviceWorker.register("/sw.js").catch(() => {}));
}

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <BrowserRouter>
        <Root />
      </BrowserRouter>
    </StrictMode>,
  );
}
