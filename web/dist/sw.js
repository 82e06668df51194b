// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-D2wgpCsU.js","/assets/Admin-DEDYWOwh.js","/assets/Approvals-Ay7yEIlP.js","/assets/Archive-CQPOyjcl.js","/assets/Board-CRnCS6yS.js","/assets/CallDesk-CUhHIBQj.js","/assets/Case-CY6FEVFC.js","/assets/FileOutlined-N4P7967c.js","/assets/Job-CyFPaZwr.js","/assets/PlanEditor-64ZA4R_h.js","/assets/Stats-EeGPGMrX.js","/assets/Tickets-B7bPmGUo.js","/assets/Visits-D1VYniU9.js","/assets/card-BWggdcmu.js","/assets/components-DXZEtSRv.js","/assets/date-picker-axHDSejl.js","/assets/descriptions-CK3pXWNO.js","/assets/download-BPizDJHO.js","/assets/index-DLEQhl-N.js","/assets/input-number-D2Y44ROn.js","/assets/measure-BCzTYYWf.js","/assets/media--Tu__ppn.js","/assets/plan-Cmu2EdUC.js","/assets/progress-DQQNNHP8.js","/assets/row-D13D_ZGr.js","/assets/row-KLl5gGM8.js","/assets/shell-BqnGqKEK.js","/assets/survey-C45PmfUe.js","/assets/switch-ftcXUKsF.js","/assets/table-CvyHh_h_.js","/assets/useForm-aymXgeiC.js","/assets/useMergedMask-Bt47MdKH.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"d7bb86a4373c830e"}`;

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
