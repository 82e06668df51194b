// What a technician records on site waits here until the server has it: kept in the browser's
// IndexedDB (a reload or a sleeping phone loses nothing, and photos have room: the browser
// grants a site far more there than the 5 MB of localStorage), sent when the connection is
// there, each with the request id it was given when it was recorded, so sending it again never
// makes a second record. What the server refuses stays, with the server's reasons, to be
// corrected. The entries are also held in memory, so the screens read them at once; every
// change is written through before it is reported done.
import { useEffect, useState } from "react";
import { fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  LogWorkRequestSchema,
  RecordInspectionRequestSchema,
  SubmitSurveyReportRequestSchema,
  type LogWorkRequest,
  type RecordInspectionRequest,
  type SubmitSurveyReportRequest,
} from "./gen/steelcare/repair/v1/repair_service_pb";
import { SignatureRole } from "./gen/steelcare/common/v1/common_pb";
import { describe, fieldViolations, intake, repair } from "./api";
import { dataUrlBytes } from "./media";

/** A file that goes with an entry: sent first, each with its own request id. */
export interface OutboxFile {
  requestId: string;
  fileName: string;
  caption: string;
  dataUrl: string;
  /** A photo of the record, or the customer representative's drawn signature. */
  use: "image" | "signature";
}

export interface Entry {
  /** The request id: the entry's identity, here and at the server. */
  requestId: string;
  kind: "survey" | "worklog" | "inspection";
  ticketId: string;
  /** What the person calls it (the ticket's acceptance number). */
  label: string;
  /** The request, as protobuf JSON (without the files' attachment ids: known once sent). */
  body: string;
  files?: OutboxFile[];
  state: "waiting" | "refused";
  /** Why the server refused it, in the reader's language, and by field. */
  error?: string;
  fields?: Record<string, string>;
  queuedAt: number;
  /** The form as it was filled in, to correct a refused entry in (work log, inspection). */
  draft?: unknown;
}

/** Where an older console kept the outbox (localStorage): taken over once. */
const LEGACY_KEY = "steelcare.outbox";
const DATABASE = "steelcare";
const STORE = "outbox";
const listeners = new Set<() => void>();
/** Other tabs of the console hear of each change. */
const channel = typeof BroadcastChannel === "undefined" ? undefined : new BroadcastChannel("steelcare.outbox");

