// The console once someone is signed in: the component library, the navigation (a menu at
// phone width) and the pages, loaded after the sign-in page so a phone on a slow network sees
// that page first.
import { Suspense, lazy, useEffect, useState } from "react";
import { Link, Navigate, Route, Routes, useLocation } from "react-router";
import { App as AntApp, Button, ConfigProvider, Drawer, Grid, Layout, Menu, Segmented, Space, Spin, Tag, Typography } from "antd";
import zhCN from "antd/locale/zh_CN";
import enUS from "antd/locale/en_US";
import { useI18n, type Lang } from "./i18n";
import { SessionContext, hasRole, home, type Session } from "./session";
import { startSending, useOutbox } from "./outbox";
import { NoticeBell } from "./notices";

const CallDesk = lazy(() => import("./pages/CallDesk"));
const Tickets = lazy(() => import("./pages/Tickets"));
const CasePage = lazy(() => import("./pages/Case"));
const Board = lazy(() => import("./pages/Board"));
const Archive = lazy(() => import("./pages/Archive"));
const Stats = lazy(() => import("./pages/Stats"));
const Job = lazy(() => import("./pages/Job"));
const Approvals = lazy(() => import("./pages/Approvals"));
const PlanEditor = lazy(() => import("./pages/PlanEditor"));
const Visits = lazy(() => import("./pages/Visits"));
const Actions = lazy(() => import("./pages/Actions"));
const Admin = lazy(() => import("./pages/Admin"));
const Search = lazy(() => import("./experience"));

const STAFF = ["agent", "manager", "admin"];
const DISPATCH = ["dispatcher", "technician", "manager", "admin"];
const ARCHIVE = ["engineer", "manager", "admin", "auditor"];
const STATS = ["engineer", "chief_engineer", "manager", "admin", "auditor"];

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { t, lang, setLang } = useI18n();
  const location = useLocation();
  const items = [
    hasRole(session, ...STAFF) && { key: "/desk", label: <Link to="/desk">{t("callDesk")}</Link> },
    !hasRole(session, ...STAFF) && hasRole(session, "customer") && { key: "/desk", label: <Link to="/desk">{t("reportProblem")}</Link> },
    { key: "/tickets", label: <Link to="/tickets">{t("tickets")}</Link> },
    { key: "/search", label: <Link to="/search" data-testid="nav-search">{t("experienceBase")}</Link> },
    hasRole(session, ...DISPATCH) && { key: "/board", label: <Link to="/board">{hasRole(session, "technician") && !hasRole(session, "dispatcher", "manager", "admin") ? t("myOffers") : t("board")}</Link> },
    hasRole(session, "agent", "manager", "admin") && { key: "/visits", label: <Link to="/visits">{t("callList")}</Link> },
    hasRole(session, "engineer", "chief_engineer", "manager", "admin", "auditor") && { key: "/actions", label: <Link to="/actions">{t("correctiveActions")}</Link> },
    hasRole(session, "engineer", "chief_engineer") && { key: "/approvals", label: <Link to="/approvals">{t("approvalsInbox")}</Link> },
    hasRole(session, "manager", "admin") && { key: "/admin", label: <Link to="/admin">{t("administration")}</Link> },
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
      <NoticeBell large />
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
      <NoticeBell large={false} />
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
            <Route path="/search" element={<Search />} />
            <Route path="/tickets/:ticketId" element={<CasePage />} />
            <Route path="/board" element={<Board />} />
            <Route path="/archive" element={<Archive />} />
            <Route path="/archive/:ticketId" element={<Archive />} />
            <Route path="/stats" element={<Stats />} />
            <Route path="/jobs/:ticketId" element={<Job />} />
            <Route path="/approvals" element={<Approvals />} />
            <Route path="/visits" element={<Visits />} />
            <Route path="/actions" element={<Actions />} />
            <Route path="/admin" element={<Admin />} />
            <Route path="/tickets/:ticketId/plan" element={<PlanEditor />} />
            <Route path="*" element={<Navigate to={home(session)} replace />} />
          </Routes>
        </Suspense>
      </Layout.Content>
    </Layout>
  );
}

/** The signed-in console, in the reader's language. */
export default function Console({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { lang } = useI18n();
  return (
    <ConfigProvider locale={lang === "zh" ? zhCN : enUS} theme={{ token: { colorPrimary: "#1f5fa8" } }}>
      <AntApp>
        <SessionContext.Provider value={session}>
          <Shell session={session} onSignOut={onSignOut} />
        </SessionContext.Provider>
      </AntApp>
    </ConfigProvider>
  );
}
