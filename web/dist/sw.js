// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Archive-B4ldIUHZ.js","/assets/Board-C8DSOST9.js","/assets/CallDesk-U_WbonvA.js","/assets/Case-CRntdmEs.js","/assets/FileOutlined-v2nedDGI.js","/assets/Job-CV4WpfaZ.js","/assets/Stats-DPGpJSzq.js","/assets/Tickets-CBwGkcQV.js","/assets/checkbox-BqBI48Gj.js","/assets/components-Drqowysj.js","/assets/date-picker-C3Ml-ZUV.js","/assets/descriptions-Dtm79Mpt.js","/assets/download-Da9Zgsp_.js","/assets/index-BpVgbyA7.js","/assets/input-B66vyDrS.js","/assets/list-BPwk5-jw.js","/assets/media-B0BHl0-s.js","/assets/progress-wljoZGrT.js","/assets/row-2dCt8Kpz.js","/assets/row-CGAY7Nns.js","/assets/shell-0MLOSS3M.js","/assets/table-CmpTQw1l.js","/assets/typography-CGwjxRZJ.js","/assets/useMergedMask-DAUFlEEZ.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"ebf1996775227b48"}`;

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