let cache: Entry[] = [];

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "requestId" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Runs `work` in one transaction of the store and resolves once it is committed. */
async function transaction<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T> | void): Promise<T | undefined> {
  const db = await open();
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request ? request.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

function changed() {
  for (const listener of listeners) listener();
}

/** Reads the stored entries into memory (oldest first), taking over an older console's. */
async function load(): Promise<void> {
  const legacy = localStorage.getItem(LEGACY_KEY);
  if (legacy) {
    const entries: Entry[] = JSON.parse(legacy);
    await transaction("readwrite", (store) => entries.forEach((e) => store.put(e)));
    localStorage.removeItem(LEGACY_KEY);
  }
  const stored = (await transaction<Entry[]>("readonly", (store) => store.getAll())) ?? [];
  cache = stored.sort((a, b) => a.queuedAt - b.queuedAt);
  changed();
}

/** The stored entries, read once per page load. */
const ready: Promise<void> = load().catch(() => undefined);
channel?.addEventListener("message", () => void load().catch(() => undefined));

function read(): Entry[] {
  return cache;
}

/** Stores an entry (new, or as it is now) and reports it once stored. */
async function put(entry: Entry): Promise<void> {
  await ready;
  await transaction("readwrite", (store) => store.put(entry));
  cache = [...cache.filter((e) => e.requestId !== entry.requestId), entry].sort((a, b) => a.queuedAt - b.queuedAt);
  changed();
  channel?.postMessage("changed");
}

/** Keeps a survey report to send, and tries to send it now. */
export function enqueueSurvey(request: SubmitSurveyReportRequest, label: string, files: OutboxFile[] = []): Promise<boolean> {
  return enqueue({
    requestId: request.requestId,
    kind: "survey",
    ticketId: request.ticketId,
    label,
    body: toJsonString(SubmitSurveyReportRequestSchema, request),
    files,
    state: "waiting",
    queuedAt: Date.now(),
  });
}

/** Keeps a work-log entry (its photos as files) to send, and tries to send it now. */
export function enqueueWork(request: LogWorkRequest, label: string, files: OutboxFile[], draft: unknown): Promise<boolean> {
  return enqueue({
    requestId: request.requestId,
    kind: "worklog",
    ticketId: request.ticketId,
    label,
    body: toJsonString(LogWorkRequestSchema, request),
    files,
    draft,
    state: "waiting",
    queuedAt: Date.now(),
  });
}

/** Keeps a key-step inspection to send, and tries to send it now. */
export function enqueueInspection(request: RecordInspectionRequest, label: string, draft: unknown): Promise<boolean> {
  return enqueue({
    requestId: request.requestId,
    kind: "inspection",
    ticketId: request.ticketId,
    label,
    body: toJsonString(RecordInspectionRequestSchema, request),
    draft,
    state: "waiting",
    queuedAt: Date.now(),
  });
}

/** Keeps an entry, answering whether the device took it; then tries to send it. */
async function enqueue(entry: Entry): Promise<boolean> {
  try {
    await put(entry);
  } catch {
    // The device's storage is full (or refused): the entry is not taken, and the form keeps it.
    return false;
  }
  void flush();
  return true;
}

/** Sends an entry's files (again, harmlessly: each has its request id), answering their
 * attachments. */
async function sendFiles(entry: Entry) {
  const sent = [];
  for (const file of entry.files ?? []) {
    const { contentType, bytes } = dataUrlBytes(file.dataUrl);
    const stored = await intake.attachFile({
      metadata: { ticketId: entry.ticketId, fileName: file.fileName, contentType, caption: file.caption, requestId: file.requestId },
      content: bytes,
    });
    if (stored.attachment) sent.push({ file, attachment: stored.attachment });
  }
  return sent;
}

/** Sends an entry: its files, then its request with their attachment ids. */
async function send(entry: Entry) {
  const files = await sendFiles(entry);
  if (entry.kind === "worklog") {
    const request = fromJsonString(LogWorkRequestSchema, entry.body);
    request.photoAttachmentIds.push(...files.map((f) => f.attachment.attachmentId));
    await repair.logWork(request);
    return;
  }
  if (entry.kind === "inspection") {
    await repair.recordInspection(fromJsonString(RecordInspectionRequestSchema, entry.body));
    return;
  }
  const request = surveyRequest(entry);
  for (const { file, attachment } of files) {
    if (!request.content) continue;
    if (file.use === "image") request.content.imageAttachmentIds.push(attachment.attachmentId);
    const signature = request.content.signatures.find((s) => s.role === SignatureRole.CUSTOMER_REPRESENTATIVE);
    if (file.use === "signature" && signature) signature.evidence = attachment;
  }
  await repair.submitSurveyReport(request);
}

/** The request of a survey entry (to correct it). */
export function surveyRequest(entry: Entry): SubmitSurveyReportRequest {
  return fromJsonString(SubmitSurveyReportRequestSchema, entry.body);
}

/** Forgets an entry (sent elsewhere, or taken back to correct). */
export async function discard(requestId: string): Promise<void> {
  await ready;
  cache = cache.filter((e) => e.requestId !== requestId);
  changed();
  await transaction("readwrite", (store) => store.delete(requestId));
  channel?.postMessage("changed");
}

/** Failures that say nothing about the entry: no network, the server away, the session
 * renewing. The entry waits for the next try. */
function transient(err: ConnectError): boolean {
  return (
    !navigator.onLine ||
    [Code.Unavailable, Code.Unknown, Code.DeadlineExceeded, Code.Canceled, Code.Aborted, Code.Unauthenticated, Code.ResourceExhausted].includes(err.code)
  );
}

let flushing = false;

/** Sends what waits, oldest first; stops at the first failure that is not the entry's own. */
export async function flush(): Promise<void> {
  if (flushing) return;
  flushing = true;
  try {
    await ready;
    for (const entry of read().filter((e) => e.state === "waiting")) {
      try {
        await send(entry);
        await discard(entry.requestId);
      } catch (err) {
        const e = ConnectError.from(err);
        if (transient(e)) break;
        await put({ ...entry, state: "refused", error: describe(err), fields: fieldViolations(err) });
      }
    }
  } finally {
    flushing = false;
  }
}

let started = false;

/** Sends whenever the connection returns, and every 15 s while something waits. */
export function startSending() {
  if (started) return;
  started = true;
  window.addEventListener("online", () => void flush());
  window.setInterval(() => {
    if (read().some((e) => e.state === "waiting")) void flush();
  }, 15_000);
  void flush();
}

/** The entries, kept current. */
export function useOutbox(): Entry[] {
  const [entries, setEntries] = useState(read);
  useEffect(() => {
    const update = () => setEntries(read());
    listeners.add(update);
    update();
    return () => {
      listeners.delete(update);
    };
  }, []);
  return entries;
}
