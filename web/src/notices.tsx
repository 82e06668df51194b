// The signed-in person's notifications: a bell in the header with the unread count, kept
// current by WatchNotifications (reconnected after a lost connection), and a drawer listing
// them newest first. The texts were written by the server in the person's language when the
// step happened; reading one opens its case.
import { useEffect, useState } from "react";
import { useNavigate } from "react-router";
import { Badge, Button, Checkbox, Collapse, Drawer, Form, Input, List, Select, Space, Tag, Typography } from "antd";
import { notify } from "./api";
import { enumLabel, useI18n } from "./i18n";
import { useSession } from "./session";
import { formatTime } from "./time";
import { ErrorAlert, clearEdited, showError } from "./components";
import { DeliveryChannel, type Notification } from "./gen/steelcare/notify/v1/notify_service_pb";

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

type PreferenceFields = { preferences?: { channels?: DeliveryChannel[]; language?: string; quiet_start?: string; quiet_end?: string } };

/** The person's own preferences: channels beyond the console, language, quiet hours. */
function Preferences({ large }: { large: boolean }) {
  const { t, lang } = useI18n();
  const [form] = Form.useForm<PreferenceFields>();
  const [error, setError] = useState("");
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    notify.getPreferences({}).then((r) => {
      const p = r.preferences;
      form.setFieldsValue({ preferences: { channels: p?.channels ?? [], language: p?.language ?? "", quiet_start: p?.quietStart ?? "", quiet_end: p?.quietEnd ?? "" } });
    }, () => {});
  }, [form]);
  const save = async (v: PreferenceFields) => {
    setError("");
    setSaved(false);
    try {
      const p = v.preferences ?? {};
      await notify.updatePreferences({ preferences: { channels: p.channels ?? [], language: p.language ?? "", quietStart: p.quiet_start ?? "", quietEnd: p.quiet_end ?? "" } });
      setSaved(true);
    } catch (err) {
      setError(showError(err, form, t));
    }
  };
  const size = large ? "large" : "middle";
  return (
    <Form form={form} layout="vertical" onFinish={save} onValuesChange={clearEdited(form)} data-testid="notice-preferences">
      <ErrorAlert message={error} />
      <Form.Item name={["preferences", "channels"]} label={t("noticeChannels")}>
        <Checkbox.Group options={[DeliveryChannel.EMAIL, DeliveryChannel.SMS].map((c) => ({ value: c, label: enumLabel(lang, "DeliveryChannel", c) }))} data-testid="notice-channels" />
      </Form.Item>
      <Form.Item name={["preferences", "language"]} label={t("noticeLanguage")}>
        <Select size={size} options={[{ value: "", label: t("noticeLanguageDefault") }, { value: "zh-CN", label: "中文" }, { value: "en", label: "English" }]} />
      </Form.Item>
      <Typography.Text>{t("quietHours")}</Typography.Text>
      <Space wrap style={{ marginTop: 8 }}>
        <Form.Item name={["preferences", "quiet_start"]} label={t("quietFrom")}>
          <Input type="time" size={size} data-testid="quiet-start" />
        </Form.Item>
        <Form.Item name={["preferences", "quiet_end"]} label={t("quietTo")}>
          <Input type="time" size={size} data-testid="quiet-end" />
        </Form.Item>
      </Space>
      <Space>
        <Button type="primary" htmlType="submit" size={size} data-testid="notice-save">{t("save")}</Button>
        {saved && <Tag color="green" data-testid="notice-saved">{t("saved")}</Tag>}
      </Space>
    </Form>
  );
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
        <Collapse size="small" style={{ marginBottom: 12 }} items={[{ key: "settings", label: <span data-testid="notice-settings">{t("noticeSettings")}</span>, children: <Preferences large={large} /> }]} />
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
