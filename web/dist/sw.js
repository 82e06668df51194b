// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Archive-D-zKCcEc.js","/assets/Board-Bs5sSY20.js","/assets/CallDesk-B3a2t71f.js","/assets/Case-CPcWNnWa.js","/assets/FileOutlined-o4NZuKcN.js","/assets/Job-DbD3dcFd.js","/assets/Stats-DjwE9RA2.js","/assets/Tickets-DOVfhSL_.js","/assets/checkbox-3ykn2Q1w.js","/assets/components-BxoNmGz-.js","/assets/date-picker-DtXDsuil.js","/assets/descriptions-Dq-ReNRa.js","/assets/download-Da9Zgsp_.js","/assets/index-aJZfSMI9.js","/assets/input-DIPZivk9.js","/assets/list-GMQOg0m6.js","/assets/progress-scCbHdEv.js","/assets/row-CdCpyjOU.js","/assets/row-DE7c4aRE.js","/assets/shell-3cmRI7l2.js","/assets/table-CxK1iXTR.js","/assets/typography-CxNR601D.js","/assets/useMergedMask-01jTiLBB.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"8d1fdc5d449faee3"}`;

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
