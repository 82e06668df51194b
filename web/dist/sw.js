// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Approvals-Dk-ZXYMc.js","/assets/Archive-DU89ntho.js","/assets/Board-CSK_-dIM.js","/assets/CallDesk-CyL77sWt.js","/assets/Case-pQcAbwx2.js","/assets/FileOutlined-DiOoVeor.js","/assets/Job-BuLOa8bv.js","/assets/PlanEditor-DTFm12Tb.js","/assets/Stats-DuiTDDJk.js","/assets/Tickets-n19ZEdzS.js","/assets/checkbox-BZFHazFt.js","/assets/collapse-evkw6DSZ.js","/assets/components-Gy10B6Eg.js","/assets/date-picker-BLFIxB25.js","/assets/descriptions-BxmhKtfM.js","/assets/download-Da9Zgsp_.js","/assets/form-vTwCT_J3.js","/assets/index-kpS70OGQ.js","/assets/input-number-EQ8ijHtZ.js","/assets/list-CZtQfg9E.js","/assets/media-DRfWLae-.js","/assets/plan-CkIEiyrz.js","/assets/progress-C9zr_qlG.js","/assets/row-CJ0tQeZh.js","/assets/row-CZju5qhp.js","/assets/shell-BkVFLi6Q.js","/assets/table-CGmGbRVy.js","/assets/typography-6o4byoKS.js","/assets/useForm-14Nq5Afu.js","/assets/useMergedMask-BACV17p_.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"41ba78252ee2e661"}`;

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
