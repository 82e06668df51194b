import { StrictMode, Suspense, lazy, useCallback, useEffect, useMemo, useState } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Link, Navigate, Route, Routes, useLocation, useNavigate } from "react-router";
import { App as AntApp, Button, Card, ConfigProvider, Input, Layout, Menu, Result, Segmented, Space, Spin, Typography } from "antd";
import zhCN from "antd/locale/zh_CN";
import enUS from "antd/locale/en_US";
import { Code, ConnectError, admin, describe, setLanguage, setSession } from "./api";
import { I18nContext, languageTag, makeI18n, setServerLabels, useI18n, type Labels, type Lang } from "./i18n";
import { SessionContext, hasRole, openSession, storeToken, storedToken, tokenExpiry, type Session } from "./session";

const CallDesk = lazy(() => import("./pages/CallDesk"));
const Tickets = lazy(() => import("./pages/Tickets"));
const CasePage = lazy(() => import("./pages/Case"));
const Board = lazy(() => import("./pages/Board"));
const Archive = lazy(() => import("./pages/Archive"));
const Stats = lazy(() => import("./pages/Stats"));

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
  const [error, setError] = useState(message ?? "");
  const [busy, setBusy] = useState(false);
  const navigate = useNavigate();
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
  return (
    <Card title={t("signIn")} style={{ maxWidth: 560, margin: "64px auto" }}>
      <Space direction="vertical" style={{ width: "100%" }}>
        <Typography.Text type="secondary">{t("tokenHelp")}</Typography.Text>
        <Input.TextArea data-testid="token" rows={4} value={token} onChange={(e) => setToken(e.target.value)} placeholder={t("token")} />
        {error && <Typography.Text type="danger" data-testid="signin-error">{error}</Typography.Text>}
        <Button type="primary" loading={busy} onClick={submit} disabled={!token.trim()} data-testid="signin">
          {t("signIn")}
        </Button>
      </Space>
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
  return (
    <Layout style={{ minHeight: "100vh" }}>
      <Layout.Header style={{ display: "flex", alignItems: "center", gap: 16 }}>
        <Typography.Text strong style={{ color: "#fff", whiteSpace: "nowrap" }}>{t("appName")}</Typography.Text>
        <Menu theme="dark" mode="horizontal" selectedKeys={[selected]} items={items} style={{ flex: 1, minWidth: 0 }} />
        <Segmented size="small" value={lang} onChange={(v) => setLang(v as Lang)} options={[{ label: "中文", value: "zh" }, { label: "EN", value: "en" }]} data-testid="lang" />
        <Typography.Text style={{ color: "#ccc", whiteSpace: "nowrap" }} data-testid="whoami">
          {session.subject} · {session.roles.join(",")} · {session.timeZone}
        </Typography.Text>
        <Button size="small" onClick={onSignOut}>{t("signOut")}</Button>
      </Layout.Header>
      <Layout.Content style={{ padding: 24 }}>
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
  const [restoring, setRestoring] = useState(() => storedToken() !== "");
  const [notice, setNotice] = useState<string>();
  const navigate = useNavigate();
  const location = useLocation();

  const signOut = useCallback(() => {
    storeToken("");
    setSession("", () => {});
    setSessionState(null);
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
    storeToken(s.token);
    setSession(s.token, refused(s.token));
    setNotice(undefined);
    setSessionState(s);
    if (location.pathname === "/signin" || location.pathname === "/expired") navigate(home(s));
  }, [location.pathname, navigate, refused]);

  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    setSession(token, refused(token));
    openSession(token)
      .then((s) => { setSessionState(s); })
      .catch(() => {})
      .finally(() => setRestoring(false));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // The server's labels in the console's language, again whenever either changes.
  useEffect(() => {
    if (!session) return;
    let current = true;
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
    return () => { current = false; };
  }, [session, lang]);

  // When the token's time runs out while the console is open, say so.
  useEffect(() => {
    if (!session) return;
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
      <Shell session={session} onSignOut={() => { signOut(); navigate("/signin"); }} />
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
