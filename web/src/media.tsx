// Photos from the phone's camera and a signature drawn on the screen, kept as data URLs (in the
// draft and the outbox) until they are sent as attachments.
import { useEffect, useRef } from "react";
import { Button, Image, Space } from "antd";
import { useI18n } from "./i18n";
import { intake } from "./api";

export interface Photo {
  id: string;
  name: string;
  dataUrl: string;
}

/** A photo at most `max` pixels on its long side, as JPEG: what a phone's camera takes is
 * several megabytes, a survey photo needs a few hundred kilobytes. */
export function downscale(file: File, max = 1280): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(file);
    const img = new window.Image();
    img.onload = () => {
      const scale = Math.min(1, max / Math.max(img.width, img.height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(img.width * scale));
      canvas.height = Math.max(1, Math.round(img.height * scale));
      canvas.getContext("2d")?.drawImage(img, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      resolve(canvas.toDataURL("image/jpeg", 0.75));
    };
    img.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error(file.name));
    };
    img.src = url;
  });
}

/** The bytes and type of a data URL. */
export function dataUrlBytes(dataUrl: string): { contentType: string; bytes: Uint8Array } {
  const [head, body = ""] = dataUrl.split(",");
  const contentType = /data:([^;]+)/.exec(head)?.[1] ?? "application/octet-stream";
  const text = atob(body);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return { contentType, bytes };
}

/** Photos taken with the camera (or picked), for a form field. */
export function PhotoPicker({ value = [], onChange }: { value?: Photo[]; onChange?: (v: Photo[]) => void }) {
  const { t } = useI18n();
  const input = useRef<HTMLInputElement>(null);
  const picked = async (files: FileList | null) => {
    const added: Photo[] = [];
    for (const file of Array.from(files ?? [])) {
      added.push({ id: crypto.randomUUID(), name: file.name.replace(/\.[^.]*$/, "") + ".jpg", dataUrl: await downscale(file) });
    }
    onChange?.([...value, ...added]);
    if (input.current) input.current.value = "";
  };
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <Space wrap>
        {value.map((p) => (
          <Space key={p.id} direction="vertical" size={0} data-testid="photo">
            <Image src={p.dataUrl} width={88} height={88} style={{ objectFit: "cover" }} />
            <Button type="link" size="small" onClick={() => onChange?.(value.filter((x) => x.id !== p.id))}>{t("remove")}</Button>
          </Space>
        ))}
      </Space>
      <input ref={input} type="file" accept="image/*" capture="environment" multiple style={{ display: "none" }} onChange={(e) => void picked(e.target.files)} data-testid="photo-input" />
      <Button block onClick={() => input.current?.click()}>{t("takePhoto")}</Button>
    </Space>
  );
}

/** A signature drawn with a finger, for a form field (a PNG data URL; empty until drawn). */
export function SignaturePad({ value = "", onChange }: { value?: string; onChange?: (v: string) => void }) {
  const { t } = useI18n();
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawing = useRef(false);
  // The canvas shows a signature kept in the draft (a reload) and is blank once cleared.
  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext("2d");
    if (!c || !ctx) return;
    if (!value) {
      ctx.clearRect(0, 0, c.width, c.height);
      return;
    }
    if (drawing.current) return;
    const img = new window.Image();
    img.onload = () => { ctx.clearRect(0, 0, c.width, c.height); ctx.drawImage(img, 0, 0); };
    img.src = value;
  }, [value]);
  const at = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    return [((e.clientX - rect.left) * e.currentTarget.width) / rect.width, ((e.clientY - rect.top) * e.currentTarget.height) / rect.height];
  };
  const down = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const ctx = e.currentTarget.getContext("2d");
    if (!ctx) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    drawing.current = true;
    const [x, y] = at(e);
    ctx.lineWidth = 3;
    ctx.lineCap = "round";
    ctx.strokeStyle = "#111";
    ctx.beginPath();
    ctx.moveTo(x, y);
  };
  const move = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (!drawing.current) return;
    const ctx = e.currentTarget.getContext("2d");
    const [x, y] = at(e);
    ctx?.lineTo(x, y);
    ctx?.stroke();
  };
  const up = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (!drawing.current) return;
    drawing.current = false;
    onChange?.(e.currentTarget.toDataURL("image/png"));
  };
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <canvas
        ref={canvas}
        width={600}
        height={240}
        onPointerDown={down}
        onPointerMove={move}
        onPointerUp={up}
        onPointerCancel={up}
        style={{ width: "100%", height: 160, border: "1px dashed #bbb", borderRadius: 6, touchAction: "none", background: "#fff" }}
        data-testid="signature-pad"
      />
      <Button size="small" onClick={() => onChange?.("")}>{t("clearSignature")}</Button>
    </Space>
  );
}

/** Stores a drawn signature as an attachment of the case: the signature's evidence, its
 * caption naming the signer and the time. */
export async function storeSignature(ticketId: string, fileName: string, dataUrl: string, signer: string, requestId: string) {
  const { contentType, bytes } = dataUrlBytes(dataUrl);
  const stored = await intake.attachFile({
    metadata: { ticketId, fileName, contentType, caption: `${signer} · ${new Date().toISOString()}`, requestId },
    content: bytes,
  });
  return stored.attachment;
}
