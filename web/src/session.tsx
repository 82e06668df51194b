// Who is signed in: the token, the identity the server sees for it (WhoAmI), and the time
// zone and working time (GetBusinessCalendar) the console shows dates and clocks in.
import { createContext, useContext } from "react";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { admin } from "./api";
import type { Interval } from "./time";

export interface Session {
  token: string;
  /** The refresh token of a password sign-in (none for a pasted token). */
  refreshToken?: string;
  /** Signed in at the company's identity provider (its refresh token renews the session). */
  sso?: boolean;
  subject: string;
  /** The person's name, for a person of the directory (else empty). */
  displayName: string;
  roles: string[];
  organizationId: string;
  expiresAt: Date;
  timeZone: string;
  intervals: Interval[];
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("no session");
  return session;
}

export function hasRole(session: Session, ...roles: string[]): boolean {
  return session.roles.some((r) => roles.includes(r));
}

/** Where a person starts: the call desk, the board (dispatchers and technicians), the
 * approvals inbox (chief engineers), or tickets. */
export function home(session: Session): string {
  if (hasRole(session, "agent")) return "/desk";
  if (hasRole(session, "dispatcher", "technician")) return "/board";
  if (hasRole(session, "chief_engineer")) return "/approvals";
  return "/tickets";
}

/** The `exp` claim of a JWT, read without verifying (the server verifies); undefined when the
 * token is not a JWT. */
export function tokenExpiry(token: string): Date | undefined {
  try {
    const payload = token.split(".")[1];
    if (!payload) return undefined;
    const json = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    return typeof json.exp === "number" ? new Date(json.exp * 1000) : undefined;
  } catch {
    return undefined;
  }
}

/** Asks the server who `token` is and loads the calendar; throws the server's refusal. */
export async function openSession(token: string): Promise<Session> {
  const who = await admin.whoAmI({});
  const now = Date.now();
  const calendar = await admin.getBusinessCalendar({
    range: {
      startTime: timestampFromDate(new Date(now - 14 * 86400_000)),
      endTime: timestampFromDate(new Date(now + 120 * 86400_000)),
    },
  });
  return {
    token,
    subject: who.actor?.subject ?? "",
    displayName: who.actor?.displayName ?? "",
    roles: who.actor?.roles ?? [],
    organizationId: who.actor?.organizationId ?? "",
    expiresAt: who.expireTime ? new Date(Number(who.expireTime.seconds) * 1000) : new Date(now + 3600_000),
    timeZone: calendar.timeZone,
    intervals: calendar.workingIntervals.map((r): Interval => [
      Number(r.startTime?.seconds ?? 0n) * 1000,
      Number(r.endTime?.seconds ?? 0n) * 1000,
    ]),
  };
}

const KEY = "steelcare.token";
const REFRESH = "steelcare.refresh";
export const storedToken = () => sessionStorage.getItem(KEY) ?? "";
export const storeToken = (t: string) => (t ? sessionStorage.setItem(KEY, t) : sessionStorage.removeItem(KEY));
export const storedRefresh = () => sessionStorage.getItem(REFRESH) ?? "";
export const storeRefresh = (t: string) => (t ? sessionStorage.setItem(REFRESH, t) : sessionStorage.removeItem(REFRESH));

const KEPT = "steelcare.session";

/** Keeps what the server said of the session in this tab, for a reload without network. */
export function keepSession(s: Session | null) {
  if (s) sessionStorage.setItem(KEPT, JSON.stringify({ ...s, refreshToken: undefined }));
  else sessionStorage.removeItem(KEPT);
}

/** The session last seen for `token`, if this tab kept one. */
export function keptSession(token: string): Session | undefined {
  try {
    const kept = JSON.parse(sessionStorage.getItem(KEPT) ?? "null");
    if (!kept || kept.token !== token) return undefined;
    return { ...kept, expiresAt: new Date(kept.expiresAt) };
  } catch {
    return undefined;
  }
}
