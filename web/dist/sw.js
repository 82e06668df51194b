// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Archive-YJrTPiiP.js","/assets/Board-C0G0eoYO.js","/assets/CallDesk-D6gn8L6Y.js","/assets/Case-BfqiH8Vy.js","/assets/FileOutlined-PTql8Kso.js","/assets/Job-D019fh0U.js","/assets/Stats-kv7swYAP.js","/assets/Tickets-Dqu9pStM.js","/assets/checkbox-DxgzN_iM.js","/assets/components-DC4xDKXs.js","/assets/date-picker-vPhvXDIM.js","/assets/descriptions-CEWdW92Z.js","/assets/download-Da9Zgsp_.js","/assets/index-CK6kOaVq.js","/assets/input-DOcfWZj4.js","/assets/list-D9uCKJ57.js","/assets/media-BN_boxiW.js","/assets/progress-BGOvdkHv.js","/assets/row-914F9FJU.js","/assets/row-TFSteKeT.js","/assets/shell-Dk7zBdZP.js","/assets/table-CiTloP_k.js","/assets/typography-CPi09ET3.js","/assets/useMergedMask-DEIyMbos.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"d09eae8265861187"}`;

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
