// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-3eJrnhP5.js","/assets/Admin-D1vzwAkH.js","/assets/Approvals-BZ35NNgY.js","/assets/Archive-BUotZv_k.js","/assets/Board-CVHuO1vq.js","/assets/CallDesk-BRgWmEqT.js","/assets/Case-BYASs4xg.js","/assets/FileOutlined-DE5w_EQh.js","/assets/Job-AQT1mrEE.js","/assets/PlanEditor-DGrOcdoT.js","/assets/Stats-CwqhTQ-E.js","/assets/Tickets-BGLUQX1G.js","/assets/Visits-pb1gkCo1.js","/assets/card-DOILzO5L.js","/assets/components-DKtwN1om.js","/assets/date-picker-ByRE0MVv.js","/assets/descriptions-Bwq59mYR.js","/assets/download-BPizDJHO.js","/assets/experience-Bl43wICI.js","/assets/index-BGckgydO.js","/assets/input-number-Dh8g9bqv.js","/assets/measure-DolhlWzi.js","/assets/media-Bn5880Ab.js","/assets/plan-BW41Jj4r.js","/assets/progress-DWv9RP3u.js","/assets/row-BANlRPam.js","/assets/row-CFbMm0c2.js","/assets/shell-u60fydRM.js","/assets/survey-f3qip5g7.js","/assets/switch-BZ5c1OdM.js","/assets/table-DXJ6DEwM.js","/assets/useForm-BVvEW1BL.js","/assets/useMergedMask-DhHXj22Z.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"7b84e3ceccc58335"}`;

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
