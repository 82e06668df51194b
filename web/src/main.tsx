import { StrictMode, Suspense, lazy, useCallback, useEffect, useMemo, useState } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Link, Navigate, Route, Routes, useLocation, useNavigate } from "react-router";
import { App as AntApp, Button, Card, ConfigProvider, Drawer, Grid, Input, Layout, Menu, Result, Segmented, Space, Spin, Tabs, Tag, Typography } from "antd";
import zhCN from "antd/locale/zh_CN";
import enUS from "antd/locale/en_US";
import { Code, ConnectError, admin, describe, sessions, setLanguage, setSession } from "./api";
import { I18nContext, languageTag, makeI18n, setServerLabels, useI18n, type Labels, type Lang } from "./i18n";
import { SessionContext, hasRole, keepSession, keptSession, openSession, storeRefresh, storeToken, storedRefresh, storedToken, tokenExpiry, type Session } from "./session";
import * as sso from "./sso";
import { startSending, useOutbox } from "./outbox";
import type { IdentityProvider } from "./gen/steelcare/identity/v1/identity_service_pb";

const CallDesk = lazy(() => import("./pages/CallDesk"));
const Tickets = lazy(() => import("./pages/Tickets"));
const CasePage = lazy(() => import("./pages/Case"));
const Board = lazy(() => import("./pages/Board"));
const Archive = lazy(() => import("./pages/Archive"));
const Stats = lazy(() => import("./pages/Stats"));
const Job = lazy(() => import("./pages/Job"));

const STAFF = ["agent", "manager", "admin"];
const DISPATCH = ["dispatcher", "technician", "manager", "admin"];
const ARCHIVE = ["engineer", "manager", "admin", "auditor"];
const STATS = ["engineer", "chief_engineer", "manager", "admin", "auditor"];

function home(session: Session): string {
  if (hasRole(session, "agent")) return "/desk";
  if (hasRole(session, "dispatcher", "technician")) return "/board";
  return "/tickets";
}

