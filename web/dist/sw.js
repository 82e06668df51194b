// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-DPrreMeT.js","/assets/Approvals-DZggCq8_.js","/assets/Archive-MnrJAi2U.js","/assets/Board-BqTrLkra.js","/assets/CallDesk-CQwfK9hr.js","/assets/Case-BgHd2UGP.js","/assets/FileOutlined-hWfcPHdE.js","/assets/Job-tANWIm6-.js","/assets/PlanEditor-PlLUaann.js","/assets/Stats-BP4WOByB.js","/assets/Tickets-Dwr8Fbd-.js","/assets/Visits-0Ubzg_Ts.js","/assets/checkbox-BKTeimCk.js","/assets/collapse-evkw6DSZ.js","/assets/components-Bf7hHyjC.js","/assets/date-picker-yFqOwFXS.js","/assets/descriptions-q9bdng_f.js","/assets/download-Da9Zgsp_.js","/assets/form-Mu0pw2Xi.js","/assets/index-D60c4TSW.js","/assets/input-Btu5RhDk.js","/assets/input-number-eNcLud3E.js","/assets/list-CzA50siQ.js","/assets/media-B7gMCnnk.js","/assets/plan-clM0GcBE.js","/assets/progress-D9rBEe-E.js","/assets/row-EquEhr17.js","/assets/row-ZiBQI-1d.js","/assets/shell-0EJUBYwf.js","/assets/survey-D9UoNePQ.js","/assets/switch-Bh07BI41.js","/assets/table-TL6frldy.js","/assets/typography-DU12snF-.js","/assets/useForm-9a1dMXcN.js","/assets/useMergedMask-DlLGFLDk.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"b5f2e3c0a06f6aa1"}`;

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
