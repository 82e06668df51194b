// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Archive-jkGjb5Hc.js","/assets/Board-CojKDc3j.js","/assets/CallDesk-CT9S21O1.js","/assets/Case-papaglX6.js","/assets/FileOutlined-DF8-3Cl8.js","/assets/Job-BLYega6-.js","/assets/Stats-Bn0xt0Iv.js","/assets/Tickets-C_3beb5-.js","/assets/checkbox-DVDIT8Xi.js","/assets/components-CLRusNY7.js","/assets/date-picker-DItc7sRT.js","/assets/descriptions-BB4ColpC.js","/assets/download-Da9Zgsp_.js","/assets/index-BgDqb79x.js","/assets/input-UBjKoUio.js","/assets/list-kwZCC3EN.js","/assets/media-SU9cts_a.js","/assets/progress-Tmr3Okj0.js","/assets/row-DdNoBhi7.js","/assets/row-DiwfJQdu.js","/assets/shell-2gY5Eoqr.js","/assets/table-B-At3exW.js","/assets/typography-BWq4W2Vh.js","/assets/useMergedMask-C8XJcEx3.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"f0a926baabc5a435"}`;

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
