// The dead-letter list: notifications the channel refused for good or that ran out of
// attempts, with the provider's last answer; an administrator sends one again (same key).
import { useCallback, useEffect, useState } from "react";
import { Button, Space, Table, Typography } from "antd";
import { notify } from "../api";
import { useI18n } from "../i18n";
import { useSession, hasRole } from "../session";
import { EnumTag, ErrorAlert, Time, showError } from "../components";
import { DeliveryState, type Delivery } from "../gen/steelcare/notify/v1/notify_service_pb";

export default function DeadLetters() {
  const { t } = useI18n();
  const session = useSession();
  const [rows, setRows] = useState<Delivery[]>([]);
  const [error, setError] = useState("");
  const load = useCallback(() => {
    notify.listDeliveries({ state: DeliveryState.DEAD, pageSize: 200 }).then((r) => setRows(r.deliveries)).catch((err) => setError(showError(err, undefined, t)));
  }, [t]);
  useEffect(load, [load]);
  const retry = async (d: Delivery) => {
    setError("");
    try {
      await notify.retryDelivery({ deliveryId: d.deliveryId });
      load();
    } catch (err) {
      setError(showError(err, undefined, t));
    }
  };
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorAlert message={error} />
      <Table<Delivery>
        size="small"
        scroll={{ x: 720 }}
        rowKey="deliveryId"
        dataSource={rows}
        locale={{ emptyText: t("nothingFailed") }}
        data-testid="dead-letters"
        columns={[
          { title: t("recipient"), dataIndex: "recipient" },
          { title: t("noticeMessage"), render: (_, d) => <Typography.Text title={d.topic}>{d.title}</Typography.Text> },
          { title: "", render: (_, d) => <EnumTag name="DeliveryChannel" value={d.channel} /> },
          { title: t("attempts"), dataIndex: "attempts" },
          { title: t("lastError"), render: (_, d) => <Typography.Text type="secondary" ellipsis={{ tooltip: d.lastError }} style={{ maxWidth: 280 }}>{d.lastError}</Typography.Text> },
          { title: "", render: (_, d) => <Time value={d.createTime} /> },
          {
            title: "",
            render: (_, d) => hasRole(session, "admin") && <Button size="small" onClick={() => retry(d)} data-testid="retry-delivery">{t("retry")}</Button>,
          },
        ]}
      />
    </Space>
  );
}
