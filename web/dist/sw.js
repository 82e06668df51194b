// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-DFBqD9f2.js","/assets/Admin-vADq97Y6.js","/assets/Approvals-BcareeW4.js","/assets/Archive-q_J-5kyE.js","/assets/Board-CD57E2Wx.js","/assets/CallDesk-DyGFj8XY.js","/assets/Case-D-HYNv9_.js","/assets/FileOutlined-CG4CLPFT.js","/assets/Job-CxtB4aZe.js","/assets/PlanEditor-CcpXJPQX.js","/assets/Stats-DmilekQJ.js","/assets/Tickets-DdrsxvuS.js","/assets/Visits-D1hPiVr8.js","/assets/checkbox-CQyTamob.js","/assets/collapse-evkw6DSZ.js","/assets/components-C9cb1LlE.js","/assets/date-picker-DruLnPCx.js","/assets/descriptions-BLPlX8Cg.js","/assets/download-Da9Zgsp_.js","/assets/form-QhPWvA2B.js","/assets/index-CSqvgsCv.js","/assets/input-fQap5S1F.js","/assets/input-number-CRpg8lVm.js","/assets/list-CJXD8Xai.js","/assets/measure-PZXEnTjT.js","/assets/media-BfIUZAE8.js","/assets/plan-BNUGWC_u.js","/assets/progress-DoUmeDMg.js","/assets/row-BHd9z3CM.js","/assets/row-Dj1Fj50R.js","/assets/shell-BUDisLzs.js","/assets/survey-C8fHKgmb.js","/assets/switch-AW80TnrE.js","/assets/table-ULILl6G3.js","/assets/typography-WbDZqMz7.js","/assets/useForm-Dj3dA_Qs.js","/assets/useMergedMask-CY83ny_v.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"2f8e41304da329d0"}`;

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
