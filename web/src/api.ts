// The console's only way to the server: generated clients over gRPC-Web on the page's own
// origin, with the signed-in user's bearer token on every call.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import type { DescService } from "@bufbuild/protobuf";
import { AdminService } from "./gen/steelcare/admin/v1/admin_service_pb";
import { PeopleService, SessionService } from "./gen/steelcare/identity/v1/identity_service_pb";
import { IntakeService, type Ticket } from "./gen/steelcare/intake/v1/intake_service_pb";
import { DispatchService } from "./gen/steelcare/dispatch/v1/dispatch_service_pb";
import { RepairService } from "./gen/steelcare/repair/v1/repair_service_pb";
import { AcceptanceService } from "./gen/steelcare/acceptance/v1/acceptance_service_pb";
import { FeedbackService } from "./gen/steelcare/feedback/v1/feedback_service_pb";
import { NotifyService } from "./gen/steelcare/notify/v1/notify_service_pb";
import { BadRequestSchema, LocalizedMessageSchema } from "./gen/google/rpc/error_details_pb";

let token = "";
let language = "zh-CN";

/** The language every call asks the server to write its texts in (`accept-language`). */
export function setLanguage(tag: string) {
  language = tag;
}
let onUnauthenticated: (err: ConnectError) => void = () => {};

/** Sets the token every call carries, and what happens when the server refuses it. */
export function setSession(value: string, unauthenticated: (err: ConnectError) => void) {
  token = value;
  onUnauthenticated = unauthenticated;
}

const bearer: Interceptor = (next) => async (req) => {
  if (token) req.header.set("authorization", `Bearer ${token}`);
  req.header.set("accept-language", language);
  try {
    return await next(req);
  } catch (err) {
    const e = ConnectError.from(err);
    if (e.code === Code.Unauthenticated) onUnauthenticated(e);
    throw e;
  }
};

const transport = createGrpcWebTransport({
  baseUrl: window.location.origin,
  interceptors: [bearer],
});

function client<T extends DescService>(service: T): Client<T> {
  return createClient(service, transport);
}

export const admin = client(AdminService);
export const sessions = client(SessionService);
export const people = client(PeopleService);
export const intake = client(IntakeService);
export const dispatch = client(DispatchService);
export const repair = client(RepairService);
export const acceptance = client(AcceptanceService);
export const feedback = client(FeedbackService);
export const notify = client(NotifyService);

/** The field violations of an INVALID_ARGUMENT, by field path, in the server's words for the
 * console's language. */
export function fieldViolations(err: unknown): Record<string, string> {
  const e = ConnectError.from(err);
  const out: Record<string, string> = {};
  for (const detail of e.findDetails(BadRequestSchema)) {
    for (const v of detail.fieldViolations) {
      const text = v.localizedMessage?.message || v.description;
      out[v.field] = out[v.field] ? `${out[v.field]}; ${text}` : text;
    }
  }
  return out;
}

/** What went wrong, as the server says it in the console's language (its LocalizedMessage);
 * the developer message only when a server sent none. */
export function describe(err: unknown): string {
  const e = ConnectError.from(err);
  const localized = e.findDetails(LocalizedMessageSchema)[0]?.message;
  if (localized) return localized;
  return `${Code[e.code] ?? String(e.code)}: ${e.rawMessage}`;
}

/** Whether `err` is the given gRPC code. */
export function isCode(err: unknown, code: Code): boolean {
  return ConnectError.from(err).code === code;
}

export { Code, ConnectError };

/** A request id for idempotent creates: one per form submission, kept across retries. */
export function requestId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}

/** The tickets a list of rows mentions, by id, read once each; a ticket the reader may not
 * read is left out (its row shows the id). */
export async function ticketsById(ids: string[]): Promise<Record<string, Ticket>> {
  const unique = [...new Set(ids)].filter(Boolean);
  const found = await Promise.all(unique.map((ticketId) => intake.getTicket({ ticketId }).then((x) => x.ticket).catch(() => undefined)));
  return Object.fromEntries(found.filter((x): x is Ticket => !!x).map((x) => [x.ticketId, x]));
}
