// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Archive-g_GcRCLs.js","/assets/Board-CnSbKUwr.js","/assets/CallDesk-BOaR3b_I.js","/assets/Case-CzqzPhJM.js","/assets/FileOutlined-DBwN-Wng.js","/assets/Job-C4rIBBIk.js","/assets/Stats-BnI-medg.js","/assets/Tickets-B_IwBvfu.js","/assets/checkbox-BJwlyPZm.js","/assets/components-CScXd_x1.js","/assets/date-picker-CplZi2LK.js","/assets/descriptions-BD3bUciz.js","/assets/download-Da9Zgsp_.js","/assets/form-DndkpYx9.js","/assets/index-CQEVggEI.js","/assets/list-DD-Tq1qu.js","/assets/media-C2-qK2zf.js","/assets/progress-DrviuYoK.js","/assets/row-JiZG3z93.js","/assets/row-Li4O01fc.js","/assets/shell-Bia-Jc4A.js","/assets/table-BLJQ0v85.js","/assets/typography-B4MqxREL.js","/assets/useMergedMask-Dpb8u6h3.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"aead30c79f1952a5"}`;

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
