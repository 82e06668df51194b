// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Archive-D8J417oP.js","/assets/Board-D3enWXgl.js","/assets/CallDesk-evkBEtOp.js","/assets/Case-CnLGKLwG.js","/assets/FileOutlined-nRpLE9WJ.js","/assets/Job-BosCkI5L.js","/assets/Stats-DdIAmobX.js","/assets/Tickets-DM4EMvHG.js","/assets/checkbox-CR-A9Zx3.js","/assets/components-DV8iAYC1.js","/assets/date-picker-dHw83nG3.js","/assets/descriptions-Bh7idKBo.js","/assets/download-Da9Zgsp_.js","/assets/index-VnXBUr1O.js","/assets/input-BjYaNvI_.js","/assets/list-BVlBhVEF.js","/assets/media-CU1MtFeP.js","/assets/progress-CJzxEmuT.js","/assets/row-BYVGAKbZ.js","/assets/row-DTAYPWto.js","/assets/shell-5T6OU1Sc.js","/assets/table-C9v7eAVB.js","/assets/typography-B4JFJ0BT.js","/assets/useMergedMask-D6DI86Tp.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"f4d9acad3354de4d"}`;

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
