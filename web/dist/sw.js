// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-BZZkv3VW.js","/assets/Admin-CqDxe_R5.js","/assets/Approvals-CnKP0Cv2.js","/assets/Archive-B5pedUjR.js","/assets/Board-p3swoNFL.js","/assets/CallDesk-c7-Qpi8t.js","/assets/Case-7jafngaT.js","/assets/FileOutlined-DUC_d1Aj.js","/assets/Job-D3339ceo.js","/assets/PlanEditor-K_b7cNfR.js","/assets/Stats-CRslJE0M.js","/assets/Tickets-PXKWcJ53.js","/assets/Visits-CJIlcSJO.js","/assets/checkbox-Cqo17Zdx.js","/assets/collapse-evkw6DSZ.js","/assets/components-Cg-5q_Dw.js","/assets/date-picker-ygnYhCJb.js","/assets/descriptions-CxF44sSh.js","/assets/download-BPizDJHO.js","/assets/form-CEwxyrE1.js","/assets/index-D_K18mAI.js","/assets/input-BqLP1XDt.js","/assets/input-number-C14xhqgF.js","/assets/list-Exqoman2.js","/assets/measure-OMgOcOwM.js","/assets/media-DXRMLt0f.js","/assets/plan-BsfKWPJi.js","/assets/progress-BaJffrfO.js","/assets/row-BGeSF4fI.js","/assets/row-CIfpOR3p.js","/assets/shell-D3owDAP6.js","/assets/survey-DcrtY8I5.js","/assets/switch-D_ueyVt1.js","/assets/table-DxUmxqyW.js","/assets/typography-CIUZuGER.js","/assets/useForm-BV9FkU9P.js","/assets/useMergedMask-B0pJUv_i.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"5569e176e95c7849"}`;

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
