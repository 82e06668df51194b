// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-BNWlwMj1.js","/assets/Admin-0kZbCBIe.js","/assets/Approvals-DydjfSa7.js","/assets/Archive-DSDOtb8o.js","/assets/Board-l4RS1adg.js","/assets/CallDesk-38Cx4NAh.js","/assets/Case-8Islz3Wo.js","/assets/FileOutlined-HA3mdHAh.js","/assets/Job-BaGwbPCb.js","/assets/PlanEditor-PViW6u0I.js","/assets/Stats-mcTU7RBZ.js","/assets/Tickets-DfBqZDY7.js","/assets/Visits-BW5h2tYv.js","/assets/checkbox-DF5TzdSJ.js","/assets/collapse-evkw6DSZ.js","/assets/components-DHDs8Lfy.js","/assets/date-picker-Cko6fdXq.js","/assets/descriptions-DVjhV7yZ.js","/assets/download-Da9Zgsp_.js","/assets/form-By7vBS2S.js","/assets/index-DrdnjFe5.js","/assets/input-Bo_zk-uG.js","/assets/input-number-AcPk7u6Q.js","/assets/list-43Q1zXTA.js","/assets/measure-MrcsGAkx.js","/assets/media-r2yWDISN.js","/assets/plan-Blj7Wmrd.js","/assets/progress-KfypyWyZ.js","/assets/row-DSlnG2Ou.js","/assets/row-DgouK-tR.js","/assets/shell-Bsw20dc3.js","/assets/survey-03oWCF5g.js","/assets/switch-bbFHbM13.js","/assets/table-Dhj-Qoth.js","/assets/typography-zrzrglrs.js","/assets/useForm-D6j2fxZ7.js","/assets/useMergedMask-9yi-gn6k.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"ba686eb26735153e"}`;

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
