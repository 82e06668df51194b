// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-CTL_9PHg.js","/assets/Admin-DFiKtyXj.js","/assets/Approvals-DzsW51IH.js","/assets/Archive-BARAkpke.js","/assets/Board-eud-oE5o.js","/assets/CallDesk-DAtR9ofF.js","/assets/Case-CDtnQ0gZ.js","/assets/FileOutlined-D-kkyKy0.js","/assets/Job-DtyIEnx2.js","/assets/PlanEditor-CVtPDYqQ.js","/assets/Stats-DJPu0ONm.js","/assets/Tickets-L6-p9_o2.js","/assets/Visits-C_0_Qp5s.js","/assets/checkbox-BbGGyFPH.js","/assets/collapse-evkw6DSZ.js","/assets/components-BBBGZrKw.js","/assets/date-picker-DX-BYMqB.js","/assets/descriptions-Dzq_xJe8.js","/assets/download-Da9Zgsp_.js","/assets/form-Bh8VoXjF.js","/assets/index-BE1Nx8KK.js","/assets/input-DurBumFw.js","/assets/input-number-CB9o3nJy.js","/assets/list-B-vugGiG.js","/assets/measure-ZUtvUeqp.js","/assets/media-BuK4xh9v.js","/assets/plan-BQmpVnyb.js","/assets/progress-l1DVHJQW.js","/assets/row-XrHD4jUA.js","/assets/row-p2kFhGfW.js","/assets/shell-C8wx1zSw.js","/assets/survey-4Qd6Sk3i.js","/assets/switch-cdHw2PnN.js","/assets/table-lXMKoNua.js","/assets/typography-Bl13mHX-.js","/assets/useForm-DGf_deW5.js","/assets/useMergedMask-Bcg0Qyg1.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"12fe6b38c09608de"}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(["/", ...FILES])).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("steelcare-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // A page: the network's when there is one (a new build), else the console from the cache.
    event.respondWith(fetch(request).catch(() => caches.match("/", { ignoreVary: true })));
  } else if (url.pathname.startsWith("/assets/")) {
    // Hashed names never change content: the cache first.
    event.respondWith(caches.match(request, { ignoreVary: true }).then((hit) => hit ?? fetch(request)));
  } else {
    event.respondWith(fetch(request).catch(() => caches.match(request, { ignoreVary: true })));
  }
});
