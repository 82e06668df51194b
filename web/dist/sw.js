// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-D3wZWq2N.js","/assets/Admin-CBRg1IwJ.js","/assets/Approvals-BG5PcKaP.js","/assets/Archive-pRQrvHKm.js","/assets/Board-Cci45pb9.js","/assets/CallDesk-D4pxgWex.js","/assets/Case-B4JxbAH2.js","/assets/FileOutlined-C5x2Krs1.js","/assets/Job-Dbf71DL6.js","/assets/PlanEditor-CZKyyBTr.js","/assets/Stats-BAQM-a6d.js","/assets/Tickets-D94PZcK_.js","/assets/Visits-QqJ8Nnom.js","/assets/checkbox-CHLC1Hx5.js","/assets/collapse-evkw6DSZ.js","/assets/components-BNCwquXU.js","/assets/date-picker-CoZItd-1.js","/assets/descriptions-BWfkkhHo.js","/assets/download-Da9Zgsp_.js","/assets/form-DUPyndhO.js","/assets/index-Ygo5-onl.js","/assets/input-number-B2J02WpQ.js","/assets/input-ra07ClU5.js","/assets/list-DENr5O67.js","/assets/measure-BOcZ2sLj.js","/assets/media-D-2rYokG.js","/assets/plan-BeEBwxci.js","/assets/progress-BsozzMAm.js","/assets/row-Bw3kkLGB.js","/assets/row-cM00JOKR.js","/assets/shell-B7sOeHmo.js","/assets/survey-BdYnh-Wm.js","/assets/switch-8khMeV_w.js","/assets/table-BBrjzew0.js","/assets/typography-Dh67xeDC.js","/assets/useForm-BrP9KK8C.js","/assets/useMergedMask-hNmPXzs8.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"fe743be8532171a3"}`;

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
