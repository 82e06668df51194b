// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-DyPKqI6s.js","/assets/Admin-Jyv9Q9cH.js","/assets/Approvals-BoCSs8cD.js","/assets/Archive-BX-lUhSi.js","/assets/Board-Z5XFx2IL.js","/assets/CallDesk-C7Rtg5Wv.js","/assets/Case-zp_1EIF5.js","/assets/FileOutlined-rGelswpK.js","/assets/Job-ZDwyZvDV.js","/assets/PlanEditor-DGjK3dF-.js","/assets/Stats-BWbQjLVo.js","/assets/Tickets-HwVpiu4v.js","/assets/Visits-CjNdhQuZ.js","/assets/card-BDwNK-bX.js","/assets/components-CxrVUIkA.js","/assets/date-picker-DjQa99f4.js","/assets/descriptions-CSWMWFGI.js","/assets/download-BPizDJHO.js","/assets/experience-BN4fUkVi.js","/assets/index-BwUr_Pi8.js","/assets/input-number-Byv90duA.js","/assets/measure-CG418xyl.js","/assets/media-t6XvphHC.js","/assets/plan-CXtpR_o9.js","/assets/progress-DPUBmBQo.js","/assets/row-CCsuk3bv.js","/assets/row-Dhg-BLfZ.js","/assets/shell-B0cUPMda.js","/assets/survey-JB8Jsz6U.js","/assets/switch-C9FqLHau.js","/assets/table-Bz0gEgBm.js","/assets/useForm-B5mM-fli.js","/assets/useMergedMask-DLpDaGZE.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"926c26f918a13c61"}`;

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
