// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-mLd5n7LI.js","/assets/Admin-CEgjJlSr.js","/assets/Approvals-DX_Zakn9.js","/assets/Archive-DHDKDyj4.js","/assets/Board-CWG-AEYM.js","/assets/CallDesk-31l8HocP.js","/assets/Case-vXhPKTgD.js","/assets/FileOutlined-ChkCIZ3Z.js","/assets/Job-aDxE6tbF.js","/assets/PlanEditor-DtbodWrL.js","/assets/Stats-BcEQPvaU.js","/assets/Tickets-LLg__wyj.js","/assets/Visits-BoGwWgm2.js","/assets/card-Byg1QE3q.js","/assets/components-Bo97PlV3.js","/assets/date-picker-DDi0KEsv.js","/assets/descriptions-BXfYVc19.js","/assets/download-BPizDJHO.js","/assets/experience-C3vAanL1.js","/assets/index-Bb5WiyJ8.js","/assets/input-number-C6taFTKD.js","/assets/measure-C5o_CbRM.js","/assets/media-BGdCicnt.js","/assets/plan-fqoMp8q2.js","/assets/progress-BsTzMJvN.js","/assets/row-DY6Dmlfy.js","/assets/row-Dpm90NcW.js","/assets/shell-BTWaucCg.js","/assets/survey-CeQ4npoD.js","/assets/switch-484JS6r0.js","/assets/table-BFOOstzt.js","/assets/useForm-CFSFXqF6.js","/assets/useMergedMask-orTbNznH.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"7b1e5b742e652edd"}`;

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