function SignIn({ onSignedIn, message }: { onSignedIn: (s: Session) => void; message?: string }) {
  const { t } = useI18n();
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
  const submitPassword = async () => {
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
  const submit = async () => {
    const value = token.trim();
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
  const withPassword = (
    <Space direction="vertical" style={{ width: "100%" }}>
      <Input data-testid="login" autoComplete="username" value={login} onChange={(e) => setLogin(e.target.value)} placeholder={t("loginName")} />
      <Input.Password data-testid="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} onPressEnter={submitPassword} placeholder={t("password")} />
      <Button type="primary" loading={busy} onClick={submitPassword} disabled={!login.trim() || !password} data-testid="signin-password">
        {t("signIn")}
      </Button>
    </Space>
  );
  const withToken = (
    <Space direction="vertical" style={{ width: "100%" }}>
      <Typography.Text type="secondary">{t("tokenHelp")}</Typography.Text>
      <Input.TextArea data-testid="token" rows={4} value={token} onChange={(e) => setToken(e.target.value)} placeholder={t("token")} />
      <Button type="primary" loading={busy} onClick={submit} disabled={!token.trim()} data-testid="signin">
        {t("signIn")}
      </Button>
    </Space>
  );
  return (
    <Card title={t("signIn")} style={{ maxWidth: 560, margin: "64px auto" }}>
      <Tabs
        items={[
          { key: "password", label: <span data-testid="password-tab">{t("withPassword")}</span>, children: withPassword },
          { key: "token", label: <span data-testid="token-tab">{t("withToken")}</span>, children: withToken },
        ]}
      />
      {providers.length > 0 && (
        <Space direction="vertical" style={{ width: "100%", marginBottom: 12 }}>
          <Typography.Text type="secondary">{t("withCompanyAccount")}</Typography.Text>
          {providers.map((p) => (
            <Button key={p.name} block loading={busy} onClick={() => atProvider(p)} data-testid={`sso-${p.name}`}>
              {p.label}
            </Button>
          ))}
        </Space>
      )}
      {error && <Typography.Text type="danger" data-testid="signin-error">{error}</Typography.Text>}
    </Card>
  );
}

function Expired() {
  const { t } = useI18n();
  return (
    <Result
      status="warning"
      title={<span data-testid="expired">{t("tokenExpired")}</span>}
      subTitle={t("tokenExpiredHelp")}
      extra={<Link to="/signin"><Button type="primary">{t("signInAgain")}</Button></Link>}
    />
  );
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { t, lang, setLang } = useI18n();
  const location = useLocation();
  const items = [
    hasRole(session, ...STAFF) && { key: "/desk", label: <Link to="/desk">{t("callDesk")}</Link> },
    !hasRole(session, ...STAFF) && hasRole(session, "customer") && { key: "/desk", label: <Link to="/desk">{t("reportProblem")}</Link> },
    { key: "/tickets", label: <Link to="/tickets">{t("tickets")}</Link> },
    hasRole(session, ...DISPATCH) && { key: "/board", label: <Link to="/board">{hasRole(session, "technician") && !hasRole(session, "dispatcher", "manager", "admin") ? t("myOffers") : t("board")}</Link> },
    hasRole(session, ...ARCHIVE) && { key: "/archive", label: <Link to="/archive">{t("archive")}</Link> },
    hasRole(session, ...STATS) && { key: "/stats", label: <Link to="/stats">{t("statistics")}</Link> },
  ].filter(Boolean) as { key: string; label: React.ReactNode }[];
  const selected = items.map((i) => i.key).find((k) => location.pathname.startsWith(k)) ?? "";
  // Phone width (below 768 px): the navigation, language and sign-out move into a menu.
  const phone = !Grid.useBreakpoint().md;
  // What waits to be sent from this device (recorded offline), in the header on every page.
  const outbox = useOutbox();
  useEffect(() => startSending(), []);
  const unsent = outbox.length > 0 && (
    <Tag color={outbox.some((e) => e.state === "refused") ? "red" : "gold"} data-testid="outbox-count" style={{ marginInlineEnd: 0 }}>
      {t("waitingToSend")} {outbox.length}
    </Tag>
  );
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [location.pathname]);
  const language = <Segmented size={phone ? "large" : "small"} value={lang} onChange={(v) => setLang(v as Lang)} options={[{ label: "中文", value: "zh" }, { label: "EN", value: "en" }]} data-testid="lang" />;
  const signOut = <Button size={phone ? "large" : "small"} block={phone} onClick={onSignOut} data-testid="signout">{t("signOut")}</Button>;
  const header = phone ? (
    <Layout.Header style={{ display: "flex", alignItems: "center", gap: 8, padding: "0 12px" }}>
      <Typography.Text strong style={{ color: "#fff", whiteSpace: "nowrap" }}>{t("appName")}</Typography.Text>
      <Typography.Text ellipsis style={{ color: "#ccc", flex: 1, minWidth: 0, textAlign: "right" }} data-testid="whoami">
        {session.displayName || session.subject}
      </Typography.Text>
      {unsent}
      <Button size="large" onClick={() => setMenuOpen(true)} data-testid="menu">{t("menu")}</Button>
      <Drawer open={menuOpen} onClose={() => setMenuOpen(false)} placement="right" width="80%" title={session.displayName || session.subject}>
        <Space direction="vertical" size="large" style={{ width: "100%" }}>
          <Menu mode="vertical" selectedKeys={[selected]} items={items} style={{ borderInlineEnd: "none", fontSize: 16 }} data-testid="nav" />
          <Typography.Text type="secondary">{session.roles.join(",")} · {session.timeZone}</Typography.Text>
          {language}
          {signOut}
        </Space>
      </Drawer>
    </Layout.Header>
  ) : (
    <Layout.Header style={{ display: "flex", alignItems: "center", gap: 16 }}>
      <Typography.Text strong style={{ color: "#fff", whiteSpace: "nowrap" }}>{t("appName")}</Typography.Text>
      <Menu theme="dark" mode="horizontal" selectedKeys={[selected]} items={items} style={{ flex: 1, minWidth: 0 }} data-testid="nav" />
      {unsent}
      {language}
      <Typography.Text style={{ color: "#ccc", whiteSpace: "nowrap" }} data-testid="whoami">
        {session.displayName || session.subject} · {session.roles.join(",")} · {session.timeZone}
      </Typography.Text>
      {signOut}
    </Layout.Header>
  );
  return (
    <Layout style={{ minHeight: "100vh" }}>
      {header}
      <Layout.Content style={{ padding: phone ? 12 : 24, minWidth: 0 }}>
        <Suspense fallback={<Spin />}>
          <Routes>
            <Route path="/" element={<Navigate to={home(session)} replace />} />
            <Route path="/desk" element={<CallDesk />} />
            <Route path="/tickets" element={<Tickets />} />
            <Route path="/tickets/:ticketId" element={<CasePage />} />
            <Route path="/board" element={<Board />} />
            <Route path="/archive" element={<Archive />} />
            <Route path="/archive/:ticketId" element={<Archive />} />
            <Route path="/stats" element={<Stats />} />
            <Route path="/jobs/:ticketId" element={<Job />} />
            <Route path="*" element={<Navigate to={home(session)} replace />} />
          </Routes>
        </Suspense>
      </Layout.Content>
    </Layout>
  );
}

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
  if (restoring) body = <Spin style={{ margin: 64 }} />;
  else if (location.pathname === "/expired") body = <Expired />;
  else if (!session) body = <SignIn key={notice} onSignedIn={signedIn} message={notice} />;
  else body = (
    <SessionContext.Provider value={session}>
      <Shell
        session={session}
        onSignOut={() => {
          const atProvider = signOut();
          if (atProvider) window.location.assign(atProvider);
          else navigate("/signin");
        }}
      />
    </SessionContext.Provider>
  );
  return (
    <I18nContext.Provider value={i18n}>
      <ConfigProvider locale={lang === "zh" ? zhCN : enUS} theme={{ token: { colorPrimary: "#1f5fa8" } }}>
        <AntApp>{body}</AntApp>
      </ConfigProvider>
    </I18nContext.Provider>
  );
}

// Installable, and opens with no network: the service worker keeps the console's files.
if ("serviceWorker" in navigator && !import.meta.env.DEV) {
  navigator.serviceWorker.register("/sw.js").catch(() => {});
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
