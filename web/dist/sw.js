// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-DfoONSHa.js","/assets/Approvals-ClACyMTg.js","/assets/Archive-CHh5nXYb.js","/assets/Board-CBaGtzpG.js","/assets/CallDesk-BauxSkzJ.js","/assets/Case-C4UNb3Jm.js","/assets/FileOutlined-CFQLtipn.js","/assets/Job-B0KjXA5a.js","/assets/PlanEditor-DHwUTCbz.js","/assets/Stats-DXSrIljo.js","/assets/Tickets-CIcG4s1C.js","/assets/Visits-Dq-RCltd.js","/assets/checkbox-DedJkO4S.js","/assets/collapse-evkw6DSZ.js","/assets/components-DVrmAMbY.js","/assets/date-picker-kgisFUdE.js","/assets/descriptions-D520hY_6.js","/assets/download-Da9Zgsp_.js","/assets/form-s0kJXd9_.js","/assets/index-DaNwaGvL.js","/assets/input-number-BECgK1Y5.js","/assets/list-DsujqJTd.js","/assets/media-llN5D8AA.js","/assets/plan-B7zE4CMu.js","/assets/progress-BCGRy1BI.js","/assets/row-DaRkRWfq.js","/assets/row-gUz0vFOn.js","/assets/shell-Pg-LRwGd.js","/assets/survey-_uuVX8bi.js","/assets/switch-DuVYyuNR.js","/assets/table-DAVDw4DO.js","/assets/typography-DcE6F5zb.js","/assets/useForm-D-fxlkUM.js","/assets/useMergedMask-Di5PTpXT.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"c62209f8545dfb9e"}`;

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
