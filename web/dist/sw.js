// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Archive-D6giXAU5.js","/assets/Board-bFuLYzXz.js","/assets/CallDesk-DFUwT0Cf.js","/assets/Case-C9ayLdVQ.js","/assets/FileOutlined-CemwSPla.js","/assets/Job-BE3Zza7O.js","/assets/Stats-CmisG9a0.js","/assets/Tickets-DKpWHZtb.js","/assets/checkbox-qIreqVGI.js","/assets/components-BPxzsZNw.js","/assets/date-picker-D-p8Ava2.js","/assets/descriptions-CpJTFmQN.js","/assets/download-Da9Zgsp_.js","/assets/index-Dh140Tpq.js","/assets/input-K1sHUu0g.js","/assets/list-BAd67Yz0.js","/assets/progress-D3IcMAQa.js","/assets/row-Chx4pQlo.js","/assets/row-Cmq0P1Wn.js","/assets/shell-Ce6NVUAQ.js","/assets/table-BJT-R7s7.js","/assets/typography-D1ukgSSn.js","/assets/useMergedMask-BlXrUoED.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"322304a8fc0e1065"}`;

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
