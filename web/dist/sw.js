// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Archive-C8_hwhdY.js","/assets/Board-p6Di9Ka9.js","/assets/CallDesk-BP9Zsccw.js","/assets/Case-CJGLwE_l.js","/assets/FileOutlined-BIhel7j1.js","/assets/Job-QT3vUmlM.js","/assets/Stats-CicQh_sI.js","/assets/Tickets-CBESPOq0.js","/assets/checkbox-3tXoEEku.js","/assets/components-9SudxpIe.js","/assets/date-picker-DWj8bq5z.js","/assets/descriptions-DD9jBayF.js","/assets/download-Da9Zgsp_.js","/assets/index-BLGyMFRS.js","/assets/input-CnKT6cTs.js","/assets/list-BMoFvoRN.js","/assets/media-CM9TiEVJ.js","/assets/progress-BSxjd-rN.js","/assets/row-CI2r8AWM.js","/assets/row-jxnpoiWm.js","/assets/shell-CcfRHonm.js","/assets/table-964RZfun.js","/assets/typography-Ca0-SpJ0.js","/assets/useMergedMask-Buu1yF3y.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"1d15c54bf8ea7818"}`;

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
