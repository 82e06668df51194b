// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-BXoYRXHZ.js","/assets/Admin-Ps4XMq4k.js","/assets/Approvals-CARbHliw.js","/assets/Archive-Do_ZBimR.js","/assets/Board-BwFhpsX4.js","/assets/CallDesk-DMrzRUu6.js","/assets/Case-B-gnbjdI.js","/assets/FileOutlined-QlTvc2dz.js","/assets/Job-DXZSMB2u.js","/assets/PlanEditor-BYHNyG-W.js","/assets/Stats-CYqk4cB4.js","/assets/Tickets-kw40O7P9.js","/assets/Visits-D12Ixxdw.js","/assets/card-DSOR4wIk.js","/assets/components-CUpl7Fvv.js","/assets/date-picker-BxmI1hUh.js","/assets/descriptions-BM_e7pLw.js","/assets/download-BPizDJHO.js","/assets/index-BT8C7YxZ.js","/assets/input-number-CljT2f7K.js","/assets/measure-DAZ_KIku.js","/assets/media-CFk6GHMC.js","/assets/plan-BsJYWGCw.js","/assets/progress-BWcKmdWj.js","/assets/row-BQySG0pW.js","/assets/row-yse5h0HC.js","/assets/shell-B5D71AxN.js","/assets/survey-D7yjPIl8.js","/assets/switch-D7OO1nLE.js","/assets/table-JS2kyQgG.js","/assets/useForm-DFOXtwA6.js","/assets/useMergedMask-CmV2dv7q.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"7e81bb377d0f3621"}`;

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
