// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-GwT_dEq8.js","/assets/Approvals-DfsCGIAL.js","/assets/Archive-CiZuF31M.js","/assets/Board-cYD50y1r.js","/assets/CallDesk-Cjj-r1ON.js","/assets/Case-CxOjPe_Z.js","/assets/FileOutlined-CTKyLcYo.js","/assets/Job-AmtdpDJC.js","/assets/PlanEditor-spgbEJ7e.js","/assets/Stats-B0DB-brf.js","/assets/Tickets-D15wvWnP.js","/assets/Visits-5M-WsDFF.js","/assets/checkbox-C-hi3OfW.js","/assets/collapse-evkw6DSZ.js","/assets/components-BlleBV-T.js","/assets/date-picker-C8OVT5Bi.js","/assets/descriptions-CVy69JHA.js","/assets/download-Da9Zgsp_.js","/assets/form-CEkkk5ox.js","/assets/index-CiQcddcO.js","/assets/input-DY0CQvh9.js","/assets/input-number-CaU-bihJ.js","/assets/list-Dq4G8H_r.js","/assets/media-DcnfcXav.js","/assets/plan-nD2rhTW5.js","/assets/progress-DMsfNzHa.js","/assets/row-CLCHEAqM.js","/assets/row-CXemo7v1.js","/assets/shell-BFpabVkF.js","/assets/survey-CPiYn-og.js","/assets/switch-CTId-zXW.js","/assets/table-CPX84m9Q.js","/assets/typography-B97mFzZ2.js","/assets/useForm-Chf3aI5q.js","/assets/useMergedMask-fxVYp_lh.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"9886a63adb631460"}`;

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
