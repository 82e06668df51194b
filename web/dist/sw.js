// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Archive-DX01C_vb.js","/assets/Board-C1FVHtD9.js","/assets/CallDesk-B0lUoYKX.js","/assets/Case-Cndvlm7g.js","/assets/FileOutlined-BbQjAPOh.js","/assets/Job-Dm5K_Atg.js","/assets/Stats-BJrWUtea.js","/assets/Tickets-Bj4phF92.js","/assets/checkbox-g2rbUiNm.js","/assets/components-dyYxTdv3.js","/assets/date-picker-IAWuU04e.js","/assets/descriptions-oJlnmJRz.js","/assets/download-Da9Zgsp_.js","/assets/index-CBbE6mX9.js","/assets/input-Aq9rKXZQ.js","/assets/list-lSKGXha5.js","/assets/media-CJr3szVZ.js","/assets/progress-qqAyu35F.js","/assets/row-BnQFNBQw.js","/assets/row-jgAxPIOp.js","/assets/shell-C9kwAOzV.js","/assets/table-qsep8kB0.js","/assets/typography-CqAnmS2E.js","/assets/useMergedMask-gnSJoH5N.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"ce43b8d3c9d10e17"}`;

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
