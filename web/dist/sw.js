// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Archive-Cgx62Jit.js","/assets/Board-DNGDMhqr.js","/assets/CallDesk-AXiknWcI.js","/assets/Case-Ds1Rn9gq.js","/assets/FileOutlined-DymDkum7.js","/assets/Job-BlACl5Wc.js","/assets/Stats-JMuKtt2D.js","/assets/Tickets-Bwcl7--w.js","/assets/checkbox-DZsofuEO.js","/assets/components-DGbGt7L6.js","/assets/date-picker-k193wiQi.js","/assets/descriptions-JHK0lAcE.js","/assets/download-Da9Zgsp_.js","/assets/index-S7u0x4bz.js","/assets/input-DpKmVEmb.js","/assets/list-CE0DKWTU.js","/assets/progress-BrswhAAp.js","/assets/row-CAFgoGhH.js","/assets/row-WcTK-8md.js","/assets/shell-BD8sphQG.js","/assets/table-DNMAe_dH.js","/assets/typography-CQUaZbpb.js","/assets/useMergedMask-BNC30vJ_.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"ef260ba7a4c11056"}`;

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
