// The signed-in person's notifications: a bell in the header with the unread count, kept
// current by WatchNotifications (reconnected after a lost connection), and a drawer listing
// them newest first. The texts were written by the server in the person's language when the
// step happened; reading one opens its case.
import { useEffect, useState } from "react";
import { useNavigate } from "react-router";
import { Badge, Button, Drawer, List, Space, Tag, Typography } from "antd";
import { notify } from "./api";
import { useI18n } from "./i18n";
import { useSession } from "./session";
import { formatTime } from "./time";
import type { Notification } from "./gen/steelcare/notify/v1/notify_service_pb";

/** A bell, drawn (an emoji needs a font the device may lack). */
const bell = (
  <svg viewBox="0 0 24 24" width="1.1em" height="1.1em" fill="currentColor" aria-hidden="true" style={{ verticalAlign: "-0.15em" }}>
    <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2z" />
  </svg>
);

/** How long to wait before watching again after the stream broke (offline, a restart). */
const AGAIN_MS = 5000;

/** The unread count, kept current while the console is open. */
function useUnread(): [number, (n: number) => void] {
  const [unread, setUnread] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    (async () => {
      while (!abort.signal.aborted) {
        try {
          for await (const m of notify.watchNotifications({}, { signal: abort.signal })) setUnread(m.unreadCount);
        } catch {
          // Offline, or the server restarted: watch again shortly.
        }
        await new Promise((done) => setTimeout(done, AGAIN_MS));
      }
    })();
    return () => abort.abort();
  }, []);
  return [unread, setUnread];
}

/** Where a notification leads: an offer to the technician's assignments, else its case. */
function target(n: Notification): string | undefined {
  if (!n.caseId) return undefined;
  return n.topic === "offer" ? "/board" : `/tickets/${n.caseId}`;
}

export function NoticeBell({ large }: { large: boolean }) {
  const { t, lang } = useI18n();
  const session = useSession();
  const navigate = useNavigate();
  const [unread, setUnread] = useUnread();
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Notification[]>([]);
  useEffect(() => {
    if (!open) return;
    notify.listNotifications({ pageSize: 30 }).then((r) => {
      setItems(r.notifications);
      setUnread(r.unreadCount);
    }, () => {});
  }, [open, unread, setUnread]);
  const markAll = async () => setUnread((await notify.markNotificationsRead({ all: true })).unreadCount);
  const read = async (n: Notification) => {
    if (!n.readTime) setUnread((await notify.markNotificationsRead({ notificationIds: [n.notificationId] })).unreadCount);
    const to = target(n);
    setOpen(false);
    if (to) navigate(to);
  };
  return (
    <>
      <Badge count={unread} size={large ? "default" : "small"} data-testid="notice-count">
        <Button size={large ? "large" : "small"} onClick={() => setOpen(true)} data-testid="notices" aria-label={t("notifications")}>
          {bell}
        </Button>
      </Badge>
      <Drawer open={open} onClose={() => setOpen(false)} placement="right" width={large ? "90%" : 420} title={t("notifications")}
        extra={<Button size={large ? "large" : "middle"} disabled={unread === 0} onClick={markAll} data-testid="notices-read-all">{t("markAllRead")}</Button>}>
        <List
          dataSource={items}
          locale={{ emptyText: t("noNotifications") }}
          renderItem={(n) => (
            <List.Item key={n.notificationId} onClick={() => read(n)} style={{ cursor: "pointer", minHeight: 48 }} data-testid="notice">
              <List.Item.Meta
                title={
                  <Space wrap>
                    {!n.readTime && <Badge status="processing" />}
                    {n.urgent && <Tag color="red">{t("urgent")}</Tag>}
                    <Typography.Text strong={!n.readTime}>{n.title}</Typography.Text>
                  </Space>
                }
                description={
                  <>
                    <Typography.Paragraph style={{ marginBottom: 4 }}>{n.body}</Typography.Paragraph>
                    <Typography.Text type="secondary">{formatTime(n.createTime, session.timeZone, lang)}</Typography.Text>
                  </>
                }
              />
            </List.Item>
          )}
        />
      </Drawer>
    </>
  );
}
