// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Approvals-CZO6DAfJ.js","/assets/Archive-NSD1acPE.js","/assets/Board-D6UWVzuI.js","/assets/CallDesk-Domn4pf4.js","/assets/Case-DawBHp5g.js","/assets/FileOutlined-Dojxs7Uv.js","/assets/Job-BloiY3PD.js","/assets/PlanEditor-BiVDBbye.js","/assets/Stats-rDw-tHzT.js","/assets/Tickets-BaDk_6E6.js","/assets/checkbox-BRry2CGE.js","/assets/collapse-evkw6DSZ.js","/assets/components-ZWgtbIvH.js","/assets/date-picker-DEmcfVMW.js","/assets/descriptions-Qmx4ljk2.js","/assets/download-Da9Zgsp_.js","/assets/form-EdFyosYO.js","/assets/index-CBSRTV8k.js","/assets/input-number-DbhZTkfE.js","/assets/list-Dj7mlHRq.js","/assets/media-D1roGrcC.js","/assets/plan-FNX7g7em.js","/assets/progress-h03HXg0z.js","/assets/row--9sMEkfL.js","/assets/row-DSk5377S.js","/assets/shell-CKRt5iZS.js","/assets/table-B_jpRVMP.js","/assets/typography-Bt8QPd8t.js","/assets/useForm-DIBj0z9w.js","/assets/useMergedMask-Bix5ixhx.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"b6754301f77f9361"}`;

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
