// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-CAkdxFFn.js","/assets/Admin-COFXzWnu.js","/assets/Approvals-ByL5CCLX.js","/assets/Archive-BvAJLeR4.js","/assets/Board-EVR-mNnK.js","/assets/CallDesk-BAM6Mc-K.js","/assets/Case-Dw4fQa0c.js","/assets/FileOutlined-BXMUPfTG.js","/assets/Job-Duc0ycMw.js","/assets/PlanEditor-BqJlAQ5z.js","/assets/Stats-BQqrk0CU.js","/assets/Tickets-lFwqsqNr.js","/assets/Visits-csPbWjx0.js","/assets/checkbox-DqQ9mM6m.js","/assets/collapse-evkw6DSZ.js","/assets/components-CMGUZyFD.js","/assets/date-picker-BcyK8LOA.js","/assets/descriptions-BPgyRUvP.js","/assets/download-Da9Zgsp_.js","/assets/form-BsHQ-9u2.js","/assets/index-RNGTknGb.js","/assets/input-DEJ87Rx4.js","/assets/input-number-BXuZLvUM.js","/assets/list-BWKr5lT5.js","/assets/measure-BHcGI9uY.js","/assets/media-CXmQvsN1.js","/assets/plan-BGWyxP8a.js","/assets/progress-D3beeVVa.js","/assets/row-CL2Geft0.js","/assets/row-DU021C-k.js","/assets/shell-BmWfdhmY.js","/assets/survey-CLrRXiky.js","/assets/switch-CmWV99Tr.js","/assets/table-BkYSx28e.js","/assets/typography-Bmk_n2yR.js","/assets/useForm-DrfErtQM.js","/assets/useMergedMask-Demz5Gql.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"13b69feae7530ff5"}`;

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
