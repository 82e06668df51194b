// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-BbwH-3Uu.js","/assets/Admin-DYXOOQM_.js","/assets/Approvals-DTP6sK9W.js","/assets/Archive-DIGMOTrt.js","/assets/Board-C86btjaP.js","/assets/CallDesk-Xxh-giLU.js","/assets/Case-DFRe_Ucu.js","/assets/FileOutlined-Bmmaam-H.js","/assets/Job-D708doxW.js","/assets/PlanEditor-oOCgM056.js","/assets/Stats-CY8qaHIX.js","/assets/Tickets-Bif5M7qh.js","/assets/Visits-CZJRO7Xm.js","/assets/checkbox-DMMaBXMu.js","/assets/collapse-evkw6DSZ.js","/assets/components-DfRC9t-H.js","/assets/date-picker-NBNYg5hp.js","/assets/descriptions--MbZLW3i.js","/assets/download-Da9Zgsp_.js","/assets/form-x2oTYtom.js","/assets/index-CYPZXhhw.js","/assets/input-Phw4dDZL.js","/assets/input-number-C9SPJKt6.js","/assets/list-B-DOp_-6.js","/assets/measure-D_bRqqVz.js","/assets/media-Cy6-4JdK.js","/assets/plan-B5cbirob.js","/assets/progress-B8HGC7IO.js","/assets/row-Bjrxf4vJ.js","/assets/row-DJmutaTQ.js","/assets/shell-BAKcYUnF.js","/assets/survey-MSW0JgjN.js","/assets/switch-C12xQr_7.js","/assets/table-ByHiq0I6.js","/assets/typography-DX6Ns07Q.js","/assets/useForm-Ctfy5QqJ.js","/assets/useMergedMask-CtyrSh4V.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"0c34349c1855ab7e"}`;

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
